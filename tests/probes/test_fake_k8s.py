"""The fake API server, checked with real kubectl and raw HTTP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.fake_k8s import (
    FakeCluster,
    fresh_discovery,
    json_patch,
    label_matches,
    strategic_merge,
)
from tests.support.k8s_workloads import (
    DeploymentController,
    condition,
    event,
    install_deployment,
    start_update,
)
from tests.support.tools import HANG_GUARD, needs

needs_kubectl = needs("kubectl")


def kubectl(
    kubeconfig: Path, *args: str, timeout: float = HANG_GUARD
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *fresh_discovery(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@needs_kubectl
def test_kubectl_get_and_rollout_status(cluster: FakeCluster, kubeconfig: Path) -> None:
    install_deployment(cluster, "web", ["reg/web:1", "reg/web:2"])
    got = kubectl(kubeconfig, "get", "deploy", "-o", "name")
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["deployment.apps/web"]
    image = kubectl(
        kubeconfig,
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    )
    assert image.stdout == "reg/web:2"
    status = kubectl(kubeconfig, "rollout", "status", "deploy/web", "--timeout=5s")
    assert status.returncode == 0, status.stderr
    assert 'deployment "web" successfully rolled out' in status.stdout
    assert cluster.requests[0][1] == "/version"
    table = kubectl(kubeconfig, "get", "deploy,pods")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert lines[1].split()[:4] == ["deployment.apps/web", "2/2", "2", "2"]
    assert lines[3].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[2] for line in lines[4:]] == ["Running", "Running"]


@needs_kubectl
def test_kubectl_logs_previous_and_events(cluster: FakeCluster, kubeconfig: Path) -> None:
    install_deployment(cluster, "web", ["reg/web:1"], replicas=1)
    pod = cluster.list("pod")[0]
    name = pod["metadata"]["name"]
    cluster.set_logs(
        "default",
        name,
        "app",
        "boot\nsqlite3.OperationalError: unable to open database file\n",
        previous=True,
    )
    cluster.add(event(pod, "BackOff", "Back-off restarting failed container app"))
    logs = kubectl(kubeconfig, "logs", name, "--previous", "--tail=1")
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout == "sqlite3.OperationalError: unable to open database file\n"
    events = kubectl(kubeconfig, "get", "events")
    assert events.stdout.splitlines()[1].split()[1:4] == ["Warning", "BackOff", f"pod/{name}"]


@needs_kubectl
def test_kubectl_rollout_undo_then_status(cluster: FakeCluster, kubeconfig: Path) -> None:
    install_deployment(cluster, "web", ["reg/web:1", "reg/web:2"])
    DeploymentController(cluster, delay=0.1)
    undo = kubectl(kubeconfig, "rollout", "undo", "deploy/web")
    assert undo.returncode == 0, undo.stderr
    assert "rolled back" in undo.stdout
    patches = [r for r in cluster.requests if r[0] == "PATCH"]
    assert patches, "kubectl rollout undo patches the deployment"
    status = kubectl(kubeconfig, "rollout", "status", "deploy/web", "--timeout=10s")
    assert status.returncode == 0, status.stdout + status.stderr
    deploy = cluster.get("deploy", "default", "web")
    assert deploy is not None
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/web:1"
    assert deploy["metadata"]["generation"] == 2
    history = kubectl(kubeconfig, "rollout", "history", "deploy/web")
    assert history.stdout.split()[-4:] == ["2", "<none>", "3", "<none>"]


@needs_kubectl
def test_kubectl_refuses_to_undo_a_paused_deployment(
    cluster: FakeCluster, kubeconfig: Path
) -> None:
    install_deployment(cluster, "web", ["reg/web:1", "reg/web:2"])
    cluster.modify("deploy", "default", "web", lambda d: d["spec"].update(paused=True))
    undo = kubectl(kubeconfig, "rollout", "undo", "deploy/web")
    assert undo.returncode != 0
    assert "paused" in undo.stderr


@needs_kubectl
def test_kubectl_sees_the_deadline_through_the_watch(
    cluster: FakeCluster, kubeconfig: Path
) -> None:
    install_deployment(cluster, "web", ["reg/web:1"])
    start_update(cluster, "default", "web", "reg/web:2")
    cluster.play(
        [
            (
                0.5,
                lambda c: c.patch_status(
                    "deploy",
                    "default",
                    "web",
                    {
                        "observedGeneration": 2,
                        "conditions": [
                            condition("Progressing", "False", "ProgressDeadlineExceeded")
                        ],
                    },
                ),
            )
        ]
    )
    status = kubectl(kubeconfig, "rollout", "status", "deploy/web", "--timeout=10s")
    assert status.returncode == 1
    assert 'deployment "web" exceeded its progress deadline' in status.stderr
    assert any(q.get("watch") == "true" for _, _, q in cluster.requests)


@needs_kubectl
def test_kubectl_not_found(cluster: FakeCluster, kubeconfig: Path) -> None:
    status = kubectl(kubeconfig, "rollout", "status", "deploy/nope", "--timeout=3s")
    assert status.returncode == 1
    assert 'deployments.apps "nope" not found' in status.stderr


def _watch_lines(url: str, **params: str) -> list[dict[str, object]]:
    with requests.get(url, params={"watch": "true", **params}, stream=True, timeout=5) as resp:
        return [json.loads(line) for line in resp.iter_lines() if line]


def test_watch_from_a_compacted_version_gets_410(cluster: FakeCluster) -> None:
    install_deployment(cluster, "web", ["reg/web:1"])
    old = cluster.get("deploy", "default", "web")
    assert old is not None
    cluster.compact()
    url = f"{cluster.url}/apis/apps/v1/namespaces/default/deployments"
    events = _watch_lines(
        url, resourceVersion=old["metadata"]["resourceVersion"], timeoutSeconds="1"
    )
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410  # type: ignore[index]


def test_watch_streams_changes_and_bookmarks(cluster: FakeCluster) -> None:
    install_deployment(cluster, "web", ["reg/web:1"])
    listed = requests.get(
        f"{cluster.url}/apis/apps/v1/namespaces/default/deployments", timeout=5
    ).json()
    rv = listed["metadata"]["resourceVersion"]
    cluster.play(
        [(0.2, lambda c: c.patch_status("deploy", "default", "web", {"readyReplicas": 1}))]
    )
    events = _watch_lines(
        f"{cluster.url}/apis/apps/v1/namespaces/default/deployments",
        resourceVersion=rv,
        allowWatchBookmarks="true",
        fieldSelector="metadata.name=web",
        timeoutSeconds="1",
    )
    types = [e["type"] for e in events]
    assert types[0] == "MODIFIED"
    assert "BOOKMARK" in types
    assert events[0]["object"]["status"]["readyReplicas"] == 1  # type: ignore[index]


def test_dropped_watch_ends_without_the_last_chunk(cluster: FakeCluster) -> None:
    install_deployment(cluster, "web", ["reg/web:1"])
    cluster.play([(0.3, FakeCluster.drop_watches)])
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _watch_lines(
            f"{cluster.url}/apis/apps/v1/namespaces/default/deployments",
            resourceVersion="1",
            timeoutSeconds="5",
        )


def test_logs_current_previous_and_tail(cluster: FakeCluster) -> None:
    install_deployment(cluster, "web", ["reg/web:1"], replicas=1)
    pod = cluster.list("pod")[0]["metadata"]["name"]
    cluster.set_logs("default", pod, "app", "a\nb\nc\n", previous=True)
    base = f"{cluster.url}/api/v1/namespaces/default/pods/{pod}/log"
    assert (
        requests.get(base, params={"previous": "true", "tailLines": "2"}, timeout=5).text
        == "b\nc\n"
    )
    assert requests.get(base, timeout=5).text == ""
    missing = requests.get(f"{cluster.url}/api/v1/namespaces/default/pods/x/log", timeout=5)
    assert missing.status_code == 404


def test_spec_patch_bumps_generation_status_does_not(cluster: FakeCluster) -> None:
    install_deployment(cluster, "web", ["reg/web:1"])
    url = f"{cluster.url}/apis/apps/v1/namespaces/default/deployments/web"
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "reg/web:9"}]}}}}
    resp = requests.patch(
        url, json=smp, headers={"Content-Type": "application/strategic-merge-patch+json"}, timeout=5
    )
    assert resp.status_code == 200
    assert resp.json()["metadata"]["generation"] == 2
    resp = requests.patch(
        url + "/status",
        data=json.dumps({"status": {"observedGeneration": 2}}),
        headers={"Content-Type": "application/merge-patch+json"},
        timeout=5,
    )
    assert resp.json()["metadata"]["generation"] == 2
    assert resp.json()["status"]["observedGeneration"] == 2
    bad = requests.patch(
        url, data="{}", headers={"Content-Type": "application/apply-patch+yaml"}, timeout=5
    )
    assert bad.status_code == 415


@pytest.mark.parametrize(
    ("labels", "selector", "expected"),
    [
        ({"app": "web"}, "app=web", True),
        ({"app": "web"}, "app!=web", False),
        ({"app": "web", "tier": "a"}, "app in (web,api),tier", True),
        ({"app": "web"}, "app notin (web)", False),
        ({"app": "web"}, "!tier", True),
        ({}, "app", False),
    ],
)
def test_label_selectors(labels: dict[str, str], selector: str, expected: bool) -> None:
    assert label_matches(labels, selector) is expected


def test_patch_forms() -> None:
    doc = {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}
    merged = strategic_merge(doc, {"spec": {"containers": [{"name": "b", "image": "z"}]}})
    assert merged["spec"]["containers"] == [
        {"name": "a", "image": "x"},
        {"name": "b", "image": "z"},
    ]
    patched = json_patch(doc, [{"op": "replace", "path": "/spec/containers/0/image", "value": "q"}])
    assert patched["spec"]["containers"][0]["image"] == "q"
    assert doc["spec"]["containers"][0]["image"] == "x"
