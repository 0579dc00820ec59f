"""commit_and_push against real bare remotes: rejection, re-apply, give-up."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ci_actions.git import Git
from ci_actions.publish import PushRejected, commit_and_push
from tests.support.act import git


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    (seed / "list.txt").write_text("")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    git(seed, "push", "-q", "origin", "HEAD:main")
    return bare


def _clone(tmp_path: Path, remote: Path, name: str) -> Path:
    path = tmp_path / name
    git(tmp_path, "clone", "-q", str(remote), str(path))
    return path


def _append(path: Path, line: str):  # type: ignore[no-untyped-def]
    def edit() -> list[str]:
        f = path / "list.txt"
        f.write_text(f.read_text() + line + "\n")
        return ["list.txt"]

    return edit


def test_rejected_push_reapplies_edit_on_new_head(tmp_path: Path, remote: Path) -> None:
    a, b = _clone(tmp_path, remote, "a"), _clone(tmp_path, remote, "b")
    commit_and_push(Git(a), _append(a, "from-a"), "a", branch="main")
    # b's checkout is stale; its first push is rejected, the retry re-applies on top of a.
    calls: list[float] = []
    result = commit_and_push(
        Git(b), _append(b, "from-b"), "b", branch="main", rng=random.Random(1), sleep=calls.append
    )
    check = _clone(tmp_path, remote, "check")
    assert (check / "list.txt").read_text() == "from-a\nfrom-b\n"
    assert result.attempts == 1  # the sync before the first attempt already saw a's commit
    assert git(check, "rev-list", "--count", "HEAD") == "3"
    assert git(check, "log", "--merges", "--oneline") == ""


def test_race_between_sync_and_push_is_retried(tmp_path: Path, remote: Path) -> None:
    a, b = _clone(tmp_path, remote, "a"), _clone(tmp_path, remote, "b")
    raced = {"done": False}

    def edit_with_race() -> list[str]:
        if not raced["done"]:  # another writer lands between our fetch and our push
            raced["done"] = True
            commit_and_push(Git(a), _append(a, "racer"), "racer", branch="main")
        return _append(b, "mine")()

    delays: list[float] = []
    result = commit_and_push(Git(b), edit_with_race, "mine", branch="main", sleep=delays.append)
    assert result.attempts == 2 and len(delays) == 1
    check = _clone(tmp_path, remote, "check")
    assert (check / "list.txt").read_text() == "racer\nmine\n"


def test_gives_up_after_retries_and_leaves_tree_clean(tmp_path: Path, remote: Path) -> None:
    a, b = _clone(tmp_path, remote, "a"), _clone(tmp_path, remote, "b")

    def always_raced() -> list[str]:
        commit_and_push(Git(a), _append(a, "racer"), "racer", branch="main")
        return _append(b, "mine")()

    with pytest.raises(PushRejected, match="after 3 attempt"):
        commit_and_push(
            Git(b), always_raced, "mine", branch="main", retries=2, sleep=lambda _: None
        )
    assert git(b, "status", "--porcelain") == ""
    assert "mine" not in (b / "list.txt").read_text()


def test_no_change_no_commit(tmp_path: Path, remote: Path) -> None:
    a = _clone(tmp_path, remote, "a")
    result = commit_and_push(Git(a), lambda: [], "nothing", branch="main")
    assert result.commit_sha == "" and result.changed_files == ()
