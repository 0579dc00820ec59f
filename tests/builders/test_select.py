"""builder: auto picks docker only when `docker info` answers."""

from __future__ import annotations

import pytest

from ci_actions.builders.select import choose_builder
from ci_actions.errors import EXIT_ENVIRONMENT, EnvironmentFailure, ToolNotFound


def which_of(*installed: str):  # type: ignore[no-untyped-def]
    return lambda name: f"/usr/bin/{name}" if name in installed else None


@pytest.mark.parametrize(
    ("requested", "installed", "engine", "chosen"),
    [
        ("auto", ("docker", "buildah", "podman"), True, "docker"),
        ("auto", ("docker", "buildah", "podman"), False, "buildah"),  # this host: client, no daemon
        ("auto", ("docker", "podman"), False, "podman"),
        ("auto", ("buildah",), False, "buildah"),
        ("buildah", ("docker", "buildah"), True, "buildah"),
        ("podman", ("podman",), False, "podman"),
        ("docker", ("docker",), True, "docker"),
    ],
)
def test_choice(requested: str, installed: tuple[str, ...], engine: bool, chosen: str) -> None:
    assert (
        choose_builder(requested, docker_ready=lambda: engine, which=which_of(*installed)) == chosen
    )


def test_docker_info_not_asked_without_a_client() -> None:
    def boom() -> bool:
        raise AssertionError("docker info run without a docker client")

    assert choose_builder("auto", docker_ready=boom, which=which_of("buildah")) == "buildah"


@pytest.mark.parametrize(
    ("requested", "installed", "error", "text"),
    [
        ("auto", ("docker",), ToolNotFound, "no builder available"),
        ("auto", (), ToolNotFound, "no builder available"),
        ("docker", ("docker", "buildah"), EnvironmentFailure, "no Docker engine"),
        ("docker", (), ToolNotFound, "docker client is not installed"),
        ("podman", ("buildah",), ToolNotFound, "'podman' is not installed"),
    ],
)
def test_nothing_to_build_with(
    requested: str, installed: tuple[str, ...], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text) as caught:
        choose_builder(requested, docker_ready=lambda: False, which=which_of(*installed))
    assert getattr(caught.value, "exit_code", None) == EXIT_ENVIRONMENT
