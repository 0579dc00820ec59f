"""Diagnostics and new-version pods, read from the fake API server."""

from __future__ import annotations

from pathlib import Path

from ci_actions.probes.diagnose import diagnose, log_text, markdown, new_pods
from ci_actions.probes.kube import KubeClient
from ci_actions.probes.rollout import Workload
from tests.support.fake_k8s import FakeCluster
from tests.support.k8s_workloads import (
    active_replicaset,
    event,
    install_deployment,
    pod,
    start_update,
)

NS = "default"


def test_diagnostics_of_a_failing_rollout(cluster: FakeCluster, kubeconfig: Path) -> None:
    install_deployment(cluster, "web", ["reg/web:1"])
    start_update(cluster, NS, "web", "reg/web:2")
    rs = active_replicaset(cluster, NS, "web")
    oom = cluster.add(pod(rs, 0, state="oomkilled", restarts=7))
    pull = cluster.add(pod(rs, 1, state="imagepull"))
    oom_name, pull_name = oom["metadata"]["name"], pull["metadata"]["name"]
    cluster.set_logs(NS, oom_name, "app", "".join(f"line {i}\n" for i in range(80)), previous=True)
    cluster.set_logs(NS, oom_name, "app", "restarting\n")
    deploy = cluster.get("deploy", NS, "web")
    assert deploy is not None
    cluster.add(event(pull, "Failed", "Failed to pull image reg/web:2: not found", age=5))
    cluster.add(
        event(
            deploy, "ScalingReplicaSet", "Scaled up replica set web-x to 2", kind="Normal", age=60
        )
    )
    cluster.add(event(oom, "BackOff", "Back-off restarting failed container", age=1))
    other = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "unrelated-0", "namespace": NS},
    }
    cluster.add(event(other, "BackOff", "not ours"))

    kube = KubeClient.from_kubeconfig(kubeconfig)
    diag = diagnose(kube, Workload("deployment", "web", NS), deploy)
    kube.close()

    by_pod = {p.name: p for p in diag.pods}
    assert set(by_pod) == {oom_name, pull_name}, "only the new version's pods"
    [oom_c] = by_pod[oom_name].containers
    assert (oom_c.reason, oom_c.last_reason, oom_c.exit_code, oom_c.restarts) == (
        "CrashLoopBackOff",
        "OOMKilled",
        137,
        7,
    )
    previous = oom_c.previous_logs.splitlines()
    assert len(previous) == 50 and previous[0] == "line 30" and previous[-1] == "line 79"
    assert oom_c.logs == "restarting\n"
    [pull_c] = by_pod[pull_name].containers
    assert pull_c.reason == "ImagePullBackOff"
    assert by_pod[pull_name].phase == "Pending"
    assert pull_c.previous_logs == ""
    assert [e["reason"] for e in diag.events] == ["ScalingReplicaSet", "Failed", "BackOff"], (
        "newest last, ours only"
    )
    text = markdown(diag)
    assert "OOMKilled (137)" in text and "ImagePullBackOff" in text
    assert "line 79" in log_text(diag)


def test_new_pods_of_a_statefulset_follow_update_revision(
    cluster: FakeCluster, kubeconfig: Path
) -> None:
    sts = cluster.add(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": NS},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}}, "template": {}},
            "status": {"updateRevision": "db-2", "currentRevision": "db-1"},
        }
    )
    owner = [
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "name": "db",
            "uid": sts["metadata"]["uid"],
            "controller": True,
        }
    ]
    for index, revision in enumerate(["db-1", "db-2"]):
        cluster.add(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"db-{index}",
                    "namespace": NS,
                    "labels": {"app": "db", "controller-revision-hash": revision},
                    "ownerReferences": owner,
                },
                "spec": {"containers": [{"name": "db", "image": "reg/db:1"}]},
            }
        )
    kube = KubeClient.from_kubeconfig(kubeconfig)
    pods = new_pods(kube, Workload("statefulset", "db", NS), sts)
    kube.close()
    assert [p["metadata"]["name"] for p in pods] == ["db-1"]
