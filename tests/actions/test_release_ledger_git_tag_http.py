"""Deploy tags pushed as on GitHub: the application's origin and the GitOps repository are
served over HTTP and refuse a push (and a fetch) without the token.

The checkout keeps no credentials (actions/checkout with persist-credentials:
false), so the tag push authenticates with `git-tag-token`, and a push that
is refused anyway is a warning: the healthy status is already written."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci_actions.git import token_env
from tests.support.act import git
from tests.support.cli import CliRun, invoke
from tests.support.git_http import GitHttpServer
from tests.support.gitops import gitops_files, make_remote

TOKEN = "ghs_app-and-gitops-token"
IMAGE = "registry.local:5000/team/api"
DIGEST = "sha256:" + "1a" * 32


@dataclass
class Remotes:
    server: GitHttpServer
    app: Path  # bare, on disk
    gitops: Path  # bare, on disk
    work: Path  # the application checkout, origin over HTTP, no credentials kept
    commit: str

    @property
    def gitops_url(self) -> str:
        return self.server.url_for("gitops.git")


@pytest.fixture
def remotes(tmp_path: Path) -> Iterator[Remotes]:
    root = tmp_path / "remotes"
    app = make_remote(root, {"app.py": "print(1)\n"}, name="app.git")
    gitops = make_remote(root, gitops_files(), name="gitops.git")
    with GitHttpServer(root, TOKEN) as server:
        work = tmp_path / "app"
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **token_env(TOKEN)}
        subprocess.run(
            ["git", "clone", "-q", server.url_for("app.git"), str(work)], env=env, check=True
        )
        assert "extraheader" not in git(work, "config", "--list").lower()
        yield Remotes(server, app, gitops, work, git(work, "rev-parse", "HEAD"))


def _ledger(r: Remotes, tmp: Path, **inputs: str) -> CliRun:
    args: list[str] = []
    for name, value in inputs.items():
        args += [f"--{name.replace('_', '-')}", value]
    return invoke(tmp / "runs", "release-ledger", args, cwd=r.work)


def _deployed(r: Remotes, tmp: Path) -> str:
    common = {"repository": r.gitops_url, "token": TOKEN}
    rec = _ledger(
        r,
        tmp,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:1.0.0@{DIGEST}",
        git_commit=r.commit,
        status="deployed",
        **common,
    )
    assert rec.code == 0, rec.log
    return rec.outputs["id"]


def _printed(run: CliRun) -> str:
    """What the step printed, without the ::add-mask:: lines that register the secrets."""
    return "\n".join(line for line in run.log.splitlines() if not line.startswith("::add-mask::"))


def _statuses(r: Remotes, entry_id: str) -> list[str]:
    text = git(r.gitops, "show", "main:.ci-ledger/prod/api.jsonl")
    lines = [json.loads(line) for line in text.splitlines() if line]
    return [str(line["status"]) for line in lines if line.get("id") == entry_id]


def test_git_tag_token_pushes_the_tag_to_the_application_origin(
    remotes: Remotes, tmp_path: Path
) -> None:
    entry_id = _deployed(remotes, tmp_path)
    run = _ledger(
        remotes,
        tmp_path,
        command="set-status",
        id=entry_id,
        status="healthy",
        git_tag="true",
        git_tag_token=TOKEN,
        repository=remotes.gitops_url,
        token=TOKEN,
    )
    assert run.code == 0, run.log
    assert run.outputs["git-tag"] == "deploy/prod/api/1"
    assert git(remotes.app, "rev-parse", "deploy/prod/api/1^{commit}") == remotes.commit
    assert _statuses(remotes, entry_id) == ["deployed", "healthy"]
    assert remotes.server.refused() == []
    assert "::warning" not in run.stdout
    assert TOKEN not in _printed(run)
    # the token reached git through the environment only
    assert "extraheader" not in git(remotes.work, "config", "--list").lower()


@pytest.mark.parametrize(
    "tag_token",
    [
        pytest.param(None, id="no-git-tag-token"),  # the GitOps token is not the app's
        pytest.param("wrong-token", id="wrong-git-tag-token"),
    ],
)
def test_a_refused_tag_push_is_a_warning_and_the_release_stays_healthy(
    remotes: Remotes, tmp_path: Path, tag_token: str | None
) -> None:
    entry_id = _deployed(remotes, tmp_path)
    extra = {"git_tag_token": tag_token} if tag_token is not None else {}
    run = _ledger(
        remotes,
        tmp_path,
        command="set-status",
        id=entry_id,
        status="healthy",
        git_tag="true",
        repository=remotes.gitops_url,
        token=TOKEN,
        **extra,
    )
    assert run.code == 0, run.log
    assert run.outputs["git-tag"] == ""
    assert run.outputs["id"] == entry_id
    assert _statuses(remotes, entry_id) == ["deployed", "healthy"]
    assert git(remotes.app, "tag", "-l") == ""
    assert git(remotes.work, "tag", "-l") == ""  # no local tag left behind either
    assert remotes.server.refused()
    warnings = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1 and "deploy tag was not pushed" in warnings[0]
    assert "git-tag-token" in warnings[0]
    assert "NOT pushed" in run.summary
    printed = _printed(run)
    assert TOKEN not in printed and (tag_token is None or tag_token not in printed)
    assert f"::add-mask::{tag_token or TOKEN}" in run.log


def test_without_a_repository_the_token_also_tags(remotes: Remotes, tmp_path: Path) -> None:
    """The ledger in the application checkout: one token for the ledger and the tag."""
    rec = _ledger(
        remotes,
        tmp_path,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:1.0.0@{DIGEST}",
        git_commit=remotes.commit,
        status="deployed",
        token=TOKEN,
    )
    assert rec.code == 0, rec.log
    run = _ledger(
        remotes,
        tmp_path,
        command="set-status",
        id=rec.outputs["id"],
        status="healthy",
        git_tag="true",
        token=TOKEN,
    )
    assert run.code == 0, run.log
    assert run.outputs["git-tag"] == "deploy/prod/api/1"
    assert git(remotes.app, "rev-parse", "deploy/prod/api/1^{commit}") == remotes.commit
