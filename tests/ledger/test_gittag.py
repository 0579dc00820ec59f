"""Deploy tags against a real bare remote: numbering, and a number taken by a concurrent run."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_actions.errors import ConfigError
from ci_actions.git import Git
from ci_actions.ledger import gittag
from tests.support.act import git
from tests.support.gitops import clone, make_remote


def _app(tmp_path: Path) -> tuple[Path, Path, str]:
    remote = make_remote(tmp_path, {"app.py": "print(1)\n"}, name="app.git")
    work = clone(tmp_path, remote, "work")
    return remote, work, git(work, "rev-parse", "HEAD")


def test_numbers_count_up_from_local_and_remote_tags(tmp_path: Path) -> None:
    remote, work, commit = _app(tmp_path)
    other = clone(tmp_path, remote, "other")
    git(other, "tag", "deploy/prod/api/7", commit)
    git(other, "tag", "deploy/prod/api/not-a-number", commit)
    git(other, "tag", "deploy/prod/apiary/40", commit)  # another service, same prefix letters
    git(other, "push", "-q", "origin", "--tags")
    name = gittag.create_deploy_tag(Git(work), "prod", "api", commit, "m", push=True)
    assert name == "deploy/prod/api/8"
    assert git(remote, "rev-parse", "deploy/prod/api/8^{commit}") == commit
    local = gittag.create_deploy_tag(Git(work), "dev", "api", commit, "m", push=False)
    assert local == "deploy/dev/api/1"
    assert "deploy/dev/api/1" not in git(remote, "tag", "-l")


def test_a_number_taken_meanwhile_is_retried_with_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, work, commit = _app(tmp_path)
    other = clone(tmp_path, remote, "other")
    real = gittag.next_number
    calls: list[int] = []

    def racing(g: Git, prefix: str, remote_too: bool) -> int:
        number = real(g, prefix, remote_too)
        if not calls:  # another run pushes the same number between our look and our push
            git(other, "tag", "-a", "-m", "theirs", f"{prefix}{number}", commit)
            git(other, "push", "-q", "origin", f"refs/tags/{prefix}{number}")
        calls.append(number)
        return number

    monkeypatch.setattr(gittag, "next_number", racing)
    name = gittag.create_deploy_tag(Git(work), "prod", "api", commit, "ours", push=True)
    assert calls == [1, 2] and name == "deploy/prod/api/2"
    assert git(remote, "tag", "-l", "--format=%(contents:subject)", "deploy/prod/api/1") == "theirs"
    assert git(remote, "tag", "-l", "--format=%(contents:subject)", "deploy/prod/api/2") == "ours"
    assert git(work, "tag", "-l", "deploy/prod/api/1", "--format=%(contents:subject)") == ""


def test_a_commit_the_checkout_cannot_get_is_a_config_error(tmp_path: Path) -> None:
    _, work, _ = _app(tmp_path)
    with pytest.raises(ConfigError, match="not in"):
        gittag.create_deploy_tag(Git(work), "prod", "api", "f" * 40, "m", push=True)
