"""scripts/container-engine and scripts/runner-image when something is missing: exit 3 and one
line naming what is missing and the command that fixes it. Each case uses a fresh, empty state
folder, so no engine runs and no image is there."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.container_engine import ENGINE_SCRIPT, RUNNER_IMAGE_SCRIPT, parse_exports
from tests.support.tools import path_without

pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="podman not installed")


def run(script: Path, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "CI_ACTIONS_ENGINE_DIR": str(state),
    }
    return subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("script", "args", "names"),
    [
        (ENGINE_SCRIPT, ("status",), "scripts/container-engine start"),
        (RUNNER_IMAGE_SCRIPT, ("--tag",), "build it with scripts/runner-image"),
    ],
)
def test_missing_engine_or_image_is_exit_3_with_the_fix(
    tmp_path: Path, script: Path, args: tuple[str, ...], names: str
) -> None:
    done = run(script, tmp_path / "engine", *args)
    assert done.returncode == 3, done
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and names in lines[0], done.stderr


def test_runner_image_without_kubectl_on_the_host_is_exit_3(tmp_path: Path) -> None:
    """The image carries the host's kubectl (validate-manifests renders with it)."""
    env = {"PATH": path_without("kubectl", tmp_path), "CI_ACTIONS_ENGINE_DIR": str(tmp_path / "e")}
    done = subprocess.run(
        [str(RUNNER_IMAGE_SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done
    assert done.stderr.splitlines() == [
        "runner-image: kubectl is not installed on this host; run scripts/bootstrap"
    ]


def test_env_points_everything_into_the_state_folder(tmp_path: Path) -> None:
    state = tmp_path / "engine"
    done = run(ENGINE_SCRIPT, state, "env")
    assert done.returncode == 0, done.stderr
    env = parse_exports(done.stdout)
    assert env == {
        "DOCKER_HOST": f"unix://{state}/podman.sock",
        "CONTAINERS_CONF": f"{state}/containers.conf",
        "CONTAINERS_STORAGE_CONF": f"{state}/storage.conf",
        "CONTAINERS_REGISTRIES_CONF": f"{state}/registries.conf",
    }


def test_podman_uses_only_the_private_settings(tmp_path: Path) -> None:
    state = tmp_path / "engine"
    done = run(
        ENGINE_SCRIPT,
        state,
        "podman",
        "info",
        "--format",
        "{{.Store.GraphDriverName}} {{.Store.GraphRoot}} {{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["vfs", f"{state}/root", "runc", "cgroupfs"]


def test_unknown_command_is_exit_2(tmp_path: Path) -> None:
    done = run(ENGINE_SCRIPT, tmp_path / "engine", "restart")
    assert done.returncode == 2
    assert "usage: scripts/container-engine start|stop|env|status" in done.stderr
