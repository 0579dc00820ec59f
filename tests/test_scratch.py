"""What a killed run leaves behind (temp clones, worktrees in the user's checkout) goes on the next run."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from tests.support.act import git
from tests.support.cli import invoke
from tests.support.gitops import clone, gitops_files, make_remote

IMAGE = "registry.local:5000/team/api"
STALE_AFTER = 3600  # what the clean-up promises: older than an hour is left over


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def leftovers(base: Path, purpose: str) -> dict[str, Path]:
    """One stale folder of ours, one fresh one (a parallel run's), one stale not ours."""
    base.mkdir(parents=True, exist_ok=True)
    made = {
        "stale": Path(tempfile.mkdtemp(prefix=f"ci-actions-{purpose}-", dir=base)),
        "fresh": Path(tempfile.mkdtemp(prefix=f"ci-actions-{purpose}-", dir=base)),
        "not-ours": Path(tempfile.mkdtemp(prefix=f"{purpose}-", dir=base)),
    }
    for path in made.values():
        (path / "repo").mkdir()
    for key in ("stale", "not-ours"):
        age(made[key], STALE_AFTER + 60)
    return made


def test_kustomize_bump_removes_the_stale_clones_of_killed_runs(tmp_path: Path) -> None:
    remote = make_remote(tmp_path, gitops_files())
    temp = tmp_path / "runner-temp"
    made = leftovers(temp, "kustomize-bump")
    run = invoke(
        tmp_path / "run",
        "kustomize-bump",
        [
            "--repository",
            str(remote),
            "--paths",
            "overlays/prod",
            "--mode",
            "commit",
            "--images",
            f"{IMAGE}:2.0.0",
        ],
        env={"RUNNER_TEMP": str(temp)},
    )
    assert run.code == 0, run.log
    assert not made["stale"].exists()
    assert made["fresh"].exists() and made["not-ours"].exists()
    assert sorted(temp.iterdir()) == sorted([made["fresh"], made["not-ours"]])  # its own is gone


def test_release_ledger_removes_the_worktrees_a_killed_record_left(tmp_path: Path) -> None:
    remote = make_remote(tmp_path, gitops_files())
    work = clone(tmp_path, remote, "work")
    system_temp = Path(tempfile.gettempdir())
    worktrees = {}
    for key in ("stale", "fresh", "deleted"):
        path = Path(tempfile.mkdtemp(prefix="ci-actions-release-ledger-", dir=system_temp))
        path.rmdir()
        git(work, "worktree", "add", "-q", "--detach", str(path), "HEAD")
        worktrees[key] = path
    age(worktrees["stale"], STALE_AFTER + 60)
    git(work, "worktree", "add", "-q", "--detach", str(tmp_path / "users-own"), "HEAD")
    age(tmp_path / "users-own", STALE_AFTER + 60)
    # a killed run's folder can also be gone (the temp dir was cleaned) with git still listing it
    shutil.rmtree(worktrees["deleted"])
    try:
        run = invoke(
            tmp_path / "run",
            "release-ledger",
            [
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
        )
        assert run.code == 0, run.log
        listed = git(work, "worktree", "list", "--porcelain")
        assert str(worktrees["stale"]) not in listed and not worktrees["stale"].exists()
        assert str(worktrees["deleted"]) not in listed
        assert str(worktrees["fresh"]) in listed  # may be a parallel run's
        assert str(tmp_path / "users-own") in listed  # not ours, however old
        assert len(listed.split("\n\n")) == 3  # the checkout, users-own, fresh
    finally:
        git(work, "worktree", "remove", "--force", str(worktrees["fresh"]))
