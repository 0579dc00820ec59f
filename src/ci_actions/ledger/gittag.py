"""Annotated deploy tags `deploy/<environment>/<service>/<n>` on the application commit.

`n` counts up per service and environment. Two runs may pick the same
number at the same moment: the push of the second is refused (a tag is
never moved), and it takes the next number.
"""

from __future__ import annotations

from ci_actions.errors import ConfigError, EnvironmentFailure
from ci_actions.git import EOO, Git, check_sha
from ci_actions.publish import PushRejected

_TAKEN = ("already exists", "[rejected]", "cannot lock ref")


def tag_prefix(environment: str, service: str) -> str:
    return f"deploy/{environment}/{service}/"


def _numbers(names: list[str], prefix: str) -> list[int]:
    numbers = []
    for name in names:
        rest = name.removeprefix("refs/tags/").removeprefix(prefix)
        if rest.isdigit():
            numbers.append(int(rest))
    return numbers


def next_number(git: Git, prefix: str, remote: bool) -> int:
    names = git.out("tag", "--list", EOO, f"{prefix}*").split()
    if remote:
        listed = git.run("ls-remote", "--tags", "--refs", EOO, "origin", f"refs/tags/{prefix}*")
        names += [line.split("\t", 1)[1] for line in listed.stdout.splitlines() if "\t" in line]
    return max(_numbers(names, prefix), default=0) + 1


def _ensure_commit(git: Git, commit: str, remote: bool) -> None:
    if git.has_commit(commit):
        return
    if remote:  # a shallow checkout may lack it: ask for that commit alone
        git.run("fetch", "--quiet", "--no-tags", "--depth=1", EOO, "origin", commit, ok_codes=None)
        if git.has_commit(commit):
            return
    raise ConfigError(
        f"the application commit {commit} is not in {git.repo}",
        hint="check out the application repository (fetch-depth: 0) where git-tag runs",
    )


def create_deploy_tag(
    git: Git,
    environment: str,
    service: str,
    commit: str,
    message: str,
    *,
    push: bool,
    retries: int = 5,
) -> str:
    """Create (and push) the next deploy tag on `commit`; returns its name."""
    prefix = tag_prefix(environment, service)
    check_sha(commit, "the entry's git-commit")  # ledger data is never trusted
    _ensure_commit(git, commit, push)
    for _ in range(retries + 1):
        name = prefix + str(next_number(git, prefix, push))
        git.run("tag", "--annotate", f"--message={message}", EOO, name, commit)
        if not push:
            return name
        result = git.run("push", "--porcelain", EOO, "origin", f"refs/tags/{name}", ok_codes=None)
        if result.returncode == 0:
            return name
        git.run("tag", "--delete", EOO, name)
        output = result.stderr + result.stdout
        if not any(marker in output for marker in _TAKEN):
            raise EnvironmentFailure(f"git push of tag {name} failed: {output.strip()}")
    raise PushRejected(
        f"every deploy tag number tried under {prefix} was taken by a concurrent run",
        hint="run set-status again with git-tag: true",
    )
