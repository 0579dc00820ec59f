"""The single-value grammars: refs against real `git check-ref-format`, the rest by table."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ci_actions import grammar
from ci_actions.errors import ConfigError
from ci_actions.git import Git
from ci_actions.ledger.gittag import create_deploy_tag
from ci_actions.proc import ProcessFailed
from ci_actions.publish import commit_and_push
from tests.support.act import git
from tests.support.gitops import clone, gitops_files, make_remote

REF_CANDIDATES = [
    "main",
    "feature/x",
    "release/1.2.3",
    "ci-actions/bump/prod/api",
    "a_b.c-d",
    "v1.0",
    "UPPER/Case",
    "deploy/prod/api/7",
    "-x",
    "--upload-pack=touch /tmp/x;git-upload-pack",
    "a b",
    "a\tb",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "a..b",
    "a/.b",
    ".a",
    "a.lock",
    "a/b.lock/c",
    "a/",
    "/a",
    "a//b",
    "a.",
    "@",
    "a@{1}",
    "a@b",
    "HEAD",
    "é",
    "a\x7fb",
]


def _git_accepts_branch(name: str) -> bool:
    done = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True)
    return done.returncode == 0


@pytest.mark.parametrize("name", REF_CANDIDATES)
def test_ref_grammar_agrees_with_git(name: str) -> None:
    # `--branch @` echoes `@` (git's shorthand for HEAD, never a branch): refused here too
    expected = _git_accepts_branch(name) and name != "@"
    assert (grammar.ref_error(name) == "") == expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("main\n--upload-pack=x", False),
        ("main\0", False),
        ("a" * 256, False),
        ("a" * 255, True),
    ],
)
def test_ref_grammar_refuses_what_argv_cannot_carry(value: str, ok: bool) -> None:
    assert (grammar.ref_error(value) == "") is ok


@pytest.mark.parametrize(
    ("check", "value", "ok"),
    [
        (grammar.sha_error, "abc1234", True),
        (grammar.sha_error, "a" * 40, True),
        (grammar.sha_error, "a" * 64, True),
        (grammar.sha_error, "abc123", False),  # 6: too short to name a commit
        (grammar.sha_error, "a" * 65, False),
        (grammar.sha_error, "ABC1234", False),
        (grammar.sha_error, "--output=x", False),
        (grammar.sha_error, "abc1234\n", False),
        (grammar.rev_error, "HEAD", True),
        (grammar.rev_error, "HEAD~1", True),
        (grammar.rev_error, "main^2~3", True),
        (grammar.rev_error, "origin/main", True),
        (grammar.rev_error, "-x", False),
        (grammar.rev_error, "HEAD~1 --output=x", False),
        (grammar.tag_error, "1.2.3", True),
        (grammar.tag_error, "sha-abc1234", True),
        (grammar.tag_error, "_x", True),
        (grammar.tag_error, "a" * 128, True),
        (grammar.tag_error, "a" * 129, False),
        (grammar.tag_error, ".x", False),
        (grammar.tag_error, "-x", False),
        (grammar.tag_error, "1.2.3\nother=evil/x:1", False),
        (grammar.digest_error, "sha256:" + "a" * 64, True),
        (grammar.digest_error, "sha512:" + "b" * 128, True),
        (grammar.digest_error, "sha256:" + "A" * 64, False),
        (grammar.digest_error, "sha256:abc", False),
        (grammar.digest_error, "--output=x", False),
        (grammar.image_error, "registry.local:5000/team/api:1.2.3", True),
        (grammar.image_error, "api", True),
        (grammar.image_error, "localhost/a/b@sha256:" + "c" * 64, True),
        (grammar.image_error, "ghcr.io/team/my__app-x.y:1", True),
        (grammar.image_error, "Registry.Local:5000/team/api", True),  # the host may be upper-case
        (grammar.image_error, "registry.local/Team/api", False),  # a repository may not
        (grammar.image_error, "registry.local/" + "a" * 250, False),  # over 255
        (grammar.image_error, "-c", False),
        (grammar.image_error, "team/api:1\nevil/x:1", False),
        (grammar.image_error, "team//api", False),
        (grammar.image_error, "team/api:", False),
        (grammar.line_error, "free text --output=x", True),
        (grammar.line_error, "two\nlines", False),
        (grammar.line_error, "cr\rlf", False),
        (grammar.operand_error, "https://github.com/acme/gitops.git", True),
        (grammar.operand_error, "--upload-pack=x", False),
    ],
)
def test_single_value_grammars(check: object, value: str, ok: bool) -> None:
    assert callable(check)
    assert (check(value) == "") is ok, check(value)


# -- the git wrapper: a value is an operand even when nothing checked it --------
@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return clone(tmp_path, make_remote(tmp_path, gitops_files()), "checkout")


HOSTILE_REVS = ["--output={m}", "--upload-pack=touch {m};git-upload-pack", "-c"]


@pytest.mark.parametrize("template", HOSTILE_REVS)
def test_git_revision_arguments_are_never_options(
    checkout: Path, tmp_path: Path, template: str
) -> None:
    marker = tmp_path / "marker"
    rev = template.format(m=marker)
    repo = Git(checkout)
    head = repo.rev_parse("HEAD")
    assert not repo.has_commit(rev)
    assert repo.merge_base(rev, head) is None
    for call in (
        lambda: repo.rev_parse(rev),
        lambda: repo.changed_files(rev, head),
        lambda: repo.files_in_commit(rev),
        lambda: repo.commit_date(rev),
    ):
        with pytest.raises(ProcessFailed):  # git: bad revision, not an option
            call()
    assert not marker.exists()


def test_fetch_and_push_refuse_a_branch_that_is_an_option(checkout: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    branch = f"--upload-pack=touch {marker};git-upload-pack"
    repo = Git(checkout)
    with pytest.raises(ConfigError, match="must not start with '-'"):
        repo.fetch_branch("origin", branch)
    with pytest.raises(ConfigError):
        commit_and_push(repo, lambda: [], "m", branch=branch)
    assert not marker.exists()


@pytest.mark.parametrize(
    "commit", ["--upload-pack=touch {m};git-upload-pack", "-c core.sshCommand=touch {m}", "HEAD"]
)
def test_deploy_tag_takes_only_a_sha_from_the_ledger(
    checkout: Path, tmp_path: Path, commit: str
) -> None:
    marker = tmp_path / "marker"
    with pytest.raises(ConfigError, match="git-commit"):
        create_deploy_tag(
            Git(checkout), "prod", "api", commit.format(m=marker), "deploy", push=True
        )
    assert not marker.exists()
    assert git(checkout, "tag", "--list") == ""
