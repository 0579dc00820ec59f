"""Where the ledger lives and how a line reaches it: git, append-only.

Three places, chosen by the inputs:

- another repository (`repository`): a scratch clone in the runner's temp dir;
- this checkout, with a remote to push to: a scratch worktree of the same
  repository at the remote branch head, so the user's own checkout (HEAD,
  index, local edits) is never touched;
- this directory without pushing: the file in place, left for the caller to commit.

Every write goes through `publish.commit_and_push`: the edit re-reads the
freshly fetched file and appends to it, so a retry after a rejected push
re-applies the append on the new head and no concurrent entry is lost.

No path the ledger reads or writes may be a symlink or lead out of the
repository (`check_path`): a link committed to the GitOps repository is
data, and the ledger never follows data out of where it was told to write.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ci_actions.errors import ConfigError, EnvironmentFailure, InputError
from ci_actions.fsutil import escape_reason
from ci_actions.git import EOO, Git
from ci_actions.gitops import GitOpsTarget
from ci_actions.ledger.reader import Corrupt, LedgerFile, ledger_files, read_ledger
from ci_actions.ledger.schema import Line, encode_line
from ci_actions.ledger.torn import TornLine
from ci_actions.publish import commit_and_push
from ci_actions.scratch import make_dir, prune_worktrees


@dataclass
class Location:
    root: Path  # the checkout (or plain directory) the paths below are relative to
    ledger_dir: Path  # absolute
    git: Git | None  # None: a plain directory, nothing committed
    branch: str
    push: bool
    label: str  # how files are named in messages: "" for this checkout, else the repository
    home: Path | None = None  # the user's own checkout behind a scratch worktree

    def display(self, path: Path) -> str:
        rel = path.relative_to(self.root).as_posix()
        return f"{self.label}:{rel}" if self.label else rel


@dataclass(frozen=True)
class Target:
    """Where the ledger is: the repository (its URL resolved), the folder in it, whether to push."""

    gitops: GitOpsTarget
    ledger_dir: str
    push: bool | None  # None: push when the checkout has a remote
    fallback_branch: str  # from the event, when the checkout is detached


@contextlib.contextmanager
def open_location(
    target: Target, temp_dir: Path, *, keep: Sequence[Line] = (), rescue: Path | None = None
) -> Iterator[Location]:
    """`keep`: the lines a write will append, when known before reading the ledger;
    they go to `rescue` when the ledger cannot even be reached."""
    with contextlib.ExitStack() as stack:
        try:
            location = stack.enter_context(_open(target, temp_dir))
        except EnvironmentFailure as exc:
            if keep and rescue is not None:
                keep_aside(rescue, keep, exc)
            raise
        check_path(location.root, location.ledger_dir, location.label)
        yield location


def keep_aside(rescue: Path, lines: Sequence[Line], exc: EnvironmentFailure) -> None:
    """Lines that could not reach the ledger: appended to `rescue`, and the error says where."""
    _append(rescue, lines)
    exc.hint = f"the line(s) were kept in {rescue}; append them to the ledger once it accepts them"


def check_path(root: Path, path: Path, label: str = "") -> None:
    """Refuse (exit 2) a ledger path that is a symlink or leads out of `root`."""
    why = escape_reason(root, path)
    if why:
        shown = os.path.relpath(path, root)
        raise ConfigError(
            f"ledger path {f'{label}:' if label else ''}{shown} {why}: the ledger never reads or writes through one",
            hint="make it a plain folder or file inside the repository",
        )


def files(location: Location, service: str = "", environment: str = "") -> list[Path]:
    """The ledger files of service/environment (all when empty), every one checked."""
    if location.ledger_dir.is_dir():
        for child in location.ledger_dir.iterdir():  # a linked environment folder is refused
            if child.is_symlink() and environment in ("", child.name):
                check_path(location.root, child, location.label)
    found = ledger_files(location.ledger_dir, service, environment)
    for path in found:
        check_path(location.root, path, location.label)
    return found


@contextlib.contextmanager
def _open(target: Target, temp_dir: Path) -> Iterator[Location]:
    if target.gitops.repository:
        if target.push is False:
            raise InputError(
                "push",
                "false with `repository` would drop every write with the scratch clone",
                hint="leave push empty or true when the ledger lives in another repository",
            )
        with _scratch_clone(target, temp_dir) as location:
            yield location
        return
    workdir = target.gitops.working_directory
    if not workdir.is_dir():
        raise InputError("working-directory", f"{workdir} is not a directory")
    git = Git(workdir, identity=target.gitops.identity, token=target.gitops.token)
    has_remote = git.is_repo() and "origin" in git.remotes()
    push = has_remote if target.push is None else target.push
    if push and not has_remote:
        raise InputError(
            "push", f"{workdir} has no `origin` remote to push to", hint="set push: false"
        )
    if not push:
        ledger_dir = workdir / target.ledger_dir
        yield Location(workdir, ledger_dir, None, "", False, "")
        return
    with _scratch_worktree(target, git) as location:
        yield location


def _remote_default_branch(git: Git) -> str:
    result = git.run("ls-remote", "--symref", "origin", "HEAD", ok_codes=None)
    if result.returncode != 0:
        raise EnvironmentFailure(f"cannot reach the ledger repository: {result.stderr.strip()}")
    for line in result.stdout.splitlines():
        if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
            return line[len("ref: refs/heads/") : -len("\tHEAD")]
    return ""


@contextlib.contextmanager
def _scratch_clone(target: Target, temp_dir: Path) -> Iterator[Location]:
    scratch = make_dir("release-ledger", temp_dir)  # stale ones of killed runs go first
    try:
        git = Git(scratch, identity=target.gitops.identity, token=target.gitops.token)
        git.run("init", "--quiet")
        git.run("remote", "add", EOO, "origin", target.gitops.repository)
        branch = target.gitops.branch or _remote_default_branch(git)
        if not branch:
            raise InputError(
                "branch",
                f"{target.gitops.repository} has no default branch yet",
                hint="name the branch to write the ledger to",
            )
        if git.fetch_branch("origin", branch):
            git.run("reset", "--quiet", "--hard", "FETCH_HEAD")
        yield Location(
            scratch, scratch / target.ledger_dir, git, branch, True, target.gitops.repository
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def _scratch_worktree(target: Target, git: Git) -> Iterator[Location]:
    branch = target.gitops.branch or git.current_branch() or target.fallback_branch
    if not branch:
        raise InputError(
            "branch",
            "the checkout is on a detached HEAD and the event names no branch",
            hint="name the branch the ledger is pushed to",
        )
    top = git.toplevel()
    inside = target.gitops.working_directory.resolve().relative_to(top.resolve())
    start = "FETCH_HEAD" if git.fetch_branch("origin", branch) else "HEAD"
    prune_worktrees(git, "release-ledger")  # what a killed run left in the user's checkout
    scratch = make_dir("release-ledger")
    scratch.rmdir()  # `git worktree add` creates it
    git.run("worktree", "add", "--quiet", "--detach", EOO, str(scratch), start)
    try:
        tree = Git(scratch, identity=target.gitops.identity, token=target.gitops.token)
        yield Location(scratch, scratch / inside / target.ledger_dir, tree, branch, True, "", top)
    finally:
        git.run("worktree", "remove", "--force", str(scratch), ok_codes=None)
        shutil.rmtree(scratch, ignore_errors=True)
        git.run("worktree", "prune", ok_codes=None)


def read(
    location: Location, path: Path, corrupt: list[Corrupt], *, full: bool = True
) -> LedgerFile:
    """`full=False`: entry heads only (see read_ledger), for queries over big ledgers."""
    check_path(location.root, path, location.label)
    return read_ledger(path, location.display(path), corrupt, full=full)


def _append(path: Path, lines: Sequence[Line]) -> None:
    """Append whole lines; a last line without its newline (a torn write) stays on its own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(encode_line(line) + "\n" for line in lines)
    # O_NOFOLLOW: a link put in place after the checks still is not followed.
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "ab+") as fh:
        if fh.tell() > 0:
            fh.seek(-1, 2)
            if fh.read(1) != b"\n":
                text = "\n" + text
        fh.write(text.encode("utf-8"))


# Decides, on the freshly read file, what to append (may raise to refuse).
Compose = Callable[[LedgerFile], Sequence[Line]]


@dataclass(frozen=True)
class Written:
    lines: tuple[Line, ...]
    commit_sha: str
    attempts: int


def write(
    location: Location,
    path: Path,
    compose: Compose,
    message: str,
    *,
    corrupt: list[Corrupt],
    retries: int,
    rng: random.Random,
    rescue: Path,
    keep: Sequence[Line] = (),
) -> Written:
    """Append what `compose` decides to `path`, committed and pushed when the location pushes.

    When the lines cannot be published (a push rejected after every retry, or
    the remote unreachable), they are appended to the same file in the user's
    own checkout when there is one, else to `rescue`, before the error goes
    up: nothing is lost. `keep` stands for them when the remote failed before
    the ledger could even be read (the lines known in advance).
    """
    if location.home is not None:
        rescue = location.home / path.relative_to(location.root)
        check_path(location.home, rescue)
    pending: list[Line] = []

    def edit() -> list[str]:
        corrupt.clear()  # only the problems of the file as it is now
        check_path(location.root, location.ledger_dir, location.label)  # on every fetched head
        pending[:] = list(compose(read(location, path, corrupt)))
        if not pending:
            return []
        _append(path, pending)
        return [path.relative_to(location.root).as_posix()]

    if location.git is None:
        edit()
        return Written(tuple(pending), "", 1)
    try:
        published = commit_and_push(
            location.git,
            edit,
            message,
            branch=location.branch,
            retries=retries,
            rng=rng,
        )
    except EnvironmentFailure as exc:  # rejected, or the remote went away
        if (pending or keep) and not isinstance(exc, TornLine):
            keep_aside(rescue, pending or keep, exc)
        raise
    return Written(tuple(pending), published.commit_sha, published.attempts)
