"""Commit an edit and push it without ever losing a concurrent update.

On a rejected push the remote head is fetched, the working tree is reset to
it, the SAME edit is applied again (not a textual merge), committed and
pushed, with jittered exponential backoff. No force-push, ever. Shared by
kustomize-bump and release-ledger.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ci_actions.errors import EnvironmentFailure
from ci_actions.git import EOO, Git, check_ref

# An edit applied to the checkout; returns the paths (relative to the repo) it changed.
Edit = Callable[[], Sequence[str]]
_REJECTED = (
    "[rejected]",
    "non-fast-forward",
    "fetch first",
    "failed to update ref",
    "cannot lock ref",
    "stale info",
)


@dataclass(frozen=True)
class Published:
    commit_sha: str  # "" when the edit changed nothing
    changed_files: tuple[str, ...]
    attempts: int


class PushRejected(EnvironmentFailure):
    pass


def _is_rejection(stderr: str) -> bool:
    return any(marker in stderr for marker in _REJECTED)


def commit_and_push(
    git: Git,
    edit: Edit,
    message: str | Callable[[Sequence[str]], str],
    *,
    remote: str = "origin",
    branch: str,
    retries: int = 5,
    push: bool = True,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
    base_delay: float = 0.2,
    max_delay: float = 2.0,
) -> Published:
    """Apply `edit` on top of `remote/branch`, commit, push; retry on rejection.

    Raises PushRejected (exit 3) after `retries` rejected pushes; the working
    tree is then left at the remote head, clean, with nothing of ours in it.
    """
    check_ref(branch, "branch")
    rng = rng or random.Random()
    attempts = 0
    while True:
        attempts += 1
        if push:
            _sync_to_remote(git, remote, branch)
        changed = list(edit())
        if not changed:
            return Published("", (), attempts)
        git.run("add", "--", *changed)
        if git.run("diff", "--cached", "--quiet", ok_codes=None).returncode == 0:
            return Published("", (), attempts)
        text = message(changed) if callable(message) else message
        git.run("commit", "--quiet", "--no-verify", "-m", text)
        sha = git.out("rev-parse", "HEAD")
        if not push:
            return Published(sha, tuple(changed), attempts)
        result = git.run(
            "push", "--porcelain", EOO, remote, f"HEAD:refs/heads/{branch}", ok_codes=None
        )
        if result.returncode == 0:
            return Published(sha, tuple(changed), attempts)
        if not _is_rejection(result.stderr + result.stdout) or attempts > retries:
            _sync_to_remote(git, remote, branch)
            what = "rejected" if _is_rejection(result.stderr + result.stdout) else "failed"
            raise PushRejected(
                f"git push to {remote} {branch} {what} after {attempts} attempt(s): "
                + (result.stderr.strip() or result.stdout.strip()),
                hint="nothing was force-pushed; the remote is unchanged by this run",
            )
        delay = min(max_delay, base_delay * (2 ** (attempts - 1)))
        sleep(delay * (0.5 + rng.random()))  # jitter so racing writers spread out


def _sync_to_remote(git: Git, remote: str, branch: str) -> None:
    """Make the checkout exactly the remote head (an empty remote branch is allowed)."""
    if git.fetch_branch(remote, branch):  # else the branch is new: the first push creates it
        git.run("reset", "--quiet", "--hard", "FETCH_HEAD")
