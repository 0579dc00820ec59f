"""On a runner the event is the context, even an event without ref or sha; git only when asked.

The runner rows run inside a real git checkout (the workspace); with
`context: workflow` the result must be the anchor's own for that event
(captured as case `null-default`), never the checkout's branch and commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.support.act import git
from tests.support.anchor import fake_api, run_ours
from tests.support.fake_github import FakeGitHub
from tests.support.golden import load
from tests.tags.anchor_cases import cases
from tests.tags.capture_anchor import NAME

TABLE: dict[str, Any] = load(NAME)["cases"]
NO_REF = next(c for c in cases() if c.id == "null-default")  # GITHUB_ACTIONS=true, no ref/sha


@pytest.fixture(scope="module")
def api() -> Iterator[FakeGitHub]:
    with fake_api() as fake:
        yield fake


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "workspace"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "feature-x")
    (repo / "a.txt").write_text("a\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "tag", "v9.9.9")
    return repo


@pytest.mark.parametrize(
    ("context", "workspace_env"),
    [("workflow", True), ("workflow", False), ("", True)],
    ids=["workflow-workspace", "workflow-cwd-only", "default-context"],
)
def test_an_event_without_ref_or_sha_does_not_read_the_checkout(
    api: FakeGitHub, tmp_path: Path, checkout: Path, context: str, workspace_env: bool
) -> None:
    env = {"GITHUB_WORKSPACE": str(checkout)} if workspace_env else {}
    case = replace(NO_REF, env={**NO_REF.env, **env, "INPUT_CONTEXT": context})
    ours = run_ours(case, api.url, tmp_path / "out", cwd=checkout)
    assert ours.ok, ours.log
    expected = TABLE[NO_REF.id]
    assert ours.outputs == expected["outputs"]
    assert sorted(ours.env) == expected["env"]
    assert "feature-x" not in ours.outputs["tags"] + ours.outputs["labels"]
    assert "reading the ref and commit from the checkout" not in ours.log


def test_context_git_on_a_runner_reads_the_checkout(
    api: FakeGitHub, tmp_path: Path, checkout: Path
) -> None:
    head = git(checkout, "rev-parse", "HEAD")
    env = {"GITHUB_WORKSPACE": str(checkout), "INPUT_CONTEXT": "git"}
    case = replace(NO_REF, env={**NO_REF.env, **env})
    ours = run_ours(case, api.url, tmp_path / "out", cwd=checkout)
    assert ours.ok, ours.log
    assert ours.outputs["version"] == "feature-x"
    assert f"org.opencontainers.image.revision={head}" in ours.outputs["labels"]
