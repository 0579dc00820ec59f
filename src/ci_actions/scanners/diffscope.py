"""Diff-aware scans: what a pull request changed, and the base's version of those files.

The change is taken from the merge base of `diff-base` and HEAD to the
working tree (committed, staged and unstaged edits, and untracked files that
are not ignored), so nothing the gate is about to judge can be missing from
it. Renames count as a deletion and an addition. A diff that cannot be
computed (not a git repository, a base the clone does not have, no merge
base in a shallow history) raises DiffUnavailable: the gate then scans
everything, never nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ci_actions import proc
from ci_actions.git import EOO, Git


class DiffUnavailable(Exception):
    """The change set cannot be computed; the message says why."""


@dataclass(frozen=True)
class Changes:
    base: str  # the merge base's commit SHA
    files: frozenset[str]  # root-relative posix paths, deleted ones included


def changes(root: Path, base: str) -> Changes:
    """The files changed under `root` since the merge base of `base` and HEAD."""
    git = Git(root)
    try:
        if not git.is_repo():
            raise DiffUnavailable(f"{root} is not in a git repository")
        if not git.has_commit(base):
            shallow = " (a shallow clone: fetch the base too, e.g. fetch-depth: 0)"
            raise DiffUnavailable(
                f"the base {base!r} is not a commit in this clone"
                + (shallow if git.is_shallow() else "")
            )
        merge_base = git.merge_base(base, "HEAD")
        if not merge_base:
            raise DiffUnavailable(
                f"{base!r} and HEAD have no merge base in this clone"
                + (
                    " (a shallow clone: fetch the history, e.g. fetch-depth: 0)"
                    if git.is_shallow()
                    else ""
                )
            )
        top = git.toplevel().resolve()
        tracked = git.out("diff", "--name-only", "--no-renames", "-z", EOO, merge_base)
        untracked = git.out("ls-files", "--others", "--exclude-standard", "-z", "--full-name")
    except proc.ProcessFailed as exc:
        raise DiffUnavailable(f"git failed: {exc}") from None
    prefix = _prefix(root.resolve(), top)
    names = {p for p in (tracked + "\0" + untracked).split("\0") if p}
    files = {_strip(name, prefix) for name in names}
    return Changes(merge_base, frozenset(f for f in files if f))


def base_snapshot(root: Path, merge_base: str, files: list[str], into: Path) -> list[str]:
    """Write the base's version of `files` (root-relative) under `into`; the ones it had."""
    git = Git(root)
    prefix = _prefix(root.resolve(), git.toplevel().resolve())
    written = []
    for rel in files:
        spec = f"{merge_base}:{prefix}{rel}"
        if not git.ok("cat-file", "-e", EOO, spec):
            continue  # added by the change
        text = git.run("cat-file", "blob", EOO, spec).stdout
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(rel)
    return written


def _prefix(root: Path, top: Path) -> str:
    """The root's path inside the repository, with a trailing `/` ("" at the top)."""
    try:
        rel = root.relative_to(top)
    except ValueError:
        raise DiffUnavailable(f"{root} is outside the repository at {top}") from None
    return "" if rel == Path(".") else rel.as_posix() + "/"


def _strip(name: str, prefix: str) -> str:
    """A repository path relative to the scan root, "" when it lies outside it."""
    if not name.startswith(prefix):
        return ""
    return PurePosixPath(name[len(prefix) :]).as_posix()
