"""The `kustomize edit set image` cases: the entries written and what kustomize renders.

Each case's expectations are written out by hand from kustomize's documented
behaviour; the rendering is checked with the real `kubectl kustomize`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from ci_actions.kustomize.bump import bump_text
from ci_actions.kustomize.setimage import parse_image_arg

D1 = "sha256:" + "24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3"
D2 = "sha256:" + "1" * 64


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    infile: tuple[dict[str, str], ...] | None  # the `images:` before; None: no key at all
    expected: tuple[dict[str, str], ...]  # the `images:` after
    # base container image -> the image kustomize renders for it
    rendered: dict[str, str] = field(default_factory=dict)
    text: tuple[str, ...] = ()  # lines the written file must hold verbatim


CASES = [
    Case(
        "new-name-and-tag",
        ("app=my-app:my-tag",),
        None,
        ({"name": "app", "newName": "my-app", "newTag": "my-tag"},),
        {"app:0.1": "my-app:my-tag"},
    ),
    Case(
        "numeric-tag-quoted",
        ("app=my-app:1234",),
        None,
        ({"name": "app", "newName": "my-app", "newTag": "1234"},),
        {"app:0.1": "my-app:1234"},
        ('  newTag: "1234"',),
    ),
    Case(
        "float-like-tag-quoted",
        ("app=my-app:3.2e2",),
        None,
        ({"name": "app", "newName": "my-app", "newTag": "3.2e2"},),
        {"app:0.1": "my-app:3.2e2"},
        ('  newTag: "3.2e2"',),
    ),
    Case(
        "version-tag-quoted",
        ("app:1.10",),
        ({"name": "app", "newTag": "1.9"},),
        ({"name": "app", "newTag": "1.10"},),
        {"app:0.1": "app:1.10"},
        ("  newTag: '1.10'",),  # the file's quoting style is kept,
    ),
    Case(
        "new-name-and-digest",
        (f"app=my-app@{D1}",),
        None,
        ({"name": "app", "newName": "my-app", "digest": D1},),
        {"app:0.1": f"my-app@{D1}"},
    ),
    Case(
        "tag-only",
        ("app:my-tag",),
        None,
        ({"name": "app", "newTag": "my-tag"},),
        {"app:0.1": "app:my-tag"},
    ),
    Case(
        "digest-only",
        (f"app@{D1}",),
        None,
        ({"name": "app", "digest": D1},),
        {"app:0.1": f"app@{D1}"},
    ),
    Case(
        "tag-and-digest",
        (f"app:my-tag@{D1}",),
        None,
        ({"name": "app", "newTag": "my-tag", "digest": D1},),
        {"app:0.1": f"app:my-tag@{D1}"},
    ),
    Case(
        "new-name-tag-and-digest",
        (f"app=my-app:my-tag@{D1}",),
        None,
        ({"name": "app", "newName": "my-app", "newTag": "my-tag", "digest": D1},),
        {"app:0.1": f"my-app:my-tag@{D1}"},
    ),
    Case(
        "new-name-with-registry-port",
        ("nginx=localhost:5000/my-project/nginx",),
        None,
        ({"name": "nginx", "newName": "localhost:5000/my-project/nginx"},),
        {"nginx:1.25": "localhost:5000/my-project/nginx:1.25"},
    ),
    Case(
        "new-name-with-port-and-tag",
        ("nginx=localhost:5000/my-project/nginx:dev-01",),
        None,
        ({"name": "nginx", "newName": "localhost:5000/my-project/nginx", "newTag": "dev-01"},),
        {"nginx:1.25": "localhost:5000/my-project/nginx:dev-01"},
    ),
    Case(
        "port-is-not-a-tag",
        ("registry.local:5000/team/app:2.0.0",),
        ({"name": "registry.local:5000/team/app", "newTag": "1.0.0"},),
        ({"name": "registry.local:5000/team/app", "newTag": "2.0.0"},),
        {"registry.local:5000/team/app:0.1": "registry.local:5000/team/app:2.0.0"},
    ),
    Case(
        "existing-entry-replaced",
        ("image1=foo.bar.foo:8800/foo/image1:foo-bar",),
        (
            {"name": "image1", "newName": "my-image1", "newTag": "my-tag"},
            {"name": "image2", "newName": "my-image2", "newTag": "my-tag2"},
        ),
        (
            {"name": "image1", "newName": "foo.bar.foo:8800/foo/image1", "newTag": "foo-bar"},
            {"name": "image2", "newName": "my-image2", "newTag": "my-tag2"},
        ),
        {"image1:0.1": "foo.bar.foo:8800/foo/image1:foo-bar", "image2:0.1": "my-image2:my-tag2"},
    ),
    Case(
        "new-tag-drops-new-name",
        ("app:v1",),
        ({"name": "app", "newName": "other/app", "newTag": "old"},),
        ({"name": "app", "newTag": "v1"},),
        {"app:0.1": "app:v1"},
    ),
    Case(
        "new-tag-drops-digest",
        ("app:v1",),
        ({"digest": D1, "name": "app"},),
        ({"name": "app", "newTag": "v1"},),
        {"app:0.1": "app:v1"},
    ),
    Case(
        "keep-new-name",
        ("app=*:v1",),
        ({"name": "app", "newName": "reg.io/team/app", "newTag": "old"},),
        ({"name": "app", "newName": "reg.io/team/app", "newTag": "v1"},),
        {"app:0.1": "reg.io/team/app:v1"},
    ),
    Case(
        "keep-new-tag",
        ("app=my-app:*",),
        ({"name": "app", "newName": "reg.io/team/app", "newTag": "old"},),
        ({"name": "app", "newName": "my-app", "newTag": "old"},),
        {"app:0.1": "my-app:old"},
    ),
    Case(
        "keep-both",
        ("app=*:*",),
        ({"name": "app", "newName": "my-app", "newTag": "my-tag"},),
        ({"name": "app", "newName": "my-app", "newTag": "my-tag"},),
        {"app:0.1": "my-app:my-tag"},
    ),
    Case(
        "keep-absent-new-name",
        ("app=*:v1",),
        ({"name": "app", "newTag": "old"},),
        ({"name": "app", "newTag": "v1"},),
        {"app:0.1": "app:v1"},
    ),
    Case(
        "keep-on-new-entry",
        ("app=*:v1",),
        None,
        ({"name": "app", "newTag": "v1"},),
        {"app:0.1": "app:v1"},
    ),
    Case(
        "keep-tag-on-new-entry",
        ("app=my-app:*",),
        None,
        ({"name": "app", "newName": "my-app"},),
        {"app:0.1": "my-app:0.1"},
    ),
    Case(
        "keep-name-new-digest",
        (f"app=*@{D1}",),
        ({"name": "app", "newName": "my-app", "digest": D2},),
        ({"name": "app", "newName": "my-app", "digest": D1},),
        {"app:0.1": f"my-app@{D1}"},
    ),
    Case(
        "keep-name-digest-drops-tag",
        (f"app=*@{D1}",),
        ({"name": "app", "newName": "my-app", "newTag": "my-tag"},),
        ({"name": "app", "newName": "my-app", "digest": D1},),
        {"app:0.1": f"my-app@{D1}"},
    ),
    Case(
        "new-name-keep-digest",
        ("app=my-app@*",),
        ({"digest": D1, "name": "app", "newName": "foo.bar:8800/foo/app"},),
        ({"name": "app", "newName": "my-app", "digest": D1},),
        {"app:0.1": f"my-app@{D1}"},
    ),
    Case(
        "several-args-sorted",
        ("zeta:2", "alpha=reg.io/alpha:3", "mid:v1"),
        ({"name": "mid", "newTag": "v0"},),
        (
            {"name": "alpha", "newName": "reg.io/alpha", "newTag": "3"},
            {"name": "mid", "newTag": "v1"},
            {"name": "zeta", "newTag": "2"},
        ),
        {"alpha:0.1": "reg.io/alpha:3", "mid:0.1": "mid:v1", "zeta:0.1": "zeta:2"},
    ),
    Case(
        "last-argument-wins",
        ("app:v1", "app:v2"),
        None,
        ({"name": "app", "newTag": "v2"},),
        {"app:0.1": "app:v2"},
    ),
    Case(
        "empty-images-list",
        ("app:v1",),
        (),
        ({"name": "app", "newTag": "v1"},),
        {"app:0.1": "app:v1"},
    ),
]


def _kustomization(case: Case) -> str:
    text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n"
    if case.infile is None:
        return text
    if not case.infile:
        return text + "images: []\n"
    return text + yaml.safe_dump({"images": list(case.infile)}, sort_keys=False)


def _deployment(images: list[str]) -> str:
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "app"},
            "spec": {
                "selector": {"matchLabels": {"app": "app"}},
                "template": {
                    "metadata": {"labels": {"app": "app"}},
                    "spec": {"containers": containers},
                },
            },
        }
    )


def _bump(case: Case) -> str:
    text = _kustomization(case)
    after, _ = bump_text(text, "kustomization.yaml", True, [parse_image_arg(a) for a in case.args])
    return after


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_entries_written(case: Case) -> None:
    after = _bump(case)
    data = yaml.safe_load(after)
    assert data["images"] == [dict(e) for e in case.expected]
    assert data["resources"] == ["deployment.yaml"]
    for line in case.text:
        assert line in after.splitlines()


def _rendered_images(directory: Path) -> list[str]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(directory)], check=True, capture_output=True, text=True
    ).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    return [c["image"] for d in docs for c in d["spec"]["template"]["spec"]["containers"]]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_kubectl_kustomize_renders_the_image(tmp_path: Path, case: Case) -> None:
    (tmp_path / "kustomization.yaml").write_text(_bump(case))
    (tmp_path / "deployment.yaml").write_text(_deployment(list(case.rendered)))
    assert _rendered_images(tmp_path) == list(case.rendered.values())


def test_unquoted_numeric_tag_is_what_breaks_kustomize(tmp_path: Path) -> None:
    """The quoting is needed: kustomize itself refuses a numeric newTag."""
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- deployment.yaml\nimages:\n- name: app\n  newTag: 1234\n"
    )
    (tmp_path / "deployment.yaml").write_text(_deployment(["app:0.1"]))
    with pytest.raises(subprocess.CalledProcessError):
        _rendered_images(tmp_path)
