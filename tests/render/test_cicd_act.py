"""The rendered cicd.yml of several services under act (self-hosted): the build jobs of
the services a change touches fan in to ONE GitOps commit per environment, each built
service is recorded and probed in its own verify leg, and a service the change left alone
is neither built, nor set, nor recorded.

Everything after `changes` runs as rendered, against a real docker-registry, buildah, a
bare GitOps remote and services answering /health; only the repository-wide `test` and
`security` jobs are stubbed (their steps run the project's tests and scanners, covered by
their own act tests) so that the run stays within a minute.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci_actions.render import DeclaredService, Environment, Options, Target, render
from ci_actions.services.dump import dump
from ci_actions.services.model import Service, ServiceEnvironment
from tests.support.act import ActRun, Consumer, git
from tests.support.cli import invoke
from tests.support.fake_service import FakeService
from tests.support.gitops import DEPLOYMENT, gitops_files, make_remote, show
from tests.support.registry import Registry
from tests.support.tools import needs

pytestmark = [pytest.mark.act, needs("buildah", "docker-registry")]

SERVICES = ("api", "worker", "cron")
DOCKERFILE = 'FROM scratch\nARG VERSION\nLABEL version="${VERSION}"\nCOPY . /srv\n'


@dataclass
class Pipeline:
    consumer: Consumer
    gitops: Path
    registry: Registry
    fakes: dict[str, FakeService]

    def image(self, name: str) -> str:
        return f"{self.registry.host}/team/{name}"

    def push(
        self, files: dict[str, str], message: str, broken: str = "", **options: Any
    ) -> tuple[str, ActRun]:
        """Commit `files` and run cicd.yml on the push; every service reports the version
        a build of this commit gets (the built ones are probed, the others not at all),
        except `broken`, which keeps reporting the old one."""
        before = git(self.consumer.path, "rev-parse", "HEAD")
        head = self.consumer.commit(files, message)
        for name, fake in self.fakes.items():
            fake.version = f"sha-{head[:7]}" if name != broken else "1.0.0"
        workflow = _stubbed(render("cicd", dataclasses.replace(self.options(), **options)))
        payload = {"ref": "refs/heads/main", "before": before, "after": head}
        return head, self.consumer.run(workflow, payload=payload)

    def options(self) -> Options:
        return Options(
            service="api",
            image="team/api",
            registry=self.registry.host,
            insecure_registry=True,
            environments=(Environment("dev", (Target("dev", "overlays/dev"),)),),
            declared_services=tuple(
                DeclaredService(
                    name,
                    self.image(name),
                    f"services/{name}",
                    f"services/{name}/Dockerfile",
                    settings=(ServiceEnvironment("dev", (), self.fakes[name].url()),),
                )
                for name in SERVICES
            ),
            gitops_repo=str(self.gitops),
            actions_repo="ci-actions/ci-actions",
            actions_ref="v1",
            tag_pin=True,
            setup_python=False,
            upload_sarif=False,
            probe_timeout="20s",
        )

    def overlay_commits(self, since: str) -> list[str]:
        """The GitOps commits after `since` that changed an overlay (not the ledger)."""
        out = git(self.gitops, "log", "--format=%H", f"{since}..main", "--", "overlays")
        return out.split()

    def overlay(self, commit: str = "main") -> dict[str, dict[str, str]]:
        text = show(self.gitops, "overlays/dev/kustomization.yaml", commit)
        return {i["name"]: i for i in yaml.safe_load(text)["images"]}

    def ledger(self, name: str) -> list[dict[str, Any]]:
        try:
            text = show(self.gitops, f".ci-ledger/dev/{name}.jsonl")
        except subprocess.CalledProcessError:  # no entry of this service yet
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def _stubbed(text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(text)
    data["on"] = data.pop(True)
    jobs = data["jobs"]
    jobs["test"] = {
        "runs-on": jobs["test"]["runs-on"],
        "needs": "changes",
        "steps": [{"run": "true"}],
    }
    jobs["security"] = {
        "runs-on": jobs["security"]["runs-on"],
        "needs": "changes",
        "outputs": {"scan": "${{ steps.gate.outputs.scan }}"},
        "steps": [{"id": "gate", "run": "true"}],
    }
    return data


def _gitops(host: str) -> dict[str, str]:
    """The api and worker of tests.support.gitops, and a cron job beside them."""
    files = gitops_files(("dev",))
    files["base/cron.yaml"] = DEPLOYMENT.format(name="cron", image=f"{host}/team/cron:0.1.0")
    files["base/kustomization.yaml"] += "  - cron.yaml\n"
    files["overlays/dev/kustomization.yaml"] += (
        '  - name: registry.local:5000/team/cron\n    newTag: "1.0.0"\n'
    )
    return {rel: text.replace("registry.local:5000", host) for rel, text in files.items()}


@pytest.fixture
def pipeline(consumer: Consumer, registry: Registry, tmp_path: Path) -> Iterator[Pipeline]:
    gitops = make_remote(tmp_path, _gitops(registry.host))
    declared = [
        Service(
            name,
            f"services/{name}",
            f"services/{name}/Dockerfile",
            f"{registry.host}/team/{name}",
            (f"services/{name}/**",),
        )
        for name in SERVICES
    ]
    consumer.commit(
        {
            **{f"services/{name}/Dockerfile": DOCKERFILE for name in SERVICES},
            **{f"services/{name}/app.txt": f"{name} 1\n" for name in SERVICES},
            # what `changes` reads (init writes it beside the workflows)
            ".github/ci-actions.yml": dump(declared),
        },
        "three services",
    )
    fakes = {name: FakeService() for name in SERVICES}
    with fakes["api"], fakes["worker"], fakes["cron"]:
        yield Pipeline(consumer, gitops, registry, fakes)


def test_built_services_fan_in_to_one_gitops_commit(pipeline: Pipeline) -> None:
    start = git(pipeline.gitops, "rev-parse", "main")
    cron_image = pipeline.overlay()[pipeline.image("cron")]
    # api and worker change: both are built, ONE commit sets both images in dev
    head, run = pipeline.push(
        {f"services/{name}/app.txt": f"{name} 2\n" for name in ("api", "worker")}, "two"
    )
    assert run.returncode == 0, run.log[-8000:]
    tag = f"sha-{head[:7]}"
    [commit] = pipeline.overlay_commits(start)
    overlay = pipeline.overlay(commit)
    for name in ("api", "worker"):
        digest = run.outputs("build", f"image-{name}")["digest"]
        assert digest == pipeline.registry.digest(f"team/{name}", tag)
        assert overlay[pipeline.image(name)]["newTag"] == tag
        assert overlay[pipeline.image(name)]["digest"] == digest
        [entry] = [e for e in pipeline.ledger(name) if e.get("tag") == tag]
        assert entry["service"] == name and entry["digest"] == digest
        statuses = [e["status"] for e in pipeline.ledger(name) if e.get("id") == entry["id"]]
        assert statuses[-1] == "healthy", name
    # cron: not built, its image in the overlay as it was, its verify leg did nothing
    assert "[cicd/image (cron)" not in run.log
    assert pipeline.registry.tags("team/cron") == []
    assert overlay[pipeline.image("cron")] == cron_image
    assert pipeline.ledger("cron") == []


def _ledger(pipeline: Pipeline, tmp: Path, command: str, *args: str) -> str:
    done = invoke(
        tmp / "seed",
        "release-ledger",
        ["--command", command, *args, "--repository", str(pipeline.gitops)],
    )
    assert done.code == 0, done.log
    return done.outputs["id"]


def test_policy_all_rolls_back_every_built_service_when_one_fails(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """--rollback-policy all: the worker fails its probe, so the api (healthy) and the worker
    both go back to their last good version; cron, not built, is left alone."""
    for name in ("api", "worker"):  # the version each ran healthy before (the overlay's)
        entry = _ledger(
            pipeline, tmp_path, "record", "--service", name, "--environment", "dev",
            "--image", f"{pipeline.image(name)}:1.0.0", "--status", "deployed",
        )  # fmt: skip
        _ledger(pipeline, tmp_path, "set-status", "--id", entry, "--status", "healthy")
    cron_image = pipeline.overlay()[pipeline.image("cron")]
    head, run = pipeline.push(
        {f"services/{name}/app.txt": f"{name} 2\n" for name in ("api", "worker")},
        "two, the worker broken",
        broken="worker",
        rollback_policy="all",
        probe_timeout="6s",
    )
    assert run.returncode != 0  # the worker failed its probe: the run is red
    overlay = pipeline.overlay()
    for name in ("api", "worker"):
        assert overlay[pipeline.image(name)]["newTag"] == "1.0.0", (name, run.log[-6000:])
        ledger = pipeline.ledger(name)
        [new] = [e for e in ledger if e.get("tag") == f"sha-{head[:7]}"]
        statuses = [e["status"] for e in ledger if e.get("id") == new["id"]]
        assert statuses[-1] == "rolled-back", (name, statuses)
        assert ("healthy" in statuses) is (name == "api")  # the api passed its own probe
        assert [e for e in ledger if e.get("metadata", {}).get("rollback-of") == new["id"]]
    assert overlay[pipeline.image("cron")] == cron_image
    assert pipeline.ledger("cron") == []
