"""The private container engine and runner image that act's container mode runs jobs in.

`scripts/container-engine` starts podman serving the Docker API with all its state in one
folder; `scripts/runner-image` imports the runner image built from Debian packages into it.
The session fixture keeps one engine per xdist worker in its own state folder, kept between
sessions (the imported image, and act's tool-cache volume where the setup action's venv lives);
the image's root file system is built once and shared. A folder is held under a lock for the
session: a second pytest session running at the same time gets a folder of its own, removed
at its end. At the end the fixture checks that nothing was left running, then stops the engine.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE_SCRIPT = ROOT / "scripts" / "container-engine"
RUNNER_IMAGE_SCRIPT = ROOT / "scripts" / "runner-image"


@dataclass(frozen=True)
class Engine:
    state: Path
    env: dict[str, str]  # DOCKER_HOST and the CONTAINERS_* files, as `container-engine env` prints
    image: str  # the runner image, localhost/ci-actions-runner:<hash>

    @property
    def docker_host(self) -> str:
        return self.env["DOCKER_HOST"]

    def podman(self, *args: str) -> str:
        return subprocess.run(
            [str(ENGINE_SCRIPT), "podman", *args],
            env=script_env(self.state),
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def containers(self) -> list[str]:
        """Every container of this engine's storage, running or not."""
        return self.podman("ps", "--all", "--format", "{{.Names}}").split()


def script_env(state: Path) -> dict[str, str]:
    return {**os.environ, "CI_ACTIONS_ENGINE_DIR": str(state)}


def run_script(script: Path, state: Path, *args: str) -> str:
    proc = subprocess.run(
        [str(script), *args], env=script_env(state), capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{script.name} {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}"
        )
    return proc.stdout


def parse_exports(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if words[:1] == ["export"]:
            for word in words[1:]:
                key, _, value = word.partition("=")
                env[key] = value
    return env


def service_pid(state: Path) -> int | None:
    pidfile = state / "service.pid"
    return int(pidfile.read_text()) if pidfile.exists() else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def claim_state(worker_id: str) -> tuple[Path, int, bool]:
    """A state folder locked for this session: (folder, lock fd, whether it is a throw-away)."""
    base = ROOT / ".cache"
    base.mkdir(parents=True, exist_ok=True)
    names = [
        f"container-engine-tests-{worker_id}",
        f"container-engine-tests-{worker_id}-{os.getpid()}",
    ]
    for index, name in enumerate(names):
        fd = os.open(base / f"{name}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return base / name, fd, index > 0
    raise RuntimeError(f"no free container engine state folder among {names}")


@pytest.fixture(scope="session")
def container_engine(worker_id: str) -> Iterator[Engine]:
    state, lock, throwaway = claim_state(worker_id)
    try:
        yield from _engine(state)
    finally:
        if throwaway:
            shutil.rmtree(state, ignore_errors=True)
            Path(f"{state}.lock").unlink(missing_ok=True)
        os.close(lock)


def _engine(state: Path) -> Iterator[Engine]:
    run_script(ENGINE_SCRIPT, state, "start")
    pid = service_pid(state)
    try:
        image = run_script(RUNNER_IMAGE_SCRIPT, state).strip().splitlines()[-1]
        env = parse_exports(run_script(ENGINE_SCRIPT, state, "env"))
        engine = Engine(state, env, image)
        yield engine
        left = engine.containers()
        assert left == [], f"containers left running after the tests: {left}"
    finally:
        run_script(ENGINE_SCRIPT, state, "stop")
    assert pid is None or not alive(pid), f"podman system service {pid} still runs after stop"
