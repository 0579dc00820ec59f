"""The watch loop's recovery paths, against the fake API server."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_actions.errors import EnvironmentFailure
from ci_actions.probes.kube import KubeClient
from ci_actions.probes.rollout import Workload
from ci_actions.probes.wait import wait_for_all, wait_for_rollout
from tests.support.fake_k8s import FakeCluster
from tests.support.k8s_workloads import complete_status, install_deployment, start_update

WEB = Workload("deployment", "web", "default")


def test_a_failing_reconnect_is_retried(cluster: FakeCluster, kubeconfig: Path) -> None:
    kube = KubeClient.from_kubeconfig(kubeconfig)  # before the scenario: importing takes a while
    install_deployment(cluster, "web", ["reg/web:1"])
    start_update(cluster, "default", "web", "reg/web:2")

    def break_the_watch(c: FakeCluster) -> None:
        c.fail_next.append(("/deployments", 500))
        c.drop_watches()

    cluster.play(
        [
            (0.3, break_the_watch),
            (
                0.5,
                lambda c: c.patch_status(
                    "deploy", "default", "web", complete_status(2, generation=2)
                ),
            ),
        ]
    )
    outcome = wait_for_rollout(kube, WEB, 5)
    kube.close()
    assert outcome.healthy, outcome.message
    assert outcome.reconnects >= 2  # the dropped stream, then the 500
    assert outcome.seconds < 2, (outcome.seconds, outcome.timeline, cluster.requests[-6:])


def test_timeout_reports_the_last_status(cluster: FakeCluster, kubeconfig: Path) -> None:
    install_deployment(cluster, "web", ["reg/web:1"])
    start_update(cluster, "default", "web", "reg/web:2")
    kube = KubeClient.from_kubeconfig(kubeconfig)
    outcome = wait_for_rollout(kube, WEB, 0.8)
    kube.close()
    assert outcome.failure == "rollout-timeout"
    assert (
        "within 0.8s (last: Waiting for deployment spec update to be observed...)"
        in outcome.message
    )
    assert 0.8 <= outcome.seconds < 1.8


def test_several_workloads_are_watched_at_once(cluster: FakeCluster, kubeconfig: Path) -> None:
    kube = KubeClient.from_kubeconfig(kubeconfig)
    for name in ("web", "worker"):
        install_deployment(cluster, name, [f"reg/{name}:1"])
        start_update(cluster, "default", name, f"reg/{name}:2")
    cluster.play(
        [
            (
                0.5,
                lambda c: [
                    c.patch_status("deploy", "default", n, complete_status(2, generation=2))
                    for n in ("web", "worker")
                ],
            )
        ]
    )
    outcomes = wait_for_all(kube, [WEB, Workload("deployment", "worker", "default")], 5)
    kube.close()
    assert [o.healthy for o in outcomes] == [True, True]
    assert all(o.seconds < 1.5 for o in outcomes), "in parallel, not one after the other"


def test_an_unreachable_api_is_an_environment_failure(tmp_path: Path) -> None:
    from tests.support.fake_k8s import write_kubeconfig
    from tests.support.fake_service import closed_port

    kube = KubeClient.from_kubeconfig(
        write_kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{closed_port()}")
    )
    with pytest.raises(EnvironmentFailure, match="cannot reach the Kubernetes API"):
        wait_for_rollout(kube, WEB, 2)
    kube.close()
