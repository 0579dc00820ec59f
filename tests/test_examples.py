"""The bundled example: its own tests pass, its Dockerfile builds offline, its overlays render."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from tests.support.tools import needs

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "examples" / "service"
GITOPS = ROOT / "examples" / "gitops"


def test_the_service_tests_pass(tmp_path: Path) -> None:
    copy = tmp_path / "service"
    shutil.copytree(SERVICE, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 passed" in done.stdout


@needs("buildah")
def test_the_dockerfile_builds_offline_from_scratch() -> None:
    """Two FROM scratch stages: no base image to pull; the version comes in as a build arg."""
    name = f"localhost/ci-actions-example-{uuid.uuid4().hex[:8]}:t"
    buildah = ["buildah", "--storage-driver", "vfs"]
    subprocess.run(
        [
            *buildah,
            "bud",
            "--isolation",
            "chroot",
            "-q",
            "--build-arg",
            "VERSION=4.5.6",
            "-t",
            name,
            str(SERVICE),
        ],
        check=True,
        capture_output=True,
    )
    try:
        inspect = json.loads(
            subprocess.run([*buildah, "inspect", name], check=True, capture_output=True).stdout
        )
        config = inspect["OCIv1"]["config"]
        assert "APP_VERSION=4.5.6" in config["Env"]
        assert "HOST=0.0.0.0" in config["Env"]  # the app alone listens on loopback
        assert (
            config["Cmd"] == ["python3", "-m", "app"] and config["WorkingDir"] == "/srv/blocklist"
        )
        container = subprocess.run(
            [*buildah, "from", name], check=True, capture_output=True, text=True
        ).stdout.strip()
        try:
            mount = Path(
                subprocess.run(
                    [*buildah, "mount", container], check=True, capture_output=True, text=True
                ).stdout.strip()
            )
            files = sorted(str(p.relative_to(mount)) for p in mount.rglob("*") if p.is_file())
        finally:
            subprocess.run([*buildah, "rm", container], capture_output=True)
        # the app only: no tests, no seeded vulnerable module
        assert files == [
            "srv/blocklist/app/VERSION",
            "srv/blocklist/app/__init__.py",
            "srv/blocklist/app/__main__.py",
            "srv/blocklist/app/settings.py",
            "srv/blocklist/app/store.py",
            "srv/blocklist/app/web.py",
        ]
    finally:
        subprocess.run([*buildah, "rmi", name], capture_output=True)


@pytest.mark.parametrize(("overlay", "replicas"), [("dev", 1), ("prod", 2)])
def test_the_overlays_render(overlay: str, replicas: int) -> None:
    done = subprocess.run(
        ["kubectl", "kustomize", str(GITOPS / "overlays" / overlay)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(done.stdout)}
    deployment = docs["Deployment"]
    assert deployment["metadata"]["namespace"] == f"blocklist-{overlay}"
    assert deployment["spec"]["replicas"] == replicas
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "127.0.0.1:5000/blocklist:0.1.0"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
