"""Rollout scenarios against the fake API server: our verdict next to real
`kubectl rollout status` watching the same fake at the same time.

Expected verdicts come from Kubernetes' rules (what a cluster operator
expects of each situation), written here by hand; where kubectl only times
out (paused), our probe fails at once with the same verdict.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ci_actions.probes.kube import KubeClient
from ci_actions.probes.rollout import Workload
from ci_actions.probes.wait import wait_for_rollout
from tests.support.fake_k8s import FakeCluster, Obj
from tests.support.k8s_workloads import (
    active_replicaset,
    complete_status,
    condition,
    install_deployment,
    pod,
    start_update,
)

NS = "default"


def observe(**counts: int) -> Callable[[FakeCluster], object]:
    """The controller reports generation 2 with these replica counts."""
    status: Obj = {"observedGeneration": 2}
    for key, value in counts.items():
        status[
            {
                "updated": "updatedReplicas",
                "ready": "readyReplicas",
                "available": "availableReplicas",
            }.get(key, key)
        ] = value
    return lambda c: c.patch_status("deploy", NS, "web", status)


def complete(replicas: int = 2) -> Callable[[FakeCluster], object]:
    return lambda c: c.patch_status("deploy", NS, "web", complete_status(replicas, generation=2))


def deadline_exceeded(c: FakeCluster) -> None:
    c.patch_status(
        "deploy",
        NS,
        "web",
        {
            "observedGeneration": 2,
            "conditions": [
                condition("Available", "True", "MinimumReplicasAvailable"),
                condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    'ReplicaSet "web-x" has timed out progressing.',
                ),
            ],
        },
    )


def new_pods(state: str) -> Callable[[FakeCluster], object]:
    def add(c: FakeCluster) -> None:
        rs = active_replicaset(c, NS, "web")
        for i in range(2):
            c.add(pod(rs, i, state=state, restarts=3 if state == "crashloop" else 0))

    return add


def updating(c: FakeCluster) -> None:
    install_deployment(c, "web", ["reg/web:1"])
    start_update(c, NS, "web", "reg/web:2")


def paused_midway(c: FakeCluster) -> None:
    updating(c)
    c.modify("deploy", NS, "web", lambda d: d["spec"].update(paused=True))
    c.patch_status(
        "deploy",
        NS,
        "web",
        {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2},
    )


def scaled_to_zero(c: FakeCluster) -> None:
    updating(c)
    c.modify("deploy", NS, "web", lambda d: d["spec"].update(replicas=0))


def statefulset(
    partition: int | None = None, strategy: str = "RollingUpdate"
) -> Callable[[FakeCluster], None]:
    def setup(c: FakeCluster) -> None:
        update: Obj = {"type": strategy}
        if partition is not None:
            update["rollingUpdate"] = {"partition": partition}
        c.add(
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "web", "namespace": NS, "generation": 2},
                "spec": {
                    "replicas": 3,
                    "selector": {"matchLabels": {"app": "web"}},
                    "updateStrategy": update,
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "app", "image": "reg/web:2"}]},
                    },
                },
                "status": {
                    "observedGeneration": 1,
                    "replicas": 3,
                    "readyReplicas": 3,
                    "currentRevision": "web-1",
                    "updateRevision": "web-1",
                },
            }
        )

    return setup


def sts_status(**status: object) -> Callable[[FakeCluster], object]:
    return lambda c: c.patch_status("sts", NS, "web", dict(status))


def daemonset(c: FakeCluster) -> None:
    c.add(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "web", "namespace": NS, "generation": 2},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "updateStrategy": {"type": "RollingUpdate"},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "reg/web:2"}]},
                },
            },
            "status": {
                "observedGeneration": 1,
                "desiredNumberScheduled": 3,
                "updatedNumberScheduled": 0,
                "numberAvailable": 3,
            },
        }
    )


def ds_status(**status: object) -> Callable[[FakeCluster], object]:
    return lambda c: c.patch_status("ds", NS, "web", dict(status))


@dataclass
class Case:
    name: str
    setup: Callable[[FakeCluster], None]
    steps: list[tuple[float, Callable[[FakeCluster], object]]]
    healthy: bool
    failure: str = ""
    kubectl_ok: bool = False
    kind: str = "deployment"
    timeout: float = 3.0
    decisive: int | None = None  # index of the step that decides; detection is timed from it
    check: Callable[[object], None] = field(default=lambda outcome: None)


CASES = [
    Case(
        "success",
        updating,
        [(0.2, observe(updated=1, replicas=3, available=2)), (0.3, complete())],
        True,
        kubectl_ok=True,
        decisive=1,
    ),
    Case(
        "slow success",
        updating,
        [
            (0.3, observe(updated=1, replicas=3, available=2)),
            (0.4, observe(updated=2, replicas=3, available=2)),
            (0.4, observe(updated=2, replicas=2, available=1)),
            (0.4, complete()),
        ],
        True,
        kubectl_ok=True,
        timeout=6,
        decisive=3,
    ),
    Case(
        "deadline exceeded",
        updating,
        [(0.2, observe(updated=1, replicas=3, available=2)), (0.3, deadline_exceeded)],
        False,
        "progress-deadline-exceeded",
        decisive=1,
    ),
    Case(
        "crash loop",
        updating,
        [
            (0.1, new_pods("crashloop")),
            (0.1, observe(updated=2, replicas=4, available=2)),
            (0.3, deadline_exceeded),
        ],
        False,
        "progress-deadline-exceeded",
        decisive=2,
    ),
    Case(
        "image pull error",
        updating,
        [(0.1, new_pods("imagepull")), (0.1, observe(updated=2, replicas=4, available=2))],
        False,
        "rollout-timeout",
        timeout=2,
    ),
    Case("paused", paused_midway, [], False, "paused", timeout=2),
    Case(
        "observedGeneration lag",
        updating,
        [
            (
                0.1,
                lambda c: c.patch_status(
                    "deploy",
                    NS,
                    "web",
                    {"updatedReplicas": 2, "replicas": 2, "availableReplicas": 2},
                ),
            ),
            (0.6, observe()),
        ],
        True,
        kubectl_ok=True,
        decisive=1,
    ),
    Case(
        "scale to zero",
        scaled_to_zero,
        [
            (
                0.2,
                lambda c: c.patch_status("deploy", NS, "web", {**complete_status(0, generation=3)}),
            )
        ],
        True,
        kubectl_ok=True,
        decisive=0,
    ),
    Case("not found", lambda c: None, [], False, "not-found", timeout=2),
    Case(
        "deleted during rollout",
        updating,
        [(0.3, lambda c: c.delete("deploy", NS, "web"))],
        False,
        "deleted",
        decisive=0,
    ),
    Case(
        "old replicas stuck",
        updating,
        [(0.2, observe(updated=2, replicas=3, available=2))],
        False,
        "rollout-timeout",
        timeout=2,
    ),
    Case(
        "ready but not available",
        updating,
        [(0.2, observe(updated=2, replicas=2, ready=2, available=1))],
        False,
        "rollout-timeout",
        timeout=2,
    ),
    Case(
        "watch dropped mid-rollout",
        updating,
        [
            (0.3, observe(updated=1, replicas=3, available=2)),
            (0.2, FakeCluster.drop_watches),
            (0.3, complete()),
        ],
        True,
        kubectl_ok=True,
        decisive=2,
        check=lambda o: _assert(o.reconnects >= 1, "reconnected"),  # type: ignore[attr-defined]
    ),
    Case(
        "410 Gone",
        updating,
        [
            (0.3, observe(updated=1, replicas=3, available=2)),
            (0.2, lambda c: (c.compact(), c.drop_watches())),
            (0.3, complete()),
        ],
        True,
        kubectl_ok=True,
        decisive=2,
        check=lambda o: _assert(o.relists >= 1, "re-listed after 410"),  # type: ignore[attr-defined]
    ),
    Case(
        "statefulset partition",
        statefulset(partition=2),
        [
            (0.2, sts_status(observedGeneration=2, readyReplicas=3, updatedReplicas=0)),
            (0.3, sts_status(updatedReplicas=1, updateRevision="web-2")),
        ],
        True,
        kubectl_ok=True,
        kind="statefulset",
        decisive=1,
    ),
    Case(
        "statefulset OnDelete",
        statefulset(strategy="OnDelete"),
        [],
        False,
        "unsupported-strategy",
        kind="statefulset",
    ),
    Case(
        "daemonset",
        daemonset,
        [
            (0.2, ds_status(observedGeneration=2, updatedNumberScheduled=3, numberAvailable=2)),
            (0.3, ds_status(numberAvailable=3)),
        ],
        True,
        kubectl_ok=True,
        kind="daemonset",
        decisive=1,
    ),
]


def _assert(condition: bool, what: str) -> None:
    assert condition, what


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_scenario_matches_kubectl(case: Case, cluster: FakeCluster, kubeconfig: Path) -> None:
    kube = KubeClient.from_kubeconfig(kubeconfig)  # the first import of `kubernetes` takes a while
    case.setup(cluster)
    kubectl = None
    # Only the scenarios that never finish need kubectl to time out; the others get
    # room for a slow kubectl start on a loaded machine.
    waits_forever = case.failure in ("rollout-timeout", "paused")
    kubectl_timeout = case.timeout if waits_forever else case.timeout + 15
    if shutil.which("kubectl"):
        kubectl = subprocess.Popen(
            [
                "kubectl",
                "--kubeconfig",
                str(kubeconfig),
                "rollout",
                "status",
                f"{case.kind}/web",
                f"--timeout={kubectl_timeout:g}s",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    decided: dict[str, float] = {}
    steps = []
    for i, (delay, mutation) in enumerate(case.steps):
        if i == case.decisive:

            def timed(c: FakeCluster, m: Callable[[FakeCluster], object] = mutation) -> None:
                m(c)
                decided["at"] = time.monotonic()

            steps.append((delay, timed))
        else:
            steps.append((delay, mutation))
    time.sleep(0.3)  # let kubectl start watching too
    cluster.play(steps)
    try:
        outcome = wait_for_rollout(kube, Workload(case.kind, "web", NS), case.timeout)
    finally:
        kube.close()
    verdict_at = time.monotonic()
    assert outcome.healthy is case.healthy, outcome.message
    assert outcome.failure == case.failure, outcome.message
    if "at" in decided:
        assert verdict_at - decided["at"] < 1.0, "verdict within a second of the API saying so"
    if case.failure == "rollout-timeout":
        assert outcome.seconds < case.timeout + 1.0
    case.check(outcome)
    if kubectl is not None:
        out, err = kubectl.communicate(timeout=kubectl_timeout + 20)
        assert (kubectl.returncode == 0) is case.kubectl_ok, out + err
