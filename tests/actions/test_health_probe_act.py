"""health-probe under act: an HTTP check of a local service passes; a crash-looping
rollout on the fake cluster fails with diagnostics in the summary and is rolled back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.actions.test_health_probe import crash_looping_release, image_of
from tests.support.act import Consumer
from tests.support.fake_k8s import FakeCluster
from tests.support.fake_service import FakeService

pytestmark = pytest.mark.act

WORKFLOW = """
on: push
jobs:
  probe:
    runs-on: ubuntu-latest
    steps:
      - id: setup
        uses: ci-actions/ci-actions@v1
      - id: http
        uses: ci-actions/ci-actions/actions/health-probe@v1
        with:
          url: ${{ env.SERVICE_URL }}
          expected-version: 2.0.0
          timeout: 20s
      - id: rollout
        continue-on-error: true
        uses: ci-actions/ci-actions/actions/health-probe@v1
        with:
          workloads: deployment/web
          kubeconfig: ${{ secrets.KUBECONFIG }}
          rollout-timeout: 60s
          rollback: on-failure
      - id: summary
        if: always()
        run: cat "$GITHUB_STEP_SUMMARY"
"""


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster() as fake:
        yield fake


def test_probe_and_rollback_under_act(
    consumer: Consumer, cluster: FakeCluster, tmp_path: Path
) -> None:
    crash_looping_release(cluster)
    kubeconfig = yaml.safe_load(
        cluster.write_kubeconfig(tmp_path / "kc", token="act-cluster-token").read_text()
    )
    consumer.commit({"README.md": "service\n"}, "first")
    with FakeService(version="2.0.0") as service:
        run = consumer.run(
            WORKFLOW,
            env={"SERVICE_URL": service.url()},
            secrets={"KUBECONFIG": json.dumps(kubeconfig)},  # JSON is YAML on one line
        )
    assert run.outcome("http") == "success", run.log[-6000:]
    http = run.outputs("http")
    assert http["healthy"] == "true"
    assert float(http["latency-p95-ms"]) >= float(http["latency-p50-ms"])
    assert run.outcome("rollout") == "failure", run.log[-6000:]
    out = run.outputs("rollout")
    assert out["healthy"] == "false"
    assert out["failure-reason"] == "progress-deadline-exceeded"
    assert out["rolled-back"] == "true"
    assert image_of(cluster) == "reg/web:1"
    assert "#### Diagnostics: `deployment/web`" in run.log, "the summary reaches the job"
    assert "CrashLoopBackOff" in run.log
    assert "unable to open database file" in run.log
    assert "act-cluster-token" not in run.log.replace("::add-mask::act-cluster-token", "")


HTTP_WORKFLOW = """
on: push
jobs:
  probe:
    runs-on: ubuntu-latest
    steps:
      - id: setup
        uses: ci-actions/ci-actions@v1
      - id: http
        uses: ci-actions/ci-actions/actions/health-probe@v1
        with:
          url: ${{ env.SERVICE_URL }}
          expected-version: ${{ env.EXPECTED }}
          timeout: 10s
"""


@pytest.mark.xdist_group("container-engine")
def test_http_probe_from_a_job_container(container_consumer: Consumer) -> None:
    """A service on the host's 127.0.0.1 is what the job's 127.0.0.1 reaches (host network)."""
    container_consumer.commit({"README.md": "service\n"}, "first")
    with FakeService(version="2.0.0") as service:
        run = container_consumer.run(
            HTTP_WORKFLOW, env={"SERVICE_URL": service.url(), "EXPECTED": "2.0.0"}
        )
    assert run.outcome("http") == "success", run.log[-6000:]
    http = run.outputs("http")
    assert http["healthy"] == "true"
    assert float(http["latency-p95-ms"]) >= float(http["latency-p50-ms"]) > 0
