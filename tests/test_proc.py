from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ci_actions import proc
from ci_actions.errors import ToolNotFound
from ci_actions.fsutil import write_atomic


def test_captures_output_and_code() -> None:
    result = proc.run(["sh", "-c", "echo out; echo err >&2; exit 3"], ok_codes=(3,))
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_failure_names_command_code_and_output() -> None:
    with pytest.raises(proc.ProcessFailed) as err:
        proc.run(["sh", "-c", "echo 'it broke' >&2; exit 4"])
    text = str(err.value)
    assert "sh -c" in text and "exit 4" in text and "it broke" in text
    assert err.value.exit_code == 3


def test_missing_tool() -> None:
    with pytest.raises(ToolNotFound, match="no-such-tool-xyz"):
        proc.run(["no-such-tool-xyz"])


def test_timeout_kills_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    start = time.monotonic()
    with pytest.raises(proc.ProcessTimeout):
        proc.run(["sh", "-c", f"sleep 30 & echo $! > {pidfile}; wait"], timeout=0.5)
    assert time.monotonic() - start < 5
    child = int(pidfile.read_text())
    time.sleep(0.2)
    status = Path(f"/proc/{child}/status")
    # Gone, or a zombie waiting for its new parent to reap it: not running.
    assert not status.exists() or "State:\tZ" in status.read_text()


def test_stdin_is_passed() -> None:
    assert proc.run(["cat"], stdin="secret\n").stdout == "secret\n"


def test_write_atomic_only_on_change_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "f.yaml"
    target.write_text("a\n")
    target.chmod(0o640)
    assert write_atomic(target, "a\n") is False
    assert write_atomic(target, "b\n") is True
    assert target.read_text() == "b\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.yaml"]


def test_write_atomic_leaves_original_on_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f.yaml"
    target.write_text("original\n")

    def fail(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_atomic(target, "new\n")
    assert target.read_text() == "original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.yaml"]


def test_drop_env_leaves_out_inherited_variables_but_not_extra_env() -> None:
    base = {"PATH": os.environ["PATH"], "GIT_DIR": "/elsewhere", "GIT_X": "1", "KEEP": "k"}
    result = proc.run(
        ["sh", "-c", 'echo "${GIT_DIR-unset} ${GIT_X-unset} ${KEEP-unset}"'],
        env=base,
        extra_env={"GIT_X": "mine"},
        drop_env=("GIT_",),
    )
    assert result.stdout == "unset mine k\n"
