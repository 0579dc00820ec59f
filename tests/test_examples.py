"""The bundled example repository (two services and the package they share): its tests pass,
both Dockerfiles build offline from the repository root, the overlays render both images,
and the demo's two changes select the services the demo says they do."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from tests.support.act import git
from tests.support.tools import needs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GITOPS = EXAMPLES / "gitops"
sys.path.insert(0, str(ROOT / "examples" / "demo"))

import pipeline_demo as demo  # noqa: E402


def test_the_repository_tests_pass(tmp_path: Path) -> None:
    app = demo.copy_app(tmp_path / "app")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"],
        cwd=app,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    passed = {line.split("::")[0] for line in done.stdout.splitlines() if " PASSED" in line}
    assert passed == {
        "lib/tests/test_blockstore.py",
        "services/api/tests/test_api.py",
        "services/collector/tests/test_collector.py",
    }


BUILDAH = ["buildah", "--storage-driver", "vfs"]
SHARED = [
    "blockstore/__init__.py",
    "blockstore/settings.py",
    "blockstore/store.py",
    "blockstore/web.py",
]


@needs("buildah")
@pytest.mark.parametrize(
    ("service", "workdir", "files", "env"),
    [
        (
            demo.API,
            "/srv/blocklist",
            ["api/VERSION", "api/__init__.py", "api/__main__.py", "api/web.py"],
            "BLOCKLIST_DATABASE=instance/blocklist.db",
        ),
        (
            demo.COLLECTOR,
            "/srv/collector",
            [
                "collector/VERSION",
                "collector/__init__.py",
                "collector/__main__.py",
                "collector/collect.py",
                "collector/feeds/regtech.txt",
                "collector/feeds/secudium.txt",
                "collector/web.py",
            ],
            "COLLECTOR_DATABASE=instance/collector.db",
        ),
    ],
    ids=["api", "collector"],
)
def test_each_dockerfile_builds_offline_from_the_root_with_the_shared_package(
    service: demo.Service, workdir: str, files: list[str], env: str
) -> None:
    """Two FROM scratch stages: no base image to pull; the version comes in as a build arg;
    the image holds the service's package and the shared one; built from examples/ itself,
    where the tests and the seeded module sit beside them."""
    name = f"localhost/ci-actions-example-{uuid.uuid4().hex[:8]}:t"
    subprocess.run(
        [*BUILDAH, "bud", "--isolation", "chroot", "-q", "--build-arg", "VERSION=4.5.6",
         "-f", service.dockerfile, "-t", name, str(EXAMPLES)],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        inspect = json.loads(
            subprocess.run([*BUILDAH, "inspect", name], check=True, capture_output=True).stdout
        )
        config = inspect["OCIv1"]["config"]
        assert {"APP_VERSION=4.5.6", "HOST=0.0.0.0", env} <= set(config["Env"])
        assert config["Cmd"] == ["python3", "-m", service.folder.rsplit("/", 1)[1]]
        assert config["WorkingDir"] == workdir
        container = subprocess.run(
            [*BUILDAH, "from", name], check=True, capture_output=True, text=True
        ).stdout.strip()
        try:
            mount = Path(
                subprocess.run(
                    [*BUILDAH, "mount", container], check=True, capture_output=True, text=True
                ).stdout.strip()
            )
            found = sorted(str(p.relative_to(mount)) for p in mount.rglob("*") if p.is_file())
        finally:
            subprocess.run([*BUILDAH, "rm", container], capture_output=True, check=False)
        assert found == sorted(f"{workdir.lstrip('/')}/{f}" for f in [*files, *SHARED])
    finally:
        subprocess.run([*BUILDAH, "rmi", name], capture_output=True, check=False)


@pytest.mark.parametrize(("overlay", "replicas"), [("dev", 1), ("prod", 2)])
def test_the_overlays_render_both_services(overlay: str, replicas: int) -> None:
    done = subprocess.run(
        ["kubectl", "kustomize", str(GITOPS / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    deployments = {
        d["metadata"]["name"]: d
        for d in yaml.safe_load_all(done.stdout)
        if d["kind"] == "Deployment"
    }
    assert sorted(deployments) == ["blocklist", "blocklist-collector"]
    for name, deployment in deployments.items():
        assert deployment["metadata"]["namespace"] == f"blocklist-{overlay}"
        assert deployment["spec"]["replicas"] == replicas
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"127.0.0.1:5000/{name}:0.1.0"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"


def test_the_demo_changes_select_both_services_then_the_collector_only(tmp_path: Path) -> None:
    """init (as the demo runs it) writes the services file; `changes` on the demo's two
    pushes gives both services, then the collector alone; a change of the API's code, the
    API alone."""
    app = demo.copy_app(tmp_path / "blocklist")
    git(app, "init", "-q", "-b", "main")
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "app")

    def health_url(service: demo.Service, env: str) -> str:
        return f"http://127.0.0.1:1/{service.name}/{env}/health"

    argv = demo.init_argv("127.0.0.1:5000", "acme/gitops", health_url, "0" * 40, "bandit")
    done = subprocess.run(argv, cwd=app, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    declared = yaml.safe_load((app / demo.SERVICES_FILE).read_text())["services"]
    assert [(s["name"], s["dockerfile"], s["image"]) for s in declared] == [
        ("api", "services/api/Dockerfile", "127.0.0.1:5000/blocklist"),
        ("collector", "services/collector/Dockerfile", "127.0.0.1:5000/blocklist-collector"),
    ]
    assert {
        (s["name"], env, settings["health-url"])
        for s in declared
        for env, settings in s["environments"].items()
    } == {(s.name, env, health_url(s, env)) for s in demo.SERVICES for env in ("dev", "prod")}
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "ci")

    def changed(edit: dict[str, tuple[str, str]]) -> list[str]:
        for rel, (old, new) in edit.items():
            path = app / rel
            assert old in path.read_text(), rel
            path.write_text(path.read_text().replace(old, new))
        git(app, "commit", "-q", "-am", "change")
        done = subprocess.run(
            [str(demo.VENV_BIN / "ci-actions"), "changes", "--base", "HEAD~1", "--json"],
            cwd=app, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return list(json.loads(json.loads(done.stdout)["changed-services"]))

    assert changed(demo.SHARED_CHANGE) == ["api", "collector"]
    assert changed(demo.BROKEN_CHANGE) == ["collector"]
    assert changed({"services/api/api/web.py": ("8541\n", "8541  # the API's port\n")}) == ["api"]
