"""release-ledger never reads or writes through a symlink, nor out of the repository.

Real git: the links are committed to a bare remote (the ledger in another
repository) or sit in a plain folder (the ledger in place, not pushed).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.support.act import git
from tests.support.cli import CliRun, invoke
from tests.support.gitops import clone, gitops_files, make_remote

IMAGE = "registry.local:5000/team/api"
COMMANDS = {
    "record": {"command": "record", "service": "api", "environment": "prod", "image": f"{IMAGE}:9"},
    "set-status": {
        "command": "set-status",
        "service": "api",
        "environment": "prod",
        "status": "deployed",
    },
    "list": {"command": "list"},
    "last-good": {"command": "last-good", "service": "api", "environment": "prod"},
}


def ledger(tmp: Path, cwd: Path, **inputs: str) -> CliRun:
    args: list[str] = []
    for name, value in inputs.items():
        args += [f"--{name.replace('_', '-')}", value]
    return invoke(tmp / "runs", "release-ledger", args, cwd=cwd)


def _real_ledger(tmp: Path) -> str:
    """A valid ledger file's text, written by the action itself: one healthy entry."""
    plain = tmp / "maker"
    plain.mkdir()
    for step in (
        {"command": "record", "image": f"{IMAGE}:1", "status": "deployed"},
        {"command": "set-status", "status": "healthy"},
    ):
        run = ledger(tmp, plain, service="api", environment="prod", push="false", **step)
        assert run.code == 0, run.log
    return (plain / ".ci-ledger/prod/api.jsonl").read_text()


def _plant(top: Path, shape: str, outside: Path, text: str) -> Path:
    """The link of `shape` in checkout `top`; returns the file a write would land in."""
    if shape == "folder":  # .ci-ledger/prod -> a folder outside the repository
        outside.mkdir()
        (outside / "api.jsonl").write_text(text)
        (top / ".ci-ledger").mkdir()
        (top / ".ci-ledger/prod").symlink_to(outside)
        return outside / "api.jsonl"
    # .ci-ledger/prod/api.jsonl -> another file of the same repository
    (top / "decoy.jsonl").write_text(text)
    (top / ".ci-ledger/prod").mkdir(parents=True)
    (top / ".ci-ledger/prod/api.jsonl").symlink_to("../../decoy.jsonl")
    return top / "decoy.jsonl"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("shape", ["folder", "file"])
def test_a_linked_ledger_in_another_repository_is_refused(
    tmp_path: Path, shape: str, command: str
) -> None:
    text = _real_ledger(tmp_path)
    remote = make_remote(tmp_path, gitops_files())
    seed = clone(tmp_path, remote, "seed")
    target = _plant(seed, shape, tmp_path / "outside", text)
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "a linked ledger")
    git(seed, "push", "-q", "origin", "HEAD:main")
    head = git(remote, "rev-parse", "main")
    if shape == "folder":  # the clone's link points at the same absolute folder
        before = _digest(target)
    run = ledger(tmp_path, tmp_path, repository=str(remote), **COMMANDS[command])
    assert run.code == 2, run.log
    assert "is a symlink" in run.log and ".ci-ledger/prod" in run.log
    assert git(remote, "rev-parse", "main") == head  # nothing pushed
    if shape == "folder":
        assert _digest(target) == before  # nothing written outside
    assert not run.outputs.get("id") and "recorded" not in run.log


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("shape", ["folder", "file"])
def test_a_linked_ledger_in_place_is_refused(tmp_path: Path, shape: str, command: str) -> None:
    text = _real_ledger(tmp_path)
    plain = tmp_path / "plain"
    plain.mkdir()
    target = _plant(plain, shape, tmp_path / "outside", text)
    before = _digest(target)
    run = ledger(tmp_path, plain, push="false", **COMMANDS[command])
    assert run.code == 2, run.log
    assert "is a symlink" in run.log and ".ci-ledger/prod" in run.log
    assert _digest(target) == before


def test_a_linked_ledger_in_this_checkout_is_refused(tmp_path: Path) -> None:
    """The ledger in the checkout itself (a scratch worktree of it): same rule."""
    text = _real_ledger(tmp_path)
    remote = make_remote(tmp_path, gitops_files())
    work = clone(tmp_path, remote, "work")
    target = _plant(work, "file", tmp_path / "outside", text)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "a linked ledger")
    git(work, "push", "-q", "origin", "HEAD:main")
    before = _digest(target)
    run = ledger(tmp_path, work, **COMMANDS["record"])
    assert run.code == 2, run.log
    assert "is a symlink" in run.log
    assert _digest(target) == before
    assert git(remote, "rev-parse", "main") == git(work, "rev-parse", "HEAD")


def test_a_link_inside_the_repository_to_a_folder_is_refused_too(tmp_path: Path) -> None:
    """Even a link that stays inside: the ledger folder is a plain folder or nothing."""
    plain = tmp_path / "plain"
    (plain / "elsewhere").mkdir(parents=True)
    (plain / ".ci-ledger").symlink_to("elsewhere")
    run = ledger(tmp_path, plain, push="false", **COMMANDS["record"])
    assert run.code == 2, run.log
    assert "ledger path .ci-ledger is a symlink" in run.log
    assert list((plain / "elsewhere").iterdir()) == []


def test_the_report_is_not_written_through_a_link(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (plain / "site").symlink_to(outside)
    run = ledger(tmp_path, plain, push="false", command="report", report_file="site/ledger.html")
    assert run.code == 2, run.log
    assert "report-file" in run.log and "symlink" in run.log
    assert list(outside.iterdir()) == []
    # Outside the checkout, a path the workflow names is its own choice.
    run = ledger(
        tmp_path, plain, push="false", command="report", report_file=str(outside / "r.html")
    )
    assert run.code == 0, run.log
    assert os.path.isfile(outside / "r.html")
