"""The authenticating git server of tests/support: refuses what GitHub refuses, serves the rest."""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_actions.git import token_env
from tests.support.act import git
from tests.support.git_http import GitHttpServer, basic
from tests.support.gitops import make_remote

TOKEN = "ghs_test-token-1"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[GitHttpServer, Path]]:
    root = tmp_path / "remotes"
    bare = make_remote(root, {"app.py": "print(1)\n"}, name="app.git")
    with GitHttpServer(root, TOKEN) as server:
        yield server, bare


def _git(cwd: Path, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        **(token_env(token) if token is not None else {}),
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_right_token_clones_and_pushes_a_tag(
    served: tuple[GitHttpServer, Path], tmp_path: Path
) -> None:
    server, bare = served
    work = tmp_path / "work"
    done = _git(tmp_path, "clone", "-q", server.url_for("app.git"), str(work), token=TOKEN)
    assert done.returncode == 0, done.stderr
    git(work, "tag", "v1")
    done = _git(work, "push", "-q", "origin", "refs/tags/v1", token=TOKEN)
    assert done.returncode == 0, done.stderr
    assert git(bare, "tag", "-l") == "v1"
    assert server.refused() == []
    assert any(r.is_push and r.status == 200 for r in server.requests)


@pytest.mark.parametrize("token", [None, "", "wrong-token"], ids=["no-header", "empty", "wrong"])
def test_a_push_without_the_token_is_refused_with_401(
    served: tuple[GitHttpServer, Path], tmp_path: Path, token: str | None
) -> None:
    server, bare = served
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))  # read it from disk
    git(work, "remote", "set-url", "origin", server.url_for("app.git"))
    git(work, "tag", "v1")
    done = _git(work, "push", "-q", "origin", "refs/tags/v1", token=token)
    assert done.returncode != 0
    assert "Authentication failed" in done.stderr or "could not read Username" in done.stderr
    assert git(bare, "tag", "-l") == ""
    assert server.refused()


def test_a_fetch_without_the_token_is_refused_unless_reads_are_public(tmp_path: Path) -> None:
    root = tmp_path / "remotes"
    make_remote(root, {"app.py": "print(1)\n"}, name="app.git")
    with GitHttpServer(root, TOKEN) as private:
        done = _git(tmp_path, "clone", "-q", private.url_for("app.git"), str(tmp_path / "a"))
        assert done.returncode != 0 and private.refused(push=False)
    with GitHttpServer(root, TOKEN, anonymous_read=True) as public:
        done = _git(tmp_path, "clone", "-q", public.url_for("app.git"), str(tmp_path / "b"))
        assert done.returncode == 0, done.stderr
        git(tmp_path / "b", "tag", "v2")
        done = _git(tmp_path / "b", "push", "-q", "origin", "v2")
        assert done.returncode != 0 and public.refused(push=True)


@pytest.mark.parametrize(
    "header",
    [
        "",
        basic("wrong"),
        basic(TOKEN, user="someone"),
        "Bearer " + TOKEN,
        "Basic !!!not-base64",
    ],
)
def test_the_401_asks_for_basic_auth(served: tuple[GitHttpServer, Path], header: str) -> None:
    server, _ = served
    url = server.url_for("app.git/info/refs?service=git-receive-pack")
    request = urllib.request.Request(url, headers={"Authorization": header} if header else {})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Basic")


def test_the_scheme_is_case_insensitive_as_git_sends_it(
    served: tuple[GitHttpServer, Path],
) -> None:
    server, _ = served
    url = server.url_for("app.git/info/refs?service=git-receive-pack")
    header = "basic " + basic(TOKEN).split(" ", 1)[1]
    with urllib.request.urlopen(
        urllib.request.Request(url, headers={"Authorization": header}), timeout=10
    ) as resp:
        assert resp.status == 200
        assert "git-receive-pack-advertisement" in resp.headers["Content-Type"]


def test_a_pack_larger_than_git_post_buffer_is_streamed_and_lands(
    served: tuple[GitHttpServer, Path], tmp_path: Path
) -> None:
    """Above http.postBuffer (1 MiB) git sends the pack chunked: the server de-chunks it."""
    server, bare = served
    work = tmp_path / "work"
    done = _git(tmp_path, "clone", "-q", server.url_for("app.git"), str(work), token=TOKEN)
    assert done.returncode == 0, done.stderr
    (work / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # incompressible
    git(work, "add", "blob.bin")
    git(work, "commit", "-q", "-m", "big")
    done = _git(work, "push", "-q", "origin", "HEAD:main", token=TOKEN)
    assert done.returncode == 0, done.stderr
    assert git(bare, "rev-parse", "main") == git(work, "rev-parse", "HEAD")
