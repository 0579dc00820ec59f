"""release-ledger under a killed writer and an unreachable remote (real files, real git)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.act import git
from tests.support.cli import CliRun, invoke
from tests.support.gitops import gitops_files, make_remote

IMAGE = "registry.local:5000/team/api"
FILE = ".ci-ledger/prod/api.jsonl"


def ledger(tmp: Path, cwd: Path, env: dict[str, str] | None = None, **inputs: str) -> CliRun:
    args: list[str] = []
    for name, value in inputs.items():
        args += [f"--{name.replace('_', '-')}", value]
    return invoke(tmp / "runs", "release-ledger", args, cwd=cwd, env=env)


def _run(tmp: Path, cwd: Path, **inputs: str) -> CliRun:
    run = ledger(tmp, cwd, service="api", environment="prod", push="false", **inputs)
    assert run.code == 0, run.log
    return run


def _released(tmp: Path, cwd: Path, version: str, *statuses: str) -> str:
    entry_id = _run(tmp, cwd, command="record", image=f"{IMAGE}:{version}").outputs["id"]
    for status in statuses:
        _run(tmp, cwd, command="set-status", id=entry_id, status=status)
    return entry_id


def _next_line(tmp: Path, plain: Path, name: str, **inputs: str) -> bytes:
    """The exact line a real writer appends next (written in a copy, then read back)."""
    copy = tmp / name
    shutil.copytree(plain, copy)
    before = (copy / FILE).read_bytes()
    _run(tmp, copy, **inputs)
    line = (copy / FILE).read_bytes()[len(before) :]
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    return line[:-1]


@pytest.fixture
def three(tmp_path: Path) -> tuple[Path, str]:
    """1.0.0 healthy, 2.0.0 healthy, 3.0.0 built (its `deployed` line is the one torn)."""
    plain = tmp_path / "plain"
    plain.mkdir()
    _released(tmp_path, plain, "1.0.0", "deployed", "healthy")
    _released(tmp_path, plain, "2.0.0", "deployed", "healthy")
    third = _released(tmp_path, plain, "3.0.0")
    return plain, third


def _status_line_cut(tmp: Path, plain: Path, third: str, at: str) -> bytes:
    line = _next_line(tmp, plain, "writer", command="set-status", id=third, status="deployed")
    cuts = {
        "in the type": 6,
        "in the id": line.index(third.encode()) + 5,
        "in the status": line.index(b'"deployed"') + 5,
        "near the end": len(line) - 3,
    }
    return line[: cuts[at]]


# `last-good` is the newest healthy entry: a `deployed` line of 3.0.0 cannot change it
# once the cut is past the status, so that question is answered; the others cannot be.
_ANSWERABLE = {("last-good", "in the status"), ("last-good", "near the end")}


@pytest.mark.parametrize("at", ["in the type", "in the id", "in the status", "near the end"])
@pytest.mark.parametrize("command", ["last-good", "rollback-target", "rollback", "set-status"])
def test_a_torn_deployed_line_stops_every_answer_it_could_change(
    tmp_path: Path, three: tuple[Path, str], at: str, command: str
) -> None:
    plain, third = three
    torn = _status_line_cut(tmp_path, plain, third, at)
    with (plain / FILE).open("ab") as fh:
        fh.write(torn)  # the writer was killed here
    before = (plain / FILE).read_bytes()
    extra = {"status": "healthy"} if command == "set-status" else {}
    run = ledger(
        tmp_path,
        plain,
        service="api",
        environment="prod",
        push="false",
        command=command,
        paths="overlays/prod",
        **extra,
    )
    assert (plain / FILE).read_bytes() == before
    if (command, at) in _ANSWERABLE:
        assert run.code == 0, run.log
        assert run.outputs["image"].endswith(":2.0.0")
        return
    assert run.code == 3, run.log
    assert f"{FILE}:8 is a torn line" in run.log  # 3 + 3 + 1 whole lines before it


def test_a_torn_line_sealed_by_a_later_append_still_counts(
    tmp_path: Path, three: tuple[Path, str]
) -> None:
    plain, third = three
    with (plain / FILE).open("ab") as fh:
        fh.write(_status_line_cut(tmp_path, plain, third, "in the status"))
    _released(tmp_path, plain, "4.0.0")  # appended on a line of its own after the torn one
    run = ledger(tmp_path, plain, service="api", environment="prod", command="rollback-target")
    assert run.code == 3 and f"{FILE}:8 is a torn line" in run.log, run.log
    listed = ledger(tmp_path, plain, command="list")  # a listing only warns
    assert listed.code == 0 and f"file={FILE},line=8" in listed.log


def test_a_torn_line_that_cannot_change_the_answer_is_only_a_warning(
    tmp_path: Path, three: tuple[Path, str]
) -> None:
    """A new entry cut after its `built` status: whatever the rest was, it is not deployed."""
    plain, _ = three
    clean = ledger(tmp_path, plain, service="api", environment="prod", command="last-good")
    assert clean.code == 0, clean.log
    line = _next_line(tmp_path, plain, "writer", command="record", image=f"{IMAGE}:5.0.0")
    assert b'"status":"built"' in line
    with (plain / FILE).open("ab") as fh:
        fh.write(line[: line.index(b'"status":"built"') + len(b'"status":"built"') + 2])
    run = ledger(tmp_path, plain, service="api", environment="prod", command="last-good")
    assert run.code == 0, run.log
    assert json.loads(run.outputs["entry"]) == json.loads(clean.outputs["entry"])
    assert f"file={FILE},line=8" in run.log  # still reported


def _rescued(runner_temp: Path) -> list[dict[str, object]]:
    text = (runner_temp / "release-ledger-unpushed.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_an_unreachable_ledger_repository_keeps_the_lines(tmp_path: Path) -> None:
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    missing = str(tmp_path / "no-such-remote.git")
    env = {"RUNNER_TEMP": str(runner_temp)}
    for branch in ("", "main"):  # the default branch looked up, or named
        run = ledger(
            tmp_path,
            tmp_path,
            env=env,
            command="record",
            service="api",
            environment="prod",
            image=f"{IMAGE}:1",
            repository=missing,
            **({"branch": branch} if branch else {}),
        )
        assert run.code == 3, run.log
        assert "release-ledger-unpushed.jsonl" in run.log
        assert _rescued(runner_temp)[-1]["id"] == run.outputs["id"]
    run = ledger(
        tmp_path,
        tmp_path,
        env=env,
        command="set-status",
        id=str(_rescued(runner_temp)[0]["id"]),
        status="deployed",
        reason="rolled out",
        repository=missing,
    )
    assert run.code == 3, run.log
    status = _rescued(runner_temp)[-1]
    assert (status["type"], status["status"], status["reason"]) == (
        "status",
        "deployed",
        "rolled out",
    )
    assert len(_rescued(runner_temp)) == 3


def test_a_remote_that_goes_away_during_the_push_keeps_the_line(tmp_path: Path) -> None:
    remote = make_remote(tmp_path, gitops_files())
    hook = remote / "hooks" / "pre-receive"  # the repository vanishes mid-push
    hook.write_text('#!/bin/sh\nmv "$(pwd)" "$(pwd).gone"\nexit 1\n')
    hook.chmod(0o755)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    run = ledger(
        tmp_path,
        tmp_path,
        env={"RUNNER_TEMP": str(runner_temp)},
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:1",
        repository=str(remote),
        push_retries="2",
    )
    assert run.code == 3, run.log
    assert not remote.exists()
    assert [k["id"] for k in _rescued(runner_temp)] == [run.outputs["id"]]
    assert "release-ledger-unpushed.jsonl" in run.log
    gone = Path(f"{remote}.gone")
    assert git(gone, "rev-list", "--count", "main") == "1"  # nothing landed


def test_a_torn_line_about_another_entry_does_not_stop_a_status_change(
    tmp_path: Path, three: tuple[Path, str]
) -> None:
    """Cut after its id: it is about 3.0.0 and nothing else, so 1.0.0 may still change."""
    plain, third = three
    first = json.loads((plain / FILE).read_text().splitlines()[0])["id"]
    with (plain / FILE).open("ab") as fh:
        fh.write(_status_line_cut(tmp_path, plain, third, "in the status"))
    run = ledger(
        tmp_path,
        plain,
        service="api",
        environment="prod",
        push="false",
        command="set-status",
        id=first,
        status="failed",
    )
    assert run.code == 0, run.log
    assert json.loads(run.outputs["entry"])["status"] == "failed"
    assert f"file={FILE},line=8" in run.log  # still reported as corrupt
