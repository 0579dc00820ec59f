"""git.Git ignores the caller's GIT_* variables (a git hook, a wrapping script) but keeps its own."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from ci_actions.git import Git
from ci_actions.init import gitops_default_branch


def git(repo: Path, *args: str) -> str:
    """git as the test sees it: without the variables the test injects."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _repo(path: Path, branch: str = "main") -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    (path / "f.txt").write_text(path.name)
    git(path, "add", "f.txt")
    git(path, "commit", "-q", "-m", path.name)
    return path


def _inject(monkeypatch: pytest.MonkeyPatch, config: dict[str, str]) -> None:
    monkeypatch.setenv("GIT_CONFIG_COUNT", str(len(config)))
    for i, (key, value) in enumerate(config.items()):
        monkeypatch.setenv(f"GIT_CONFIG_KEY_{i}", key)
        monkeypatch.setenv(f"GIT_CONFIG_VALUE_{i}", value)


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another repository that the caller's GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE name,
    and config injected through GIT_CONFIG_*: a hooks path whose post-commit leaves a mark."""
    other = _repo(tmp_path / "other")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "post-commit").write_text(f"#!/bin/sh\ntouch {tmp_path / 'hook-ran'}\n")
    (hooks / "post-commit").chmod(0o755)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    _inject(
        monkeypatch,
        {"core.hooksPath": str(hooks), "alias.hijack": "!echo hijacked", "test.injected": "yes"},
    )
    return other


def test_acts_on_its_own_repository(tmp_path: Path, hostile: Path) -> None:
    own = _repo(tmp_path / "own")
    ours = Git(own)
    assert ours.toplevel() == own
    assert ours.out("log", "-1", "--format=%s") == "own"
    (own / "g.txt").write_text("g\n")
    ours.run("add", "g.txt")
    ours.run("commit", "-q", "-m", "second")
    assert git(own, "log", "-1", "--format=%s") == "second"
    assert git(hostile, "log", "-1", "--format=%s") == "other"


def test_ignores_injected_config(tmp_path: Path, hostile: Path) -> None:
    own = _repo(tmp_path / "own")
    ours = Git(own)
    assert ours.run("config", "--get", "test.injected", ok_codes=None).returncode == 1
    assert ours.run("hijack", ok_codes=None).returncode != 0
    (own / "g.txt").write_text("g\n")
    ours.run("add", "g.txt")
    ours.run("commit", "-q", "-m", "second")
    assert not (tmp_path / "hook-ran").exists()


def test_keeps_its_own_config_variables(tmp_path: Path, hostile: Path) -> None:
    """The token header and any GIT_CONFIG_* the wrapper is given still reach git."""
    own = _repo(tmp_path / "own")
    header = Git(own, token="s3cret").out("config", "--get", "http.extraHeader")
    basic = base64.b64encode(b"x-access-token:s3cret").decode()
    assert header == f"Authorization: basic {basic}"
    given = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.lowSpeedLimit",
        "GIT_CONFIG_VALUE_0": "1000",
    }
    assert Git(own, env=given).out("config", "--get", "http.lowSpeedLimit") == "1000"
    assert Git(own, env=given).run("config", "--get", "test.injected", ok_codes=None).returncode


def test_init_reads_the_default_branch_of_the_named_remote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An injected url.<base>.insteadOf cannot send `ci-actions init` to another remote."""
    real = _repo(tmp_path / "real", branch="trunk")
    decoy = _repo(tmp_path / "decoy", branch="decoy")
    _inject(monkeypatch, {f"url.{decoy}.insteadOf": str(real)})
    assert gitops_default_branch(str(real)) == "trunk"
