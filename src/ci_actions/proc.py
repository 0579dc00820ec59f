"""The one subprocess wrapper: every external command goes through run().

Children run in their own session (so a time-out kills their children too),
which also means a signal to us does not reach them. Every live child is
kept in a registry; when the run is interrupted (SIGINT, or SIGTERM which
the CLI turns into an interrupt) stop_all() stops each group: SIGTERM, a
short grace, then SIGKILL, and says which commands were cut short.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ci_actions.errors import ConfigError, EnvironmentFailure, ToolNotFound

_TAIL_LINES = 40
STOP_GRACE = 2.0  # seconds a stopped group gets between SIGTERM and SIGKILL

_live: dict[int, tuple[subprocess.Popen[str], tuple[str, ...]]] = {}
_stopped: list[tuple[str, ...]] = []  # commands cut short by an interrupt, in order
_lock = threading.Lock()


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


class ProcessFailed(EnvironmentFailure):
    """A command exited with a code outside what the caller accepts."""

    def __init__(self, result: Completed, what: str = "") -> None:
        self.result = result
        tail = _tail(result.stderr or result.stdout)
        head = what or f"command failed: {result.command}"
        super().__init__(f"{head} (exit {result.returncode})" + (f"\n{tail}" if tail else ""))


class ProcessTimeout(EnvironmentFailure):
    """A command ran past its time limit and was killed with its children."""

    def __init__(self, argv: Sequence[str], seconds: float, stdout: str, stderr: str) -> None:
        self.argv = tuple(argv)
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"command timed out after {seconds:g}s and was killed: {shlex.join(argv)}")


def _tail(text: str, lines: int = _TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def which(name: str) -> str | None:
    import shutil  # (with bz2, lzma and fnmatch) only for the commands that look one up

    return shutil.which(name)


def require(name: str, install_hint: str) -> str:
    """Path of an executable, or ToolNotFound saying how to install it."""
    path = which(name)
    if path is None:
        raise ToolNotFound(f"'{name}' is not installed or not on PATH", hint=install_hint)
    return path


def run(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    drop_env: Sequence[str] = (),
    stdin: str | None = None,
    timeout: float | None = None,
    ok_codes: Iterable[int] | None = (0,),
    what: str = "",
    stdout_file: Path | None = None,
) -> Completed:
    """Run a command to completion and capture its output as text.

    The command sees `env` (default: os.environ) without the variables whose
    names start with one of the `drop_env` prefixes, then `extra_env` on top:
    what the caller sets itself always reaches the command.
    ok_codes=None accepts any exit code (the caller judges it). A missing
    executable is ToolNotFound; a time-out kills the whole process group.
    With `stdout_file` the command's standard output goes to that file
    (created or emptied, mode 0600), byte for byte, and `stdout` is "".
    """
    argv = [str(a) for a in argv]
    if any("\0" in a for a in argv):  # data (an input, a ledger line) is never passed cut short
        raise ConfigError(
            f"an argument of {argv[0]} contains a NUL character",
            hint="check the inputs and the data this command was given",
        )
    full_env = _environment(os.environ if env is None else env, extra_env or {}, drop_env)
    started = time.monotonic()
    with contextlib.ExitStack() as files:
        out_to: int | IO[bytes] = subprocess.PIPE
        if stdout_file is not None:
            fd = os.open(stdout_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            out_to = files.enter_context(os.fdopen(fd, "wb"))
        proc = _start(argv, cwd, full_env, stdin, out_to)
    with _lock:
        _live[proc.pid] = (proc, tuple(argv))
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise ProcessTimeout(argv, timeout or 0.0, out or "", err) from None
    except KeyboardInterrupt:  # SIGINT, or SIGTERM through the CLI's handler
        _stop_group(proc, tuple(argv))
        raise
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        with _lock:
            _live.pop(proc.pid, None)
    result = Completed(tuple(argv), proc.returncode, out or "", err, time.monotonic() - started)
    if ok_codes is not None and result.returncode not in set(ok_codes):
        raise ProcessFailed(result, what)
    return result


def _start(
    argv: list[str],
    cwd: str | Path | None,
    env: dict[str, str],
    stdin: str | None,
    stdout: int | IO[bytes],
) -> subprocess.Popen[str]:
    try:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,  # so a time-out can kill the children too
        )
    except FileNotFoundError as exc:
        raise ToolNotFound(f"'{argv[0]}' is not installed or not on PATH") from exc
    except PermissionError as exc:
        raise EnvironmentFailure(f"'{argv[0]}' cannot be executed: {exc}") from exc


def stop_all(grace: float = STOP_GRACE) -> list[tuple[str, ...]]:
    """Stop every live child group; the commands an interrupt cut short, oldest first.

    Children of other threads are stopped here; a run() that was itself
    interrupted has already stopped its own. The list is emptied.
    """
    with _lock:
        live = list(_live.values())
    for proc, argv in live:
        _stop_group(proc, argv, grace)
    with _lock:
        stopped = list(_stopped)
        _stopped.clear()
    return stopped


def _stop_group(
    proc: subprocess.Popen[str], argv: tuple[str, ...], grace: float = STOP_GRACE
) -> None:
    """SIGTERM to the group, up to `grace` seconds for the leader, then SIGKILL to what is left."""
    with _lock:
        if _live.pop(proc.pid, None) is None:
            return  # another thread stopped it already
        _stopped.append(argv)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    _kill_group(proc)  # the leader's children too, whether it left or not
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


def _environment(
    base: Mapping[str, str], extra: Mapping[str, str], drop: Sequence[str]
) -> dict[str, str]:
    kept = {k: v for k, v in base.items() if not (drop and k.startswith(tuple(drop)))}
    return kept | dict(extra)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
