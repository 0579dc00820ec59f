"""pull-request mode: a stable bot branch per target and one pull request, via a fake GitHub API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.support.act import git
from tests.support.cli import invoke
from tests.support.fake_github import FakeGitHub
from tests.support.gitops import OVERLAY, gitops_files, make_remote, show

API = "registry.local:5000/team/api"
TOKEN = "ghs_faketoken"


@pytest.fixture
def github(tmp_path: Path) -> tuple[FakeGitHub, Path]:
    remote = make_remote(tmp_path, gitops_files())
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_repo("acme/gitops", remote=remote)
        yield fake, remote


def _bump(tmp: Path, fake: FakeGitHub, remote: Path, tag: str, token: str = TOKEN):  # type: ignore[no-untyped-def]
    return invoke(
        tmp / "out",
        "kustomize-bump",
        [
            "--repository",
            f"file://{remote}",
            "--paths",
            "overlays/prod",
            "--images",
            f"{API}:{tag}",
            "--mode",
            "pull-request",
            "--token",
            token,
        ],
        cwd=tmp,
        env={"GITHUB_API_URL": fake.url, "RUNNER_TEMP": str(tmp / "rt")},
    )


def test_opens_then_updates_one_pull_request(
    tmp_path: Path, github: tuple[FakeGitHub, Path]
) -> None:
    fake, remote = github
    run = _bump(tmp_path, fake, remote, "1.1.0")
    assert run.code == 0, run.log
    branch = "ci-actions/bump/prod/api"
    assert show(remote, "overlays/prod/kustomization.yaml", branch) == OVERLAY.format(
        env="prod"
    ).replace('"1.0.0"  # set', '"1.1.0"  # set')
    assert show(remote, "overlays/prod/kustomization.yaml") == OVERLAY.format(env="prod")
    [pull] = fake.pulls("acme/gitops")
    assert run.outputs["pull-request-url"] == pull["html_url"]
    assert (pull["head"]["ref"], pull["base"]["ref"]) == (branch, "main")
    assert pull["title"] == f"prod: set {API} to 1.1.0"
    assert f"{API}: {API}:1.0.0 -> {API}:1.1.0" in pull["body"]
    assert run.outputs["commit-sha"] == git(remote, "rev-parse", branch)
    assert json.loads(run.outputs["previous-images"]) == {API: f"{API}:1.0.0"}

    # a newer build: the same branch is force-updated from main, the same PR retitled
    run = _bump(tmp_path, fake, remote, "1.2.0")
    assert run.code == 0, run.log
    [pull] = fake.pulls("acme/gitops")
    assert pull["title"] == f"prod: set {API} to 1.2.0"
    assert run.outputs["pull-request-url"] == pull["html_url"]
    assert git(remote, "rev-list", "--count", branch) == "2"  # seed + one bump, not stacked
    assert git(remote, "rev-parse", f"{branch}^") == git(remote, "rev-parse", "main")
    methods = [(c.method, c.path.rsplit("/", 1)[-1], c.status) for c in fake.calls]
    assert methods == [
        ("GET", "pulls", 200),
        ("POST", "pulls", 201),
        ("GET", "pulls", 200),
        ("PATCH", "1", 200),
    ]


def test_nothing_to_change_opens_nothing(tmp_path: Path, github: tuple[FakeGitHub, Path]) -> None:
    fake, remote = github
    run = _bump(tmp_path, fake, remote, "1.0.0")
    assert run.code == 0, run.log
    assert run.outputs["changed"] == "false"
    assert fake.pulls("acme/gitops") == []
    assert git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads") == "main"


def test_bad_token_is_exit_3(tmp_path: Path, github: tuple[FakeGitHub, Path]) -> None:
    fake, remote = github
    run = _bump(tmp_path, fake, remote, "1.1.0", token="wrong")
    assert run.code == 3, run.log
    assert "HTTP 401 Bad credentials" in run.log


def test_fake_refuses_a_second_open_pull_for_the_same_head(github: tuple[FakeGitHub, Path]) -> None:
    fake, remote = github
    git(remote, "branch", "topic", "main")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{fake.url}/repos/acme/gitops/pulls"
    body = {"title": "t", "head": "topic", "base": "main"}
    assert requests.post(url, json=body, headers=headers, timeout=5).status_code == 201
    second = requests.post(url, json=body, headers=headers, timeout=5)
    assert second.status_code == 422
    assert "already exists" in second.json()["errors"][0]["message"]
    missing = requests.post(url, json={**body, "head": "nope"}, headers=headers, timeout=5)
    assert missing.status_code == 422
    issues = requests.get(f"{fake.url}/repos/acme/gitops/issues", headers=headers, timeout=5).json()
    assert [i["number"] for i in issues] == [1] and "pull_request" in issues[0]
    new = requests.post(
        f"{fake.url}/repos/acme/gitops/issues",
        json={"title": "deploy failed", "labels": ["incident"]},
        headers=headers,
        timeout=5,
    ).json()
    assert new["number"] == 2
    comment = requests.post(
        f"{fake.url}/repos/acme/gitops/issues/2/comments",
        json={"body": "again"},
        headers=headers,
        timeout=5,
    )
    assert comment.status_code == 201
    labelled = requests.get(
        f"{fake.url}/repos/acme/gitops/issues",
        params={"labels": "incident"},
        headers=headers,
        timeout=5,
    ).json()
    assert [(i["number"], i["comments"]) for i in labelled] == [(2, 1)]
    closed = requests.patch(
        f"{fake.url}/repos/acme/gitops/issues/2",
        json={"state": "closed"},
        headers=headers,
        timeout=5,
    ).json()
    assert closed["state"] == "closed"
    assert (
        requests.get(f"{fake.url}/repos/acme/nope", headers=headers, timeout=5).status_code == 404
    )
    assert requests.get(f"{fake.url}/repos/acme/gitops", timeout=5).status_code == 401


@pytest.mark.parametrize(
    "bot_branch",
    ["ci-actions/bump/prod/api", "bot/prod+canary/api&x=1"],  # `+` and `&` must survive one decode
)
def test_an_existing_bot_pull_request_is_found_and_updated(
    tmp_path: Path, github: tuple[FakeGitHub, Path], bot_branch: str
) -> None:
    """The lookup query is encoded once: GitHub (and the fake) see `owner:branch` as is."""
    fake, remote = github
    git(remote, "branch", bot_branch, "main")  # the bot branch as an earlier run left it
    opened = requests.post(
        f"{fake.url}/repos/acme/gitops/pulls",
        json={"title": "an earlier bump", "head": bot_branch, "base": "main"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()
    fake.calls.clear()
    run = invoke(
        tmp_path / "out",
        "kustomize-bump",
        [
            f"--repository=file://{remote}",
            "--paths=overlays/prod",
            f"--images={API}:1.1.0",
            "--mode=pull-request",
            f"--pull-request-branch={bot_branch}",
            f"--token={TOKEN}",
        ],
        cwd=tmp_path,
        env={"GITHUB_API_URL": fake.url, "RUNNER_TEMP": str(tmp_path / "rt")},
    )
    assert run.code == 0, run.log
    [lookup] = [c for c in fake.calls if c.method == "GET"]
    assert lookup.query["head"] == [f"acme:{bot_branch}"]
    assert lookup.query["base"] == ["main"]
    assert [(c.method, c.status) for c in fake.calls] == [("GET", 200), ("PATCH", 200)]
    [pull] = fake.pulls("acme/gitops")  # no second pull request
    assert pull["number"] == opened["number"]
    assert pull["title"] == f"prod: set {API} to 1.1.0"
    assert run.outputs["pull-request-url"] == opened["html_url"]
