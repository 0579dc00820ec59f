"""release-ledger under act: a deployment fails its probe and is rolled back to the last good image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.act import Consumer
from tests.support.cli import invoke
from tests.support.gitops import clone, gitops_files, make_remote, show

pytestmark = pytest.mark.act

IMAGE = "registry.local:5000/team/api"
GOOD = "sha256:" + "1a" * 32
BAD = "sha256:" + "2b" * 32

WORKFLOW = """
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      GITOPS: {gitops}
    steps:
      - uses: actions/checkout@v4
      - id: record
        uses: ci-actions/ci-actions/actions/release-ledger@v1
        with:
          command: record
          service: api
          environment: prod
          image: {image}:1.1.0@{bad}
          scan: '{{"passed": true, "counts": {{"bandit": {{"low": 1}}}}}}'
          repository: ${{{{ env.GITOPS }}}}
      - id: bump
        uses: ci-actions/ci-actions/actions/kustomize-bump@v1
        with:
          paths: overlays/prod
          images: ${{{{ steps.record.outputs.image }}}}
          mode: commit
          repository: ${{{{ env.GITOPS }}}}
      - id: deployed
        uses: ci-actions/ci-actions/actions/release-ledger@v1
        with:
          command: set-status
          id: ${{{{ steps.record.outputs.id }}}}
          status: deployed
          block-if-vulnerable: true
          repository: ${{{{ env.GITOPS }}}}
      - id: probe
        name: health probe (fails)
        continue-on-error: true
        run: exit 1
      - id: failed
        if: steps.probe.outcome == 'failure'
        uses: ci-actions/ci-actions/actions/release-ledger@v1
        with:
          command: set-status
          id: ${{{{ steps.record.outputs.id }}}}
          status: failed
          reason: health probe failed
          repository: ${{{{ env.GITOPS }}}}
      - id: rollback
        if: steps.probe.outcome == 'failure'
        uses: ci-actions/ci-actions/actions/release-ledger@v1
        with:
          command: rollback
          service: api
          environment: prod
          paths: overlays/prod
          reason: health probe failed
          repository: ${{{{ env.GITOPS }}}}
      - id: list
        uses: ci-actions/ci-actions/actions/release-ledger@v1
        with:
          command: list
          service: api
          repository: ${{{{ env.GITOPS }}}}
      - id: stats
        uses: ci-actions/ci-actions/actions/release-ledger@v1
        with:
          command: stats
          repository: ${{{{ env.GITOPS }}}}
"""


def test_failed_deployment_is_rolled_back_under_act(consumer: Consumer, tmp_path: Path) -> None:
    check_rollback(consumer, tmp_path)


@pytest.mark.xdist_group("container-engine")
def test_failed_deployment_is_rolled_back_in_a_job_container(
    container_consumer: Consumer, tmp_path: Path
) -> None:
    """The GitOps bare remote is a host folder mounted into the job: kustomize-bump and the
    ledger push to it from the container."""
    check_rollback(container_consumer, tmp_path)


def check_rollback(consumer: Consumer, tmp_path: Path) -> None:
    gitops = make_remote(tmp_path, gitops_files())
    # The version that ran before, recorded and judged healthy by an earlier pipeline.
    seed = tmp_path / "seed-runs"
    good = invoke(
        seed,
        "release-ledger",
        [
            "--command",
            "record",
            "--service",
            "api",
            "--environment",
            "prod",
            "--image",
            f"{IMAGE}:1.0.0@{GOOD}",
            "--status",
            "deployed",
            "--repository",
            str(gitops),
        ],
    )
    assert good.code == 0, good.log
    healthy = invoke(
        seed,
        "release-ledger",
        [
            "--command",
            "set-status",
            "--id",
            good.outputs["id"],
            "--status",
            "healthy",
            "--repository",
            str(gitops),
        ],
    )
    assert healthy.code == 0, healthy.log
    consumer.commit({"app.py": "print('v1.1.0')\n"}, "release 1.1.0")

    run = consumer.run(WORKFLOW.format(gitops=gitops, image=IMAGE, bad=BAD), mounts=[gitops])
    assert run.returncode == 0, run.log[-6000:]
    assert run.outcome("probe") == "failure"
    bad_id = run.outputs("record")["id"]
    assert run.outputs("bump")["changed"] == "true"
    assert run.outputs("deployed")["id"] == bad_id

    restored = run.outputs("rollback")
    assert restored["image"] == f"{IMAGE}:1.0.0@{GOOD}"
    assert restored["id"] not in (bad_id, good.outputs["id"])
    overlay = clone(tmp_path, gitops, "check") / "overlays/prod/kustomization.yaml"
    text = overlay.read_text()
    assert f"digest: {GOOD}" in text and BAD not in text and '"1.0.0"' in text

    history = json.loads(run.outputs("list")["history"])
    assert [(h["id"], h["status"]) for h in history] == [
        (restored["id"], "deployed"),
        (bad_id, "rolled-back"),
        (good.outputs["id"], "healthy"),
    ]
    assert history[1]["reason"] == "health probe failed"
    assert history[0]["metadata"]["rollback-of"] == bad_id
    stats = run.outputs("stats")
    assert stats["success-rate"] == "50.0"
    (api,) = json.loads(stats["stats"])
    assert (api["deployments"], api["succeeded"], api["failed"], api["pending"]) == (3, 1, 1, 1)
    ledger_text = show(gitops, ".ci-ledger/prod/api.jsonl")
    assert len(ledger_text.splitlines()) == 7  # 3 entries, 4 status changes: nothing rewritten
