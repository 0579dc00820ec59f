"""The rendered rollback.yml of two services under act: per service, in every overlay of
the environment, never the other service, and a version with `all` refused up front."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci_actions.render import render
from tests.support.act import Consumer, git
from tests.support.cli import invoke
from tests.support.fake_service import FakeService
from tests.support.gitops import clone, gitops_files, make_remote, show
from tests.support.two_services import ENVS, IMAGES, options

pytestmark = pytest.mark.act

# (last healthy, running now) per service: the same in dev and prod
TAGS = {"api": ("1.0.0", "1.1.0"), "worker": ("2.0.0", "2.1.0")}


@dataclass
class Setup:
    consumer: Consumer
    gitops: Path
    tmp: Path
    healthy: dict[tuple[str, str], str]  # (service, environment) -> id of the last healthy entry

    def dispatch(self, service: str, environment: str, version: str = "") -> tuple[int, str]:
        services = {name: FakeService(version=TAGS[name][0]) for name in IMAGES}
        with services["api"], services["worker"]:  # each a started server
            urls = {(name, env): s.url() for name, s in services.items() for env in ENVS}
            workflow = render("rollback", options(self.gitops, urls, probe_timeout="20s"))
            payload = {
                "inputs": {
                    "service": service,
                    "environment": environment,
                    "version": version,
                    "reason": "drill",
                }
            }
            run = self.consumer.run(workflow, event="workflow_dispatch", payload=payload)
        return run.returncode, run.log

    def overlay(self, environment: str) -> dict[str, dict[str, str]]:
        path = clone(self.tmp, self.gitops, f"check-{len(list(self.tmp.iterdir()))}")
        text = (path / f"overlays/{environment}/kustomization.yaml").read_text()
        return {i["name"]: i for i in yaml.safe_load(text)["images"]}

    def ledger(self, service: str, environment: str) -> list[dict[str, Any]]:
        text = show(self.gitops, f".ci-ledger/{environment}/{service}.jsonl")
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def _ledger(tmp: Path, gitops: Path, *args: str) -> str:
    done = invoke(tmp, "release-ledger", [*args, "--repository", str(gitops)])
    assert done.code == 0, done.log
    return done.outputs["id"]


@pytest.fixture
def setup(consumer: Consumer, tmp_path: Path) -> Iterator[Setup]:
    """Each service ran a healthy version, then the one running now (not yet judged), in
    dev and prod; the overlays set what runs now."""
    gitops = make_remote(tmp_path, gitops_files(ENVS))
    seed, healthy = tmp_path / "seed-runs", {}
    for env in ENVS:
        for name, image in IMAGES.items():
            for tag in TAGS[name]:
                entry = _ledger(
                    seed, gitops, "--command", "record", "--service", name,
                    "--environment", env, "--image", f"{image}:{tag}", "--status", "deployed",
                )  # fmt: skip
                if tag == TAGS[name][0]:
                    _ledger(
                        seed,
                        gitops,
                        "--command",
                        "set-status",
                        "--id",
                        entry,
                        "--status",
                        "healthy",
                    )
                    healthy[name, env] = entry
    work = clone(tmp_path, gitops, "set-now")
    for env in ENVS:
        path = work / f"overlays/{env}/kustomization.yaml"
        text = path.read_text().replace('"1.0.0"  # set by CI', '"1.1.0"  # set by CI')
        path.write_text(text.replace('newTag: "1.0.0"', 'newTag: "2.1.0"'))
    git(work, "commit", "-qam", "what runs now")
    git(work, "push", "-q", "origin", "HEAD:main")
    consumer.commit({"README.md": "two services\n"})
    yield Setup(consumer, gitops, tmp_path, healthy)


def test_all_rolls_back_each_service_in_the_environment_and_nothing_else(setup: Setup) -> None:
    prod_before = {name: setup.ledger(name, "prod") for name in IMAGES}
    code, log = setup.dispatch("all", "dev")
    assert code == 0, log[-6000:]
    assert setup.overlay("dev") == {
        IMAGES["api"]: {"name": IMAGES["api"], "newTag": "1.0.0"},
        IMAGES["worker"]: {"name": IMAGES["worker"], "newTag": "2.0.0"},
    }
    assert setup.overlay("prod") == {
        IMAGES["api"]: {"name": IMAGES["api"], "newTag": "1.1.0"},
        IMAGES["worker"]: {"name": IMAGES["worker"], "newTag": "2.1.0"},
    }
    for name in IMAGES:
        restored = [
            e for e in setup.ledger(name, "dev") if e.get("metadata", {}).get("rollback-of")
        ]
        assert len(restored) == 1, name
        assert restored[0]["service"] == name and restored[0]["tag"] == TAGS[name][0]
        assert restored[0]["metadata"]["restored-from"] == setup.healthy[name, "dev"]
        statuses = [
            e["status"] for e in setup.ledger(name, "dev") if e.get("id") == restored[0]["id"]
        ]
        assert statuses[-1] == "healthy", name  # probed: the version the service reports
        assert setup.ledger(name, "prod") == prod_before[name]


def test_one_service_leaves_the_other_alone(setup: Setup) -> None:
    worker_before = setup.ledger("worker", "prod")
    code, log = setup.dispatch("api", "prod")
    assert code == 0, log[-6000:]
    assert setup.overlay("prod")[IMAGES["api"]]["newTag"] == "1.0.0"
    assert setup.overlay("prod")[IMAGES["worker"]]["newTag"] == "2.1.0"
    assert setup.overlay("dev")[IMAGES["api"]]["newTag"] == "1.1.0"
    assert setup.ledger("worker", "prod") == worker_before
    assert "roll back worker" not in log


def test_a_version_with_all_is_refused_before_anything_runs(setup: Setup) -> None:
    head = git(setup.gitops, "rev-parse", "main")
    code, log = setup.dispatch("all", "dev", version="1.0.0")
    assert code != 0
    assert "input 'version' names one service's image tag" in log
    assert git(setup.gitops, "rev-parse", "main") == head


def test_a_version_for_one_service_is_set_recorded_and_probed(setup: Setup) -> None:
    api_before = setup.ledger("api", "dev")
    code, log = setup.dispatch("worker", "dev", version="2.0.0")
    assert code == 0, log[-6000:]
    overlay = setup.overlay("dev")
    assert overlay[IMAGES["worker"]]["newTag"] == "2.0.0"
    assert overlay[IMAGES["api"]]["newTag"] == "1.1.0"
    worker = setup.ledger("worker", "dev")
    entry = [e for e in worker if e["type"] == "entry"][-1]  # the newest: recorded by the run
    assert (entry["service"], entry["image"], entry["tag"]) == ("worker", IMAGES["worker"], "2.0.0")
    assert [e["status"] for e in worker if e.get("id") == entry["id"]][-1] == "healthy"
    assert setup.ledger("api", "dev") == api_before
