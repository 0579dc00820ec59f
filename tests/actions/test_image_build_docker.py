"""image-build with the `docker` builder for real: the docker CLI against the private podman
engine's Docker API, pushing to a real docker-registry on 127.0.0.1.

No buildx here (Debian has no docker-buildx for bookworm), so the builder falls back to plain
`docker build` + one `docker push` per tag, and says so. The engine knows the registry is
plain HTTP from the registries.conf in its private configuration.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import CliRun, invoke
from tests.support.container_engine import Engine
from tests.support.registry import Registry

FIXTURES = Path(__file__).parents[1] / "fixtures" / "image-build"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("container-engine"),
    pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client"),
]


@pytest.fixture
def engine(container_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The action's subprocesses (the docker CLI) see the engine's DOCKER_HOST."""
    for key, value in container_engine.env.items():
        monkeypatch.setenv(key, value)
    return container_engine


def build(tmp: Path, *args: str) -> CliRun:
    return invoke(tmp, "image-build", ["--builder", "docker", *args])


def buildx_installed(engine: Engine) -> bool:
    env = {**engine.env, "PATH": "/usr/bin:/usr/local/bin:/bin"}
    return (
        subprocess.run(["docker", "buildx", "version"], env=env, capture_output=True).returncode
        == 0
    )


def test_docker_build_pushes_every_tag_on_one_digest(
    tmp_path: Path, registry: Registry, engine: Engine
) -> None:
    if buildx_installed(engine):
        pytest.skip("buildx is installed: this test is of the plain `docker build` path")
    context = tmp_path / "ctx"
    shutil.copytree(FIXTURES / "simple", context)
    (context / "hello.txt").write_text(f"built for registry port {registry.port}\n")
    tags = [f"{registry.host}/team/web:{t}" for t in ("sha-abc1234", "main", "latest")]
    run = build(
        tmp_path,
        "--context", str(context),
        "--tags", "\n".join(tags),
        "--labels", "org.opencontainers.image.revision=abc1234",
        "--push", "true",
        "--insecure-registries", registry.host,
    )  # fmt: skip
    assert run.code == 0, run.log
    assert "buildx is not installed; building with plain `docker build`" in run.log
    metadata = json.loads(run.outputs["metadata"])
    assert (metadata["builder"], metadata["command"]) == ("docker", "docker build")
    digest = run.outputs["digest"]
    assert digest.startswith("sha256:")
    assert registry.tags("team/web") == ["latest", "main", "sha-abc1234"]
    assert {registry.digest("team/web", t) for t in ("sha-abc1234", "main", "latest")} == {digest}
    assert run.outputs["image-ref"] == f"{registry.host}/team/web@{digest}"
    # The label reached the image's configuration in the registry.
    manifest = registry.get(
        f"/v2/team/web/manifests/{digest}",
        Accept="application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
    ).json()
    config = registry.get(f"/v2/team/web/blobs/{manifest['config']['digest']}").json()
    assert config["config"]["Labels"]["org.opencontainers.image.revision"] == "abc1234"
    engine.podman("rmi", "--force", *tags)


def test_docker_build_without_buildx_refuses_what_needs_it(tmp_path: Path, engine: Engine) -> None:
    if buildx_installed(engine):
        pytest.skip("buildx is installed")
    run = build(
        tmp_path,
        "--context", str(FIXTURES / "simple"),
        "--tags", "127.0.0.1:5000/team/web:1",
        "--secrets", "pip_token=s3cret",
        "--platforms", "linux/amd64,linux/arm64",
    )  # fmt: skip
    assert run.code == 3, run.log
    assert "secrets, platforms (more than one) need(s) docker buildx" in run.log
    shown = [line for line in run.log.splitlines() if not line.startswith("::add-mask::")]
    assert not any("s3cret" in line for line in shown)
