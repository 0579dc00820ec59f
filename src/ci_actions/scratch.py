"""Scratch folders and worktrees, and the clean-up of those a killed run left behind.

Each is named `ci-actions-<purpose>-<random>`. A killed process (SIGKILL, a
runner that gave up waiting) cannot remove its own, so the next run that
makes one of the same purpose first removes those older than STALE_AFTER:
no step keeps a scratch folder that long, and a younger one may belong to a
run still going in parallel.
"""

from __future__ import annotations

import time
from pathlib import Path

from ci_actions.git import Git

PREFIX = "ci-actions-"
STALE_AFTER = 3600.0  # seconds


def make_dir(purpose: str, parent: Path | None = None) -> Path:
    """A new folder `ci-actions-<purpose>-*` under `parent` (the system temp dir when None)."""
    import tempfile  # this module's modules load when a folder is made, not with the action

    base = parent or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    remove_stale(base, purpose)
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{purpose}-", dir=base))


def is_ours(path: Path, purpose: str) -> bool:
    return path.name.startswith(f"{PREFIX}{purpose}-")


def is_stale(path: Path, now: float | None = None) -> bool:
    """Older than STALE_AFTER (by its own modification time); a missing path is not."""
    try:
        changed = path.lstat().st_mtime
    except OSError:
        return False
    return (time.time() if now is None else now) - changed > STALE_AFTER


def remove_stale(base: Path, purpose: str) -> list[Path]:
    """Remove our stale folders of this purpose directly under `base`; those removed."""
    removed = []
    for path in sorted(base.glob(f"{PREFIX}{purpose}-*")):
        if path.is_dir() and not path.is_symlink() and is_stale(path):
            _remove(path)
            removed.append(path)
    return removed


def prune_worktrees(git: Git, purpose: str) -> list[Path]:
    """Forget worktrees whose folder is gone, and remove our stale ones; those removed."""
    git.run("worktree", "prune", ok_codes=None)
    listing = git.run("worktree", "list", "--porcelain", ok_codes=None).stdout
    removed = []
    for line in listing.splitlines():
        path = Path(line.removeprefix("worktree "))
        if line.startswith("worktree ") and is_ours(path, purpose) and is_stale(path):
            git.run("worktree", "remove", "--force", str(path), ok_codes=None)
            _remove(path)
            removed.append(path)
    if removed:
        git.run("worktree", "prune", ok_codes=None)
    return removed


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
