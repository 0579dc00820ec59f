"""`builder: auto`: docker when an engine answers `docker info`, else buildah, else podman."""

from __future__ import annotations

from collections.abc import Callable

from ci_actions.errors import EnvironmentFailure, ToolNotFound

INSTALL_HINT = (
    "install buildah (apt-get install buildah) or podman, or run on a host with a Docker engine"
)


def choose_builder(
    requested: str, *, docker_ready: Callable[[], bool], which: Callable[[str], str | None]
) -> str:
    """The builder to use; `docker_ready` runs `docker info` (only asked when it matters)."""
    if requested == "docker":
        if which("docker") is None:
            raise ToolNotFound(
                "builder 'docker': the docker client is not installed", hint=INSTALL_HINT
            )
        if not docker_ready():
            raise EnvironmentFailure(
                "builder 'docker': `docker info` failed, no Docker engine is reachable",
                hint="start the engine, or use builder: buildah / podman / auto",
            )
        return "docker"
    if requested in ("buildah", "podman"):
        if which(requested) is None:
            raise ToolNotFound(f"builder '{requested}' is not installed", hint=INSTALL_HINT)
        return requested
    if which("docker") is not None and docker_ready():
        return "docker"
    for tool in ("buildah", "podman"):
        if which(tool) is not None:
            return tool
    raise ToolNotFound(
        "no builder available: no Docker engine answers `docker info`, and neither buildah nor podman is installed",
        hint=INSTALL_HINT,
    )
