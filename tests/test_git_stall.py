"""A git remote that accepts the connection and never answers fails in bounded time, named."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ci_actions import git as gitmod
from ci_actions.errors import EnvironmentFailure
from ci_actions.git import Git
from tests.support.act import git
from tests.support.cli import invoke
from tests.support.silent_server import SilentServer

STALL = 2


@pytest.fixture
def small_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gitmod, "STALL_SECONDS", STALL)


@pytest.mark.usefixtures("small_bound")
@pytest.mark.parametrize("token", ["", "t0k"], ids=["anonymous", "with-token"])
def test_fetch_from_a_silent_remote_fails_within_the_bound(tmp_path: Path, token: str) -> None:
    git(tmp_path, "init", "-q", "work")
    with SilentServer() as server:
        url = f"{server.url}/acme/gitops.git"
        git(tmp_path / "work", "remote", "add", "origin", url)
        started = time.monotonic()
        with pytest.raises(EnvironmentFailure) as failed:
            Git(tmp_path / "work", token=token).fetch_branch("origin", "main")
        took = time.monotonic() - started
        assert server.accepted >= 1
    assert took < STALL + 8, took
    message = str(failed.value)
    assert "git fetch origin main failed" in message
    assert url in message and "Operation too slow" in message, message


def test_the_token_and_the_bounds_reach_git_together(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "work")
    config = Git(tmp_path / "work", token="t0k").out("config", "--list", "--show-scope")
    assert "command\thttp.lowspeedlimit=1" in config
    assert f"command\thttp.lowspeedtime={gitmod.STALL_SECONDS}" in config
    assert "command\thttp.extraheader=Authorization: basic " in config
    assert "http." not in (tmp_path / "work/.git/config").read_text()


@pytest.mark.usefixtures("small_bound")
def test_kustomize_bump_of_a_silent_repository_fails_naming_it(tmp_path: Path) -> None:
    with SilentServer() as server:
        url = f"{server.url}/acme/gitops.git"
        started = time.monotonic()
        run = invoke(
            tmp_path,
            "kustomize-bump",
            [
                "--repository",
                url,
                "--paths",
                "overlays/prod",
                "--mode",
                "commit",
                "--images",
                "registry.local:5000/team/api:2",
            ],
            env={"RUNNER_TEMP": str(tmp_path / "temp")},
        )
        took = time.monotonic() - started
    assert run.code == 3, run.log
    assert took < STALL + 8, took
    assert f"cannot clone {url}" in run.log, run.log
    assert "Operation too slow" in run.log, run.log
