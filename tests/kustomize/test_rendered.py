"""A bump must deploy something: each setting is judged against what `kubectl kustomize` renders.

Every case is a small real-shaped GitOps tree (bases, components, name
prefixes, digests, an image renamed in a base, patches). The expected verdict
is not written down: it is what kubectl's own render says, before and after
the same edit made with `allow-missing: true`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from ci_actions.kustomize.rendered import StaticImages, _Unsure, containers_of
from tests.support.cli import invoke


def _deployment(name: str, image: str, *, init: str = "", kind: str = "Deployment") -> str:
    pod = f"      containers:\n        - name: {name}\n          image: {image}\n"
    if init:
        pod = f"      initContainers:\n        - name: init\n          image: {init}\n" + pod
    if kind == "CronJob":
        return (
            f"apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {name}\nspec:\n"
            '  schedule: "@daily"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n'
            "          restartPolicy: Never\n" + pod.replace("\n      ", "\n          ", -1)
        ).replace("spec:\n      containers", "spec:\n          containers")
    return (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n"
        f"  selector:\n    matchLabels: {{app: {name}}}\n  template:\n"
        f"    metadata:\n      labels: {{app: {name}}}\n    spec:\n" + pod
    )


GUESTBOOK = {  # the shape of argo-cd's example `kustomize-guestbook`
    "kustomize-guestbook/kustomization.yaml": (
        "namePrefix: kustomize-\nresources:\n- guestbook-ui-deployment.yaml\n"
    ),
    "kustomize-guestbook/guestbook-ui-deployment.yaml": _deployment(
        "guestbook-ui", "gcr.io/google-samples/gb-frontend:v5"
    ),
}
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
BASE_OVERLAY = {
    "base/kustomization.yaml": "resources:\n  - api.yaml\n  - jobs.yaml\n",
    "base/api.yaml": _deployment("api", f"reg.local:5000/team/api@{DIGEST_A}", init="busybox:1.36"),
    "base/jobs.yaml": _deployment("cleanup", "reg.local:5000/team/tools:3", kind="CronJob"),
    "overlays/prod/kustomization.yaml": (
        "namePrefix: prod-\nnamespace: prod\nresources:\n  - ../../base\n"
        "components:\n  - ../../components/sidecar\n"
        "images:\n  - name: reg.local:5000/team/api\n    newTag: '1.0'\n"
    ),
    "components/sidecar/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        "resources:\n  - proxy.yaml\n"
        "images:\n  - name: envoy\n    newName: docker.io/envoyproxy/envoy\n    newTag: v1.30.0\n"
    ),
    "components/sidecar/proxy.yaml": _deployment("proxy", "envoy"),
}
RENAMED_IN_BASE = {
    "base/kustomization.yaml": (
        "resources:\n  - web.yaml\nimages:\n  - name: web\n    newName: ghcr.io/acme/web\n"
        "    newTag: '1'\n"
    ),
    "base/web.yaml": _deployment("web", "web"),
    "overlays/dev/kustomization.yaml": "resources:\n  - ../../base\n",
}
PATCHED = {  # a patch sets the image: only kustomize can tell (the check renders)
    "base/kustomization.yaml": "resources:\n  - web.yaml\n",
    "base/web.yaml": _deployment("web", "ghcr.io/acme/web:1"),
    "overlays/dev/kustomization.yaml": (
        "resources:\n  - ../../base\npatches:\n  - path: canary.yaml\n"
    ),
    "overlays/dev/canary.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web-canary:1\n"
    ),
}

CHAINED = {  # one entry renames, a later one sets the new name's tag
    "app/kustomization.yaml": (
        "resources:\n  - d.yaml\nimages:\n  - name: app\n    newName: reg/app\n"
        "  - name: reg/app\n    newTag: '7'\n"
    ),
    "app/d.yaml": _deployment("d", "app"),
}

# (name, files, paths, image argument)
CASES = [
    (
        "guestbook-other-image",
        GUESTBOOK,
        "kustomize-guestbook",
        "gcr.io/heptio-images/ks-guestbook-demo:0.3",
    ),
    (
        "guestbook-own-image",
        GUESTBOOK,
        "kustomize-guestbook",
        "gcr.io/google-samples/gb-frontend:v6",
    ),
    (
        "guestbook-wrong-registry",
        GUESTBOOK,
        "kustomize-guestbook",
        "docker.io/google-samples/gb-frontend:v6",
    ),
    ("digest-base-new-tag", BASE_OVERLAY, "overlays/prod", "reg.local:5000/team/api:2.0"),
    (
        "digest-base-new-digest",
        BASE_OVERLAY,
        "overlays/prod",
        f"reg.local:5000/team/api@{DIGEST_B}",
    ),
    ("typo-in-name", BASE_OVERLAY, "overlays/prod", "reg.local:5000/team/apj:2.0"),
    ("init-container", BASE_OVERLAY, "overlays/prod", "busybox:1.37"),
    ("cronjob", BASE_OVERLAY, "overlays/prod", "reg.local:5000/team/tools:4"),
    ("component-renamed-name", BASE_OVERLAY, "overlays/prod", "docker.io/envoyproxy/envoy:v1.31.0"),
    ("component-original-name", BASE_OVERLAY, "overlays/prod", "envoy:v1.31.0"),
    ("renamed-in-base-new-name", RENAMED_IN_BASE, "overlays/dev", "ghcr.io/acme/web:2"),
    ("renamed-in-base-old-name", RENAMED_IN_BASE, "overlays/dev", "web:2"),
    ("base-itself", RENAMED_IN_BASE, "base", "web:2"),
    ("chained-rename-then-tag", CHAINED, "app", "reg/app:8"),
    ("chained-original-name", CHAINED, "app", "app:8"),
    ("patched-image", PATCHED, "overlays/dev", "ghcr.io/acme/web-canary:2"),
    ("patched-away", PATCHED, "overlays/dev", "ghcr.io/acme/web:2"),
]


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _kubectl_images(directory: Path) -> Counter[str]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(directory)], check=True, capture_output=True, text=True
    ).stdout
    return Counter(c.image for c in containers_of(list(yaml.safe_load_all(out))))


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("case", "files", "path", "image"), CASES, ids=[c[0] for c in CASES])
def test_a_bump_succeeds_only_when_kubectl_renders_a_change(
    tmp_path: Path, case: str, files: dict[str, str], path: str, image: str
) -> None:
    # kubectl's verdict: render, make the edit with the check off, render again
    oracle = _write(tmp_path / "oracle", files)
    before = _kubectl_images(oracle / path)
    forced = invoke(
        tmp_path / "o1",
        "kustomize-bump",
        ["--paths", path, "--images", image, "--allow-missing", "true"],
        cwd=oracle,
    )
    assert forced.code == 0, forced.log
    assert forced.outputs["changed"] == "true"  # the file changes in every case
    deploys = _kubectl_images(oracle / path) != before

    repo = _write(tmp_path / "repo", files)
    untouched = _files(repo)
    run = invoke(tmp_path / "o2", "kustomize-bump", ["--paths", path, "--images", image], cwd=repo)
    if deploys:
        assert run.code == 0, run.log
        assert _files(repo) == _files(oracle)
    else:
        assert run.code == 1, run.log
        assert _files(repo) == untouched
        name = image.split("@")[0].rsplit(":", 1)[0] if "/" in image else image.split(":")[0]
        assert f"image(s) {name} change no container of {path}" in run.log
        closest_first = run.log.split("it renders ", 1)[1]
        # the images the overlay does use are named, every one of them
        assert all(i in closest_first for i in before)


def test_closest_image_is_named_first(tmp_path: Path) -> None:
    repo = _write(tmp_path / "repo", BASE_OVERLAY)
    run = invoke(
        tmp_path / "o",
        "kustomize-bump",
        ["--paths", "overlays/prod", "--images", "reg.local:5000/team/apj:2.0"],
        cwd=repo,
    )
    assert run.code == 1, run.log
    assert "it renders reg.local:5000/team/api:1.0, reg.local:5000/team/tools:3, " in run.log


TREES = {
    "guestbook": (GUESTBOOK, "kustomize-guestbook"),
    "base-overlay": (BASE_OVERLAY, "overlays/prod"),
    "base-overlay-base": (BASE_OVERLAY, "base"),
    "renamed": (RENAMED_IN_BASE, "overlays/dev"),
    "patched": (PATCHED, "overlays/dev"),
    "chained": (CHAINED, "app"),
}


@pytest.mark.parametrize("tree", sorted(TREES))
def test_images_read_without_kustomize_are_what_kubectl_renders(tmp_path: Path, tree: str) -> None:
    files, path = TREES[tree]
    repo = _write(tmp_path, files)
    try:
        static = Counter(StaticImages({}).images(repo / path))
    except _Unsure:
        assert tree == "patched"  # a patch names an image: left to kustomize
        return
    assert static == _kubectl_images(repo / path)


def test_allow_missing_skips_the_check(tmp_path: Path) -> None:
    repo = _write(tmp_path, GUESTBOOK)
    run = invoke(
        tmp_path / "o",
        "kustomize-bump",
        ["--paths", "kustomize-guestbook", "--images", CASES[0][3], "--allow-missing", "true"],
        cwd=repo,
    )
    assert run.code == 0, run.log
    assert run.outputs["changed"] == "true"


def test_plain_manifests_keep_their_rule(tmp_path: Path) -> None:
    repo = _write(tmp_path, GUESTBOOK)
    shutil.copy(repo / "kustomize-guestbook/guestbook-ui-deployment.yaml", repo / "plain.yaml")
    run = invoke(
        tmp_path / "o",
        "kustomize-bump",
        ["--paths", "plain.yaml", "--images", "gcr.io/google-samples/gb-frontend:v6"],
        cwd=repo,
    )
    assert run.code == 0, run.log
    assert "gb-frontend:v6" in (repo / "plain.yaml").read_text()


def test_dry_run_shows_each_container_before_and_after(tmp_path: Path) -> None:
    repo = _write(tmp_path / "repo", BASE_OVERLAY)
    untouched = _files(repo)
    run = invoke(
        tmp_path / "o",
        "kustomize-bump",
        ["--paths", "overlays/prod", "--images", "busybox:1.37", "--dry-run", "true"],
        cwd=repo,
    )
    assert run.code == 0, run.log
    # the name prefix and namespace are kubectl's: the workload as it deploys
    assert (
        "Deployment/prod-api in prod container init:init: busybox:1.36 -> busybox:1.37" in run.log
    )
    assert "container api:" not in run.log  # unchanged containers are not listed
    assert "| Deployment/prod-api in prod | `init:init` | `busybox:1.36` | `busybox:1.37` |" in (
        run.summary
    )
    assert _files(repo) == untouched


def test_dry_run_of_a_bump_that_deploys_nothing_fails_too(tmp_path: Path) -> None:
    repo = _write(tmp_path / "repo", GUESTBOOK)
    run = invoke(
        tmp_path / "o",
        "kustomize-bump",
        ["--paths", "kustomize-guestbook", "--images", CASES[0][3], "--dry-run", "true"],
        cwd=repo,
    )
    assert run.code == 1, run.log
    assert "it renders gcr.io/google-samples/gb-frontend:v5;" in run.log
