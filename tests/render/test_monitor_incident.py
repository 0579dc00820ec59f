"""The incident step of the rendered monitor.yml, run as the runner runs it
(`shell: python`), against the fake GitHub REST API on 127.0.0.1; with several
services, what each matrix leg probes and which incident it keeps."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
    script: str,
    gh: FakeGitHub,
    healthy: bool,
    target: str = "dev",
    token: str = "s3cret",
    service: str = "blocklist",
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_API_URL": gh.url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": token,
        "HEALTHY": "true" if healthy else "false",
        "REASON": "" if healthy else "http-check-failed",
        "TARGET": target,
        "SERVICE": service,
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


# --- several services: every service in every target, each leg its own incident ---

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _evaluate(value: str, matrix: dict[str, Any], history: str = "[]") -> str:
    """The `${{ }}` parts of a monitor value as GitHub fills them in for one matrix leg
    (the few forms the monitor uses: matrix fields, the ledger's history, &&, ||)."""

    def one(match: re.Match[str]) -> str:
        text = re.sub(r"matrix\.([\w-]+)", lambda m: repr(matrix[m.group(1)]), match.group(1))
        text = text.replace("steps.current.outputs.history", repr(history))
        text = text.replace(".tag", "['tag']").replace("&&", " and ").replace("||", " or ")
        result = eval(text, {"__builtins__": {}}, {"fromJSON": json.loads})
        return str(result)

    return EXPRESSION.sub(one, value)


@dataclass(frozen=True)
class Leg:
    """What one matrix leg of the rendered monitor does, its expressions filled in."""

    job: str
    name: str
    group: str
    service: str  # the ledger entry it reads
    environment: str
    url: str
    workloads: str
    namespace: str
    expected: str  # the version it expects when the ledger says 1.4.2 is deployed
    incident: dict[str, str]  # SERVICE and TARGET of the incident step


def _legs(case: str) -> list[Leg]:
    data = yaml.safe_load(render("monitor", CASES[case]))
    legs = []
    for job, body in data["jobs"].items():
        steps = {s.get("id", "incident"): s for s in body["steps"]}
        for matrix in body["strategy"]["matrix"]["include"]:
            history = json.dumps([{"tag": "1.4.2"}])
            probe = {
                k: _evaluate(str(v), matrix, history)
                for k, v in steps["probe"]["with"].items()
                if k in ("url", "workloads", "namespace", "expected-version")
            }
            ledger = steps["current"]["with"]
            env = steps["incident"]["env"]
            legs.append(
                Leg(
                    job,
                    _evaluate(body["name"], matrix),
                    _evaluate(body["concurrency"]["group"], matrix),
                    _evaluate(ledger["service"], matrix),
                    _evaluate(ledger["environment"], matrix),
                    probe["url"],
                    probe["workloads"],
                    probe["namespace"],
                    probe.get("expected-version", ""),
                    {k: _evaluate(env[k], matrix) for k in ("SERVICE", "TARGET")},
                )
            )
    return legs


def _leg(job: str, service: str, target: str, url: str, loads: str, ns: str, version: str) -> Leg:
    return Leg(
        job,
        f"probe {service} in {target}",
        f"monitor-{service}-{target}",
        service,
        target,
        url,
        loads,
        ns,
        version,
        {"SERVICE": service, "TARGET": target},
    )


# The services and targets of tests/render/cases.py, as their declarations say they are
# deployed and probed: one job per environment, a leg per service and target.
MONITORED = {
    "two-services": [
        _leg("probe-dev", "api", "dev", "http://127.0.0.1:8541/health", "", "", "1.4.2"),
        _leg("probe-dev", "collector", "dev", "http://127.0.0.1:8551/health", "", "", "1.4.2"),
        _leg("probe-prod", "api", "prod", "http://127.0.0.1:8542/health", "", "", "1.4.2"),
        _leg("probe-prod", "collector", "prod", "http://127.0.0.1:8552/health", "", "", "1.4.2"),
    ],
    # the worker's Dockerfile takes no ARG VERSION: its probe expects no version;
    # tenant prod-b's own entry names another workload
    "two-services-tenants-all": [
        _leg("probe-dev", "callbot", "dev", "http://callbot.dev.svc/health", "", "bots", "1.4.2"),
        _leg("probe-dev", "chat.worker", "dev", "", "deployment/chat-worker", "bots", ""),
        _leg("probe-prod", "callbot", "prod-a", "", "deployment/callbot", "bots-a", "1.4.2"),
        _leg("probe-prod", "callbot", "prod-b", "", "deployment/callbot", "bots-b", "1.4.2"),
        _leg("probe-prod", "chat.worker", "prod-a", "", "deployment/chat-worker", "bots-a", ""),
        _leg("probe-prod", "chat.worker", "prod-b", "", "deployment/chat-worker-b", "bots-b", ""),
    ],
}


@pytest.mark.parametrize("case", sorted(MONITORED))
def test_every_service_is_monitored_in_every_target(case: str) -> None:
    """Each service's own deployed version, URL and workloads, in each target; a leg reads
    its service's ledger entry, and its concurrency group and incident name both."""
    assert _legs(case) == MONITORED[case]
    data = yaml.safe_load(render("monitor", CASES[case]))
    assert "concurrency" not in data  # per leg: a slow target holds up no other


def test_one_service_keeps_one_job_and_one_group() -> None:
    data = yaml.safe_load(render("monitor", CASES["tenants-gitflow"]))
    assert list(data["jobs"]) == ["probe"]
    assert data["concurrency"]["group"] == "monitor-callbot"
    legs = data["jobs"]["probe"]["strategy"]["matrix"]["include"]
    assert [leg["target"] for leg in legs] == [
        "dev",
        "prod-tenant-a",
        "prod-tenant-b",
        "prod-tenant-c",
    ]
    assert "service" not in legs[0]


def test_each_service_and_target_has_its_own_incident(github: FakeGitHub) -> None:
    """The incident step of every leg of two services, its env as GitHub fills it in: four
    unhealthy legs open four issues; the collector healthy again in dev closes its own only."""
    data = yaml.safe_load(render("monitor", CASES["two-services"]))
    runs = []
    for body in data["jobs"].values():
        (incident,) = [s for s in body["steps"] if s.get("shell") == "python"]
        for matrix in body["strategy"]["matrix"]["include"]:
            env = {k: _evaluate(incident["env"][k], matrix) for k in ("SERVICE", "TARGET")}
            runs.append((str(incident["run"]), env))

    def run(script: str, env: dict[str, str], healthy: bool) -> subprocess.CompletedProcess[str]:
        return step(script, github, healthy, target=env["TARGET"], service=env["SERVICE"])

    assert all(run(script, env, healthy=False).returncode == 1 for script, env in runs)
    titles = sorted(i["title"] for i in github.issues(REPO))
    assert titles == [
        "api dev is unhealthy",
        "api prod is unhealthy",
        "collector dev is unhealthy",
        "collector prod is unhealthy",
    ]
    [(script, env)] = [r for r in runs if r[1] == {"SERVICE": "collector", "TARGET": "dev"}]
    assert run(script, env, healthy=True).returncode == 0
    closed = [i["title"] for i in github.issues(REPO) if i["state"] == "closed"]
    assert closed == ["collector dev is unhealthy"]
