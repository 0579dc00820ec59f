"""`context: git`: the ref as the checkout shows it, branch, tag or detached, on real clones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.act import git
from tests.support.anchor import Case, fake_api, fetch_anchor, run_node, run_ours
from tests.support.tools import needs

RULES = "type=ref,event=branch\ntype=ref,event=tag\ntype=ref,event=pr\ntype=sha"


def _commit(repo: Path, name: str) -> str:
    (repo / name).write_text(name)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", name)
    return git(repo, "rev-parse", "HEAD")


def _clone(tmp: Path) -> Path:
    """A clone of a remote with main (two commits, a tag on the first) and a feature branch."""
    origin = tmp / "origin"
    origin.mkdir(parents=True)
    git(origin, "init", "-q", "-b", "main")
    _commit(origin, "a")
    git(origin, "tag", "v1.0.0")
    _commit(origin, "b")
    git(origin, "checkout", "-q", "-b", "feature")
    _commit(origin, "c")
    git(origin, "checkout", "-q", "main")
    git(tmp, "clone", "-q", str(origin), "work")
    return tmp / "work"


def _branch(repo: Path) -> None:
    pass


def _tag(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach", "v1.0.0")


def _remote_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach", "origin/feature")


def _pull_merge(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach", "origin/feature")
    sha = _commit(repo, "merge")
    git(repo, "update-ref", "refs/remotes/pull/15/merge", sha)
    git(repo, "checkout", "-q", "--detach", "refs/remotes/pull/15/merge")


def _bare_commit(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "topic")
    _commit(repo, "one")
    _commit(repo, "two")
    git(repo, "checkout", "-q", "--detach", "HEAD~1")  # no ref on it; only topic holds it


STATES: dict[str, tuple[Callable[[Path], None], str]] = {
    "branch": (_branch, "main"),
    "detached-tag": (_tag, "v1.0.0"),
    "detached-remote-branch": (_remote_branch, "feature"),
    "pull-merge-ref": (_pull_merge, "pr-15"),
    "detached-no-ref": (_bare_commit, "topic"),
}


def _case(name: str, repo: Path) -> Case:
    return Case(
        f"git-{name}",
        inputs={"context": "git", "images": "app", "tags": RULES},
        env={"GITHUB_WORKSPACE": str(repo)},
    )


@pytest.mark.parametrize("name", list(STATES))
def test_ref_from_the_checkout(name: str, tmp_path: Path) -> None:
    repo = _clone(tmp_path)
    setup, version = STATES[name]
    setup(repo)
    sha = git(repo, "rev-parse", "HEAD")
    with fake_api() as api:
        ours = run_ours(_case(name, repo), api.url, tmp_path / "ours")
    assert ours.ok, ours.log
    assert ours.outputs["version"] == version
    assert f"sha-{sha[:7]}" in ours.outputs["tag-names"].split("\n")
    assert f"org.opencontainers.image.revision={sha}" in ours.outputs["labels"].split("\n")


@needs("node")
def test_same_refs_as_the_anchor(tmp_path: Path) -> None:
    found = fetch_anchor(tmp_path, clone=False)
    if found is None:
        pytest.skip("no local docker/metadata-action checkout (METADATA_ACTION_GIT)")
    index, _ = found
    with fake_api() as api:
        for name, (setup, _) in STATES.items():
            repo = _clone(tmp_path / name)
            setup(repo)
            case = _case(name, repo)
            node = run_node(index, case, api.url, repo)  # the node action reads the cwd
            ours = run_ours(case, api.url, tmp_path / name / "ours")
            assert node.ok, node.log
            assert ours.comparable() == node.comparable(), name
