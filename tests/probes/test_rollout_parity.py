"""health-probe against real `kubectl rollout status` and `kubectl rollout undo`, one
row per rollout shape.

Each row builds the same objects in two fake API servers. Real kubectl judges the
rollout in the first (and, when ours is unhealthy, undoes it there); health-probe
runs in the second with `expected-images` and `rollback: on-failure`. The expected
verdict is whatever kubectl said in this run: where kubectl says the rollout is
done, ours is healthy and touches nothing; where it does not, ours is unhealthy
and its rollback leaves the pod template kubectl's undo leaves. The one place ours
is stricter on purpose is marked `stricter`: current pods running another image
than the one expected fail even though kubectl says done.

The pods of each shape are what the API shows at that moment: pods of old
ReplicaSets and pods being deleted (`deletionTimestamp`) next to the current ones.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.fake_k8s import FakeCluster, Obj, fresh_discovery
from tests.support.k8s_workloads import (
    DeploymentController,
    active_replicaset,
    complete_status,
    condition,
    install_deployment,
    iso,
    pod,
    prune,
    start_update,
)
from tests.support.tools import HANG_GUARD, needs

pytestmark = needs("kubectl")

NS = "default"
DIGEST = "sha256:" + "a" * 64  # what the fake's running pods report in imageID
EXPECTED = f"app=reg/web:2@{DIGEST}"
TIMEOUT = 1.5  # kubectl's and ours, for the shapes that never finish
COUNTERS = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")


# ---- building blocks


def draining(c: FakeCluster, selector: str) -> None:
    """The pods matching `selector` are being deleted (still listed until they stop)."""
    for p in c.list("pod", NS, selector):
        c.modify(
            "pod",
            NS,
            p["metadata"]["name"],
            lambda o: o["metadata"].update(deletionTimestamp=iso()),
        )


def deploy_status(c: FakeCluster, generation: int, **counts: int) -> None:
    """The controller's status at `generation`; a counter at 0 is absent, as in the API's JSON."""
    status: Obj = {"observedGeneration": generation}
    status.update({k: (counts.get(k) or None) for k in COUNTERS})
    c.patch_status("deploy", NS, "web", status)


def rolled_to_2(c: FakeCluster, replicas: int = 2) -> None:
    """web moved from reg/web:1 to reg/web:2 (generation 2); reg/web:1 pods still listed."""
    install_deployment(c, "web", ["reg/web:1"], replicas=replicas)
    start_update(c, NS, "web", "reg/web:2")


def new_rs_pods(c: FakeCluster, count: int, *, start: int = 0, **kind: str) -> list[Obj]:
    rs = active_replicaset(c, NS, "web")
    return [c.add(pod(rs, i, **kind)) for i in range(start, start + count)]  # type: ignore[arg-type]


def old_pods_draining(c: FakeCluster) -> None:
    draining(
        c,
        "app=web,pod-template-hash!="
        + active_replicaset(c, NS, "web")["metadata"]["labels"]["pod-template-hash"],
    )


def scale(c: FakeCluster, replicas: int) -> None:
    c.modify("deploy", NS, "web", lambda d: d["spec"].update(replicas=replicas))


# ---- Deployment shapes


def d_plain_success(c: FakeCluster) -> None:
    install_deployment(c, "web", ["reg/web:1", "reg/web:2"])


def d_scaled_to_zero_with_the_rollout(c: FakeCluster) -> None:
    """The issue's case: new image and replicas: 0 in one apply; old pods draining."""
    rolled_to_2(c)
    scale(c, 0)
    deploy_status(c, 3)
    old_pods_draining(c)


def d_terminating_after_completion(c: FakeCluster) -> None:
    """Scaled 4 -> 2 after the rollout: two pods of the current ReplicaSet are deleted
    (the ones not started yet go first, as the controller picks them)."""
    install_deployment(c, "web", ["reg/web:1", "reg/web:2"], replicas=2)
    new_rs_pods(c, 2, start=2, state="pending")
    draining(c, "app=web")
    for p in c.list("pod", NS, "app=web")[:2]:
        c.modify("pod", NS, p["metadata"]["name"], lambda o: o["metadata"].pop("deletionTimestamp"))
    scale(c, 2)
    c.patch_status("deploy", NS, "web", complete_status(2, generation=2))


def d_scaled_down_during_rollout(c: FakeCluster) -> None:
    rolled_to_2(c, replicas=4)
    new_rs_pods(c, 2, state="pending")  # not started yet: the first the controller removes
    draining(c, "app=web")  # every pod so far: old ones and the two scaled away
    new_rs_pods(c, 2, start=2)  # the two that stay
    scale(c, 2)
    deploy_status(c, 3, **dict.fromkeys(COUNTERS, 2))


def d_hpa_scaled_up_during_rollout(c: FakeCluster) -> None:
    rolled_to_2(c)
    scale(c, 4)
    new_rs_pods(c, 4)
    old_pods_draining(c)
    c.patch_status("deploy", NS, "web", complete_status(4, generation=3))


def d_generation_bump_without_template_change(c: FakeCluster) -> None:
    install_deployment(c, "web", ["reg/web:1", "reg/web:2"])
    c.modify("deploy", NS, "web", lambda d: d["spec"].update(minReadySeconds=5))
    deploy_status(c, 2, **dict.fromkeys(COUNTERS, 2))


def d_pods_run_another_digest(c: FakeCluster) -> None:
    """kubectl: done. Ours: the current pods do not run the expected digest."""
    install_deployment(c, "web", ["reg/web:1"])
    start_update(c, NS, "web", "reg/web:2")
    new_rs_pods(c, 2, image_id="docker-pullable://reg/web@sha256:" + "b" * 64)
    old_pods_draining(c)
    c.patch_status("deploy", NS, "web", complete_status(2, generation=2))


def d_old_replicas_pending(c: FakeCluster) -> None:
    rolled_to_2(c)
    new_rs_pods(c, 2)
    deploy_status(c, 2, replicas=3, updatedReplicas=2, readyReplicas=3, availableReplicas=3)


def d_updated_not_available(c: FakeCluster) -> None:
    rolled_to_2(c)
    new_rs_pods(c, 1)
    new_rs_pods(c, 1, start=1, state="crashloop")
    old_pods_draining(c)
    deploy_status(c, 2, replicas=2, updatedReplicas=2, readyReplicas=1, availableReplicas=1)


def d_deadline_exceeded(c: FakeCluster) -> None:
    rolled_to_2(c)
    new_rs_pods(c, 2, state="crashloop")
    deploy_status(c, 2, replicas=4, updatedReplicas=2, readyReplicas=2, availableReplicas=2)
    c.patch_status(
        "deploy",
        NS,
        "web",
        {"conditions": [condition("Progressing", "False", "ProgressDeadlineExceeded")]},
    )


def d_not_observed(c: FakeCluster) -> None:
    rolled_to_2(c)  # generation 2, status still at 1 with every counter full


def d_hpa_scaled_up_not_there_yet(c: FakeCluster) -> None:
    rolled_to_2(c)
    scale(c, 4)
    new_rs_pods(c, 2)
    old_pods_draining(c)
    deploy_status(c, 3, replicas=2, updatedReplicas=2, readyReplicas=2, availableReplicas=2)


def d_paused_midway(c: FakeCluster) -> None:
    rolled_to_2(c)
    c.modify("deploy", NS, "web", lambda d: d["spec"].update(paused=True))
    new_rs_pods(c, 1)
    deploy_status(c, 3, replicas=3, updatedReplicas=1, readyReplicas=3, availableReplicas=3)


# ---- StatefulSet and DaemonSet shapes


def workload(
    kind: str, spec: Obj, status: Obj, *, generation: int = 2
) -> Callable[[FakeCluster], Obj]:
    def add(c: FakeCluster) -> Obj:
        return c.add(
            {
                "apiVersion": "apps/v1",
                "kind": kind,
                "metadata": {"name": "web", "namespace": NS, "generation": generation},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "app", "image": "reg/web:2"}]},
                    },
                    **spec,
                },
                "status": {"observedGeneration": generation, **status},
            }
        )

    return add


def member(
    c: FakeCluster,
    owner: Obj,
    index: int,
    revision: str,
    *,
    image: str = "reg/web:2",
    state: str = "running",
    deleting: bool = False,
) -> None:
    """A pod the StatefulSet or DaemonSet `owner` controls, at controller revision `revision`."""
    source = json.loads(json.dumps(owner))
    source["spec"]["template"]["spec"]["containers"][0]["image"] = image
    made = pod(source, index, state=state)
    made["metadata"]["name"] = f"web-{index}"
    made["metadata"]["labels"]["controller-revision-hash"] = revision
    made["metadata"]["ownerReferences"][0]["kind"] = owner["kind"]
    if deleting:
        made["metadata"]["deletionTimestamp"] = iso()
    c.add(made)


def sts(
    replicas: int,
    status: Obj,
    pods: list[tuple[str, str, str, bool]],
    *,
    strategy: Obj | None = None,
) -> Callable[[FakeCluster], None]:
    """pods: (revision, image, state, deleting) by ordinal."""
    spec: Obj = {"replicas": replicas, "updateStrategy": strategy or {"type": "RollingUpdate"}}
    revisions = {"currentRevision": "web-1", "updateRevision": "web-2"}

    def setup(c: FakeCluster) -> None:
        owner = workload("StatefulSet", spec, {**revisions, **status})(c)
        for i, (revision, image, state, deleting) in enumerate(pods):
            member(c, owner, i, revision, image=image, state=state, deleting=deleting)

    return setup


def ds(
    status: Obj, pods: list[tuple[str, str, bool]], *, strategy: str = "RollingUpdate"
) -> Callable[[FakeCluster], None]:
    """pods: (image, state, deleting)."""

    def setup(c: FakeCluster) -> None:
        owner = workload("DaemonSet", {"updateStrategy": {"type": strategy}}, status)(c)
        for i, (image, state, deleting) in enumerate(pods):
            member(
                c,
                owner,
                i,
                "ds-2" if image.endswith(":2") else "ds-1",
                image=image,
                state=state,
                deleting=deleting,
            )

    return setup


NEW, OLD = ("web-2", "reg/web:2"), ("web-1", "reg/web:1")
PARTITION_0 = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}


def partition(n: int) -> Obj:
    return {"type": "RollingUpdate", "rollingUpdate": {"partition": n}}


# ---- the table


@dataclass(frozen=True)
class Shape:
    name: str
    kind: str
    setup: Callable[[FakeCluster], None]
    stricter: bool = False  # kubectl says done; ours fails on purpose (image-mismatch)


SHAPES = [
    Shape("deployment: plain success", "deployment", d_plain_success),
    Shape(
        "deployment: scaled to zero with the rollout",
        "deployment",
        d_scaled_to_zero_with_the_rollout,
    ),
    Shape(
        "deployment: pods terminating after completion",
        "deployment",
        d_terminating_after_completion,
    ),
    Shape("deployment: scaled down during the rollout", "deployment", d_scaled_down_during_rollout),
    Shape(
        "deployment: HPA scaled up during the rollout", "deployment", d_hpa_scaled_up_during_rollout
    ),
    Shape(
        "deployment: generation bump, same template",
        "deployment",
        d_generation_bump_without_template_change,
    ),
    Shape(
        "deployment: pods run another digest",
        "deployment",
        d_pods_run_another_digest,
        stricter=True,
    ),
    Shape("deployment: old replicas pending termination", "deployment", d_old_replicas_pending),
    Shape("deployment: updated but not available", "deployment", d_updated_not_available),
    Shape("deployment: progress deadline exceeded", "deployment", d_deadline_exceeded),
    Shape("deployment: spec change not observed", "deployment", d_not_observed),
    Shape("deployment: HPA scaled up, not there yet", "deployment", d_hpa_scaled_up_not_there_yet),
    Shape("deployment: paused midway", "deployment", d_paused_midway),
    Shape(
        "statefulset: rolling update complete",
        "statefulset",
        sts(
            2,
            {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2, "currentRevision": "web-2"},
            [(*NEW, "running", False)] * 2,
        ),
    ),
    Shape(
        "statefulset: partition 0 complete",
        "statefulset",
        sts(
            2,
            {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2},
            [(*NEW, "running", False)] * 2,
            strategy=PARTITION_0,
        ),
    ),
    Shape(
        "statefulset: partition 1 of 3 reached",
        "statefulset",
        sts(
            3,
            {"replicas": 3, "readyReplicas": 3, "updatedReplicas": 2},
            [(*OLD, "running", False), (*NEW, "running", False), (*NEW, "running", False)],
            strategy=partition(1),
        ),
    ),
    Shape(
        "statefulset: partition covers every pod",
        "statefulset",
        sts(
            3,
            {"replicas": 3, "readyReplicas": 3},
            [(*OLD, "running", False)] * 3,
            strategy=partition(3),
        ),
    ),
    Shape(
        "statefulset: scaled to zero",
        "statefulset",
        sts(0, {}, [(*OLD, "running", True)] * 2, strategy=PARTITION_0),
    ),
    Shape(
        "statefulset: scaled down, last ordinal terminating",
        "statefulset",
        sts(
            2,
            {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2},
            [(*NEW, "running", False), (*NEW, "running", False), (*NEW, "pending", True)],
            strategy=PARTITION_0,
        ),
    ),
    Shape(
        "statefulset: partition not reached",
        "statefulset",
        sts(
            3,
            {"replicas": 3, "readyReplicas": 3, "updatedReplicas": 1},
            [(*OLD, "running", False), (*OLD, "running", False), (*NEW, "running", False)],
            strategy=partition(1),
        ),
    ),
    Shape(
        "statefulset: not all ready",
        "statefulset",
        sts(
            2,
            {"replicas": 2, "readyReplicas": 1, "updatedReplicas": 2},
            [(*NEW, "running", False), (*NEW, "crashloop", False)],
            strategy=PARTITION_0,
        ),
    ),
    Shape(
        "statefulset: OnDelete",
        "statefulset",
        sts(
            2,
            {"replicas": 2, "readyReplicas": 2},
            [(*OLD, "running", False)] * 2,
            strategy={"type": "OnDelete"},
        ),
    ),
    Shape(
        "daemonset: complete, an old pod terminating",
        "daemonset",
        ds(
            {"desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 2},
            [
                ("reg/web:2", "running", False),
                ("reg/web:2", "running", False),
                ("reg/web:1", "running", True),
            ],
        ),
    ),
    Shape(
        "daemonset: node gone, its new pod terminating",
        "daemonset",
        ds(
            {"desiredNumberScheduled": 1, "updatedNumberScheduled": 1, "numberAvailable": 1},
            [("reg/web:2", "running", False), ("reg/web:2", "pending", True)],
        ),
    ),
    Shape("daemonset: no node to run on", "daemonset", ds({"desiredNumberScheduled": 0}, [])),
    Shape(
        "daemonset: not all available",
        "daemonset",
        ds(
            {"desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 1},
            [("reg/web:2", "running", False), ("reg/web:2", "crashloop", False)],
        ),
    ),
    Shape(
        "daemonset: OnDelete",
        "daemonset",
        ds(
            {"desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 2},
            [("reg/web:2", "running", False)] * 2,
            strategy="OnDelete",
        ),
    ),
]


# ---- running both


def kubectl(
    kubeconfig: Path, *args: str, timeout: float = HANG_GUARD
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *fresh_discovery(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def template_of(c: FakeCluster, kind: str) -> Obj:
    obj = c.get(kind, NS, "web") or {}
    return prune(obj["spec"]["template"])  # type: ignore[no-any-return]


@pytest.fixture
def twin() -> Iterator[FakeCluster]:
    with FakeCluster() as fake:
        yield fake


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_health_probe_agrees_with_kubectl(
    shape: Shape, cluster: FakeCluster, twin: FakeCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    shape.setup(cluster)
    shape.setup(twin)
    status = kubectl(
        kubeconfig, "rollout", "status", f"{shape.kind}/web", f"--timeout={TIMEOUT:g}s"
    )
    kubectl_done = status.returncode == 0
    before = template_of(twin, shape.kind)
    if shape.kind == "deployment":
        DeploymentController(twin, delay=0.05)  # carries out our rollback, if any
    run = invoke(
        tmp_path / "probe",
        "health-probe",
        [
            "--workloads",
            f"{shape.kind}/web",
            "--expected-images",
            EXPECTED,
            "--rollout-timeout",
            f"{TIMEOUT:g}s",
            "--rollback",
            "on-failure",
        ],
        env={"KUBECONFIG": str(twin.write_kubeconfig(tmp_path / "twin-kc"))},
    )
    said = f"kubectl: {status.stdout}{status.stderr}\nours: {run.log}"
    healthy = kubectl_done and not shape.stricter
    assert run.code == (0 if healthy else 1), said
    assert run.outputs["healthy"] == str(healthy).lower(), said
    if healthy:
        assert run.outputs["rolled-back"] == "false"
        assert not [r for r in twin.requests if r[0] != "GET"], "a healthy rollout is left alone"
        assert template_of(twin, shape.kind) == before
        report = json.loads(Path(run.outputs["report-file"]).read_text())
        [images] = report["images"]["workloads"]
        assert images["mismatches"] == []
        assert ("no pod wanted" in run.summary) is (images["wanted_pods"] == 0), run.summary
        return
    if shape.stricter:
        assert kubectl_done, said
        assert run.outputs["failure-reason"] == "image-mismatch", said
    if shape.kind != "deployment":
        assert run.outputs["rolled-back"] == "false"  # kubernetes rollback is for deployments
        assert template_of(twin, shape.kind) == before
        return
    undo = kubectl(kubeconfig, "rollout", "undo", "deployment/web")
    assert template_of(twin, shape.kind) == template_of(cluster, shape.kind), (
        f"kubectl undo: {undo.stdout}{undo.stderr}\nours: {run.log}"
    )
    assert run.outputs["rolled-back"] == str(undo.returncode == 0).lower(), run.log
