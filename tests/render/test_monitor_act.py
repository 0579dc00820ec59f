"""The rendered monitor.yml of two services under act: each service probed in each
environment against its own ledger entry; one incident issue (on the fake GitHub API)
per unhealthy service and target, closed when it is healthy again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from ci_actions.render import render
from tests.support.act import Consumer
from tests.support.cli import invoke
from tests.support.fake_github import FakeGitHub
from tests.support.fake_service import FakeService
from tests.support.gitops import gitops_files, make_remote
from tests.support.two_services import ENVS, IMAGES, options

pytestmark = pytest.mark.act

REPO = "acme/shop"
DEPLOYED = {"api": "1.1.0", "worker": "2.1.0"}  # what the ledger says, in dev and prod
# what runs: the worker in prod still reports the version before
RUNNING = {
    ("api", "dev"): "1.1.0",
    ("api", "prod"): "1.1.0",
    ("worker", "dev"): "2.1.0",
    ("worker", "prod"): "2.0.0",
}


@pytest.fixture
def services() -> Iterator[dict[tuple[str, str], FakeService]]:
    with ExitStack() as stack:
        yield {key: stack.enter_context(FakeService(version=v)) for key, v in RUNNING.items()}


def test_each_service_is_probed_against_its_own_ledger_entry(
    consumer: Consumer, tmp_path: Path, services: dict[tuple[str, str], FakeService]
) -> None:
    gitops = make_remote(tmp_path, gitops_files(ENVS))
    for env in ENVS:
        for name, image in IMAGES.items():
            done = invoke(
                tmp_path / "seed-runs", "release-ledger",
                ["--command", "record", "--service", name, "--environment", env,
                 "--image", f"{image}:{DEPLOYED[name]}", "--status", "deployed",
                 "--repository", str(gitops)],
            )  # fmt: skip
            assert done.code == 0, done.log
    consumer.commit({"README.md": "two services\n"})
    workflow = render("monitor", options(gitops, {k: s.url() for k, s in services.items()}))
    # the version mismatch fails fast enough for a test (the rendered probe waits 1m)
    assert "timeout: 1m\n" in workflow
    workflow = workflow.replace("timeout: 1m\n", "timeout: 5s\n")

    with FakeGitHub(token="s3cret") as github:
        github.add_repo(REPO)
        # act overrides a job's GITHUB_API_URL, but not one given with --env
        env = {"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": github.url}
        secrets = {"GITHUB_TOKEN": "s3cret"}

        run = consumer.run(workflow, event="workflow_dispatch", env=env, secrets=secrets)
        assert run.returncode != 0, run.log[-6000:]
        assert [(i["title"], i["state"]) for i in github.issues(REPO)] == [
            ("worker prod is unhealthy", "open")
        ], run.log[-6000:]

        services["worker", "prod"].version = DEPLOYED["worker"]  # rolled out at last
        run = consumer.run(workflow, event="workflow_dispatch", env=env, secrets=secrets)
        assert run.returncode == 0, run.log[-6000:]
        assert [(i["title"], i["state"]) for i in github.issues(REPO)] == [
            ("worker prod is unhealthy", "closed")
        ]
