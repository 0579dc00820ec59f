"""A cancelled job (SIGTERM or SIGINT) stops its children: no push lands after the step ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ci_actions import proc
from ci_actions.cli import interrupted_message
from tests.support.act import git
from tests.support.gitops import clone, gitops_files, make_remote

IMAGE = "registry.local:5000/team/api"


def gone(pid: int) -> bool:
    """Exited (a zombie waiting for its reaper counts as exited)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()
    except FileNotFoundError:
        return True


def wait_for(path: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _slow_remote(tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """A bare remote whose pre-receive hook writes its pid and sleeps 2 s, and a clone of it:
    (remote, the hook's pid file, the clone, the remote's main before any push)."""
    remote = make_remote(tmp_path, gitops_files())
    hook_pid = tmp_path / "hook.pid"
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f'#!/bin/sh\necho $$ > "{hook_pid}"\nsleep 2\nexit 0\n')
    hook.chmod(0o755)
    return remote, hook_pid, clone(tmp_path, remote, "work"), git(remote, "rev-parse", "main")


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_a_signal_mid_push_stops_the_push_and_says_it_may_have_landed(
    tmp_path: Path, signum: int, code: int
) -> None:
    remote, hook_pid, work, before = _slow_remote(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    cli = Path(sys.executable).parent / "ci-actions"
    bump = subprocess.Popen(
        [
            cli,
            "kustomize-bump",
            "--paths",
            "overlays/prod",
            "--images",
            f"{IMAGE}:2.0.0",
            "--mode",
            "commit",
        ],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for(hook_pid)  # the push is in flight: the remote runs its hook
    bump.send_signal(signum)
    log, _ = bump.communicate(timeout=30)

    assert bump.returncode == code, log
    assert "git push to origin: the push may or may not have landed" in log
    hook_process = int(hook_pid.read_text())
    time.sleep(3)  # longer than the hook would have taken
    assert gone(hook_process)
    assert git(remote, "rev-parse", "main") == before  # nothing landed after we stopped


def test_stop_all_stops_the_groups_of_other_threads(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    argv = ["sh", "-c", f"trap '' TERM; sleep 30 & echo $! > {pidfile}; wait"]  # ignores SIGTERM
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            proc.run(argv)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    wait_for(pidfile)
    started = time.monotonic()
    stopped = proc.stop_all(grace=0.5)
    thread.join(10)

    assert stopped == [tuple(argv)]
    assert time.monotonic() - started < 5  # SIGKILL after the grace
    assert gone(int(pidfile.read_text()))
    assert len(failures) == 1 and isinstance(failures[0], proc.ProcessFailed)
    assert proc.stop_all() == []  # nothing left, nothing reported twice


@pytest.mark.parametrize(
    ("stopped", "expected"),
    [
        ([], "interrupted by SIGTERM"),
        (
            [("git", "push", "--porcelain", "origin", "HEAD:refs/heads/main")],
            "interrupted by SIGTERM during git push to origin: the push may or may not have "
            "landed; check origin before running again",
        ),
        (
            [("buildah", "push", "--tls-verify=false", "localhost/x", "docker://reg:5000/app:1")],
            "interrupted by SIGTERM during buildah push to docker://reg:5000/app:1: the push may "
            "or may not have landed; check docker://reg:5000/app:1 before running again",
        ),
        (
            [
                (
                    "podman",
                    "--storage-driver",
                    "vfs",
                    "manifest",
                    "push",
                    "--all",
                    "app",
                    "docker://r/app:1",
                )
            ],
            "interrupted by SIGTERM during podman push to docker://r/app:1: the push may "
            "or may not have landed; check docker://r/app:1 before running again",
        ),
        (
            [("git", "commit", "-m", "push")],
            "interrupted by SIGTERM during `git commit -m push` stopped",
        ),
        (
            [("git", "fetch", "--quiet", "origin", "main")],
            "interrupted by SIGTERM during `git fetch --quiet origin main` stopped",
        ),
    ],
    ids=[
        "nothing-running",
        "git-push",
        "buildah-push",
        "podman-manifest-push",
        "git-commit",
        "git-fetch",
    ],
)
def test_interrupted_message_names_what_may_have_landed(
    stopped: list[tuple[str, ...]], expected: str
) -> None:
    assert interrupted_message(signal.SIGTERM, stopped) == expected


def test_a_ledger_record_stopped_mid_push_leaves_no_worktree_in_the_checkout(
    tmp_path: Path,
) -> None:
    remote, hook_pid, work, before = _slow_remote(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    cli = Path(sys.executable).parent / "ci-actions"
    record = subprocess.Popen(
        [
            cli,
            "release-ledger",
            "--command",
            "record",
            "--service",
            "api",
            "--environment",
            "prod",
            "--image",
            f"{IMAGE}:1",
        ],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for(hook_pid)
    record.send_signal(signal.SIGTERM)
    log, _ = record.communicate(timeout=30)

    assert record.returncode == 143, log
    assert "git push to origin: the push may or may not have landed" in log
    assert git(work, "worktree", "list", "--porcelain").count("worktree ") == 1, log
    time.sleep(3)
    assert git(remote, "rev-parse", "main") == before
