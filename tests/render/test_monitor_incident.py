"""The incident step of the rendered monitor.yml, run as the runner runs it
(`shell: python`), against the fake GitHub REST API on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from ci_actions.render import render
from tests.render.cases import CASES
from tests.support.fake_github import FakeGitHub
from tests.support.tools import HANG_GUARD

REPO = "acme/blocklist"


@pytest.fixture(scope="module")
def script() -> str:
    data = yaml.safe_load(render("monitor", CASES["self-hosted-demo"]))
    (step,) = [s for s in data["jobs"]["probe"]["steps"] if s.get("shell") == "python"]
    assert set(step["env"]) == {"GITHUB_TOKEN", "HEALTHY", "REASON", "TARGET", "SERVICE", "RUN_URL"}
    return str(step["run"])


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token="s3cret") as gh:
        gh.add_repo(REPO)
        yield gh


def step(
    script: str, gh: FakeGitHub, healthy: bool, target: str = "dev", token: str = "s3cret"
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_API_URL": gh.url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": token,
        "HEALTHY": "true" if healthy else "false",
        "REASON": "" if healthy else "http-check-failed",
        "TARGET": target,
        "SERVICE": "blocklist",
        "RUN_URL": "https://github.com/acme/blocklist/actions/runs/7",
    }
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=HANG_GUARD
    )


def test_one_issue_per_unhealthy_target_closed_when_healthy(
    script: str, github: FakeGitHub
) -> None:
    assert (
        step(script, github, healthy=True).returncode == 0
    )  # healthy, nothing open: nothing to do
    assert github.issues(REPO) == []

    first = step(script, github, healthy=False)
    assert first.returncode == 1 and "opened #" in first.stdout
    (issue,) = github.issues(REPO)
    assert issue["title"] == "blocklist dev is unhealthy" and issue["state"] == "open"
    assert "http-check-failed" in issue["body"] and "runs/7" in issue["body"]

    again = step(script, github, healthy=False)
    assert again.returncode == 1 and f"commented on #{issue['number']}" in again.stdout
    assert len(github.issues(REPO)) == 1
    other = step(script, github, healthy=False, target="prod")  # another target: its own issue
    assert other.returncode == 1 and len(github.issues(REPO)) == 2

    healed = step(script, github, healthy=True)
    assert healed.returncode == 0 and f"closed #{issue['number']}" in healed.stdout
    states = {i["title"]: i["state"] for i in github.issues(REPO)}
    assert states == {"blocklist dev is unhealthy": "closed", "blocklist prod is unhealthy": "open"}
    bodies = [c["body"] for c in github.comments(REPO, issue["number"])]
    assert bodies[0].startswith("The health probe failed") and bodies[-1].startswith(
        "Healthy again"
    )

    # unhealthy again later: a new issue, the closed one stays closed
    assert step(script, github, healthy=False).returncode == 1
    assert sum(i["state"] == "open" and "dev" in i["title"] for i in github.issues(REPO)) == 1


def test_an_api_error_fails_the_step(script: str, github: FakeGitHub) -> None:
    done = step(script, github, healthy=True, token="wrong")
    assert done.returncode != 0 and "401" in done.stderr


def test_the_incident_is_found_by_its_label_not_by_listing_every_issue(
    script: str, github: FakeGitHub
) -> None:
    repo = github.repos[REPO]
    for n in range(3):  # unrelated open issues, one with the same title but no label
        github._create_issue(repo, {"title": f"unrelated {n}", "body": ""})
    github._create_issue(repo, {"title": "blocklist dev is unhealthy", "body": "by hand"})
    first = step(script, github, healthy=False)
    assert first.returncode == 1 and "opened #" in first.stdout
    (ours,) = [i for i in github.issues(REPO) if i["labels"]]
    assert ours["labels"] == [{"name": "ci-actions-incident"}]
    assert step(script, github, healthy=False).returncode == 1  # commented on, not reopened
    assert len(github.comments(REPO, ours["number"])) == 1
    lists = [c for c in github.calls if c.method == "GET" and c.path.endswith("/issues")]
    assert lists and all(c.query.get("labels") == ["ci-actions-incident"] for c in lists)
    assert all(c.query.get("state") == ["open"] for c in lists)
