"""Realistic objects for the fake API server, and a small deployment controller.

Builders return plain dicts shaped as the API server returns them. The
`DeploymentController` plays the part of kube-controller-manager for
Deployments: when a spec change is written over HTTP (kubectl rollout undo,
our rollback, a test's patch) it reuses or creates the ReplicaSet of the new
template, moves the revision annotations, replaces the pods and reports the
status, healthy or crash-looping according to the image.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.support.fake_k8s import FakeCluster, Obj, Resource

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"


def iso(offset: float = 0) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=offset)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def template(name: str, images: dict[str, str]) -> Obj:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": c, "image": img} for c, img in images.items()]},
    }


def prune(value: Any) -> Any:
    """Drop nulls and empty maps, as the API server's defaulting makes them equal."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in pruned.items() if v != {}}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def template_hash(tmpl: Obj) -> str:
    clean = prune(copy.deepcopy(tmpl))
    clean.get("metadata", {}).get("labels", {}).pop(HASH_LABEL, None)
    return hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()[:10]


def deployment(
    name: str,
    image: str | dict[str, str],
    *,
    replicas: int = 2,
    namespace: str = "default",
    revision: int = 1,
    paused: bool = False,
    complete: bool = True,
) -> Obj:
    images = {"app": image} if isinstance(image, str) else image
    obj: Obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": name},
            "annotations": {REVISION: str(revision)},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": template(name, images),
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "progressDeadlineSeconds": 600,
            "revisionHistoryLimit": 10,
        },
    }
    if paused:
        obj["spec"]["paused"] = True
    if complete:
        obj["status"] = complete_status(replicas, generation=1)
    return obj


def complete_status(replicas: int, *, generation: int) -> Obj:
    return {
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable"),
            condition("Progressing", "True", "NewReplicaSetAvailable"),
        ],
    }


def condition(kind: str, status: str, reason: str, message: str = "") -> Obj:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message or reason,
        "lastUpdateTime": iso(),
        "lastTransitionTime": iso(),
    }


def replicaset(deploy: Obj, revision: int, *, replicas: int) -> Obj:
    tmpl = copy.deepcopy(deploy["spec"]["template"])
    digest = template_hash(tmpl)
    tmpl["metadata"].setdefault("labels", {})[HASH_LABEL] = digest
    name = deploy["metadata"]["name"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{name}-{digest}",
            "namespace": deploy["metadata"]["namespace"],
            "labels": {**tmpl["metadata"]["labels"]},
            "annotations": {
                REVISION: str(revision),
                "deployment.kubernetes.io/desired-replicas": str(replicas),
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": name,
                    "uid": deploy["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name, HASH_LABEL: digest}},
            "template": tmpl,
        },
        "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
    }


def pod(
    rs: Obj,
    index: int,
    *,
    state: str = "running",
    restarts: int = 0,
    image_id: str = "",
    running_image: str = "",
) -> Obj:
    """A pod of `rs`. state: running | crashloop | imagepull | oomkilled | pending."""
    tmpl = rs["spec"]["template"]
    name = f"{rs['metadata']['name']}-{index:05d}"
    statuses = []
    for c in tmpl["spec"]["containers"]:
        image = running_image or c["image"]
        status: Obj = {
            "name": c["name"],
            "image": image,
            "imageID": image_id or f"docker-pullable://{image.split(':')[0]}@sha256:{'a' * 64}",
            "restartCount": restarts,
            "ready": state == "running",
            "started": state == "running",
        }
        if state == "running":
            status["state"] = {"running": {"startedAt": iso()}}
        elif state == "crashloop":
            status["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 40s restarting failed container={c['name']} pod={name}",
                }
            }
            status["lastState"] = {
                "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": iso()}
            }
        elif state == "oomkilled":
            status["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
            status["lastState"] = {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
        elif state == "imagepull":
            status["state"] = {
                "waiting": {
                    "reason": "ImagePullBackOff",
                    "message": f'Back-off pulling image "{image}"',
                }
            }
            status["imageID"] = ""
        else:
            status["state"] = {"waiting": {"reason": "ContainerCreating"}}
            status["imageID"] = ""
        statuses.append(status)
    ready = "True" if state == "running" else "False"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": rs["metadata"]["namespace"],
            "labels": dict(tmpl["metadata"]["labels"]),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": rs["metadata"]["name"],
                    "uid": rs["metadata"].get("uid", ""),
                    "controller": True,
                }
            ],
        },
        "spec": copy.deepcopy(tmpl["spec"]),
        "status": {
            "phase": "Running" if state != "pending" and state != "imagepull" else "Pending",
            "conditions": [{"type": "Ready", "status": ready}],
            "containerStatuses": statuses,
        },
    }


def event(obj: Obj, reason: str, message: str, *, kind: str = "Warning", age: float = 0) -> Obj:
    meta = obj["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{abs(hash((reason, message, age))) % 10**12:x}",
            "namespace": meta["namespace"],
        },
        "involvedObject": {
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid", ""),
            "apiVersion": obj.get("apiVersion", ""),
        },
        "reason": reason,
        "message": message,
        "type": kind,
        "count": 1,
        "firstTimestamp": iso(-age),
        "lastTimestamp": iso(-age),
        "source": {"component": "fake"},
    }


def install_deployment(
    cluster: FakeCluster,
    name: str,
    images: list[str | dict[str, str]],
    *,
    replicas: int = 2,
    namespace: str = "default",
) -> Obj:
    """A deployment rolled out through `images` in turn: one ReplicaSet per revision,
    the last one active with ready pods. Returns the stored deployment."""
    last = len(images)
    deploy = cluster.add(
        deployment(name, images[-1], replicas=replicas, namespace=namespace, revision=last)
    )
    for revision, image in enumerate(images, start=1):
        images_map = {"app": image} if isinstance(image, str) else image
        spec_source = {**deploy, "spec": {**deploy["spec"], "template": template(name, images_map)}}
        active = revision == last
        rs = cluster.add(replicaset(spec_source, revision, replicas=replicas if active else 0))
        if not active:
            cluster.patch_status(
                "rs",
                namespace,
                rs["metadata"]["name"],
                {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0},
            )
        else:
            for i in range(replicas):
                cluster.add(pod(rs, i))
    return cluster.get("deploy", namespace, name) or {}


def active_replicaset(cluster: FakeCluster, namespace: str, name: str) -> Obj:
    deploy = cluster.get("deploy", namespace, name) or {}
    wanted = template_hash(deploy["spec"]["template"])
    for rs in cluster.list("rs", namespace):
        if rs["metadata"]["labels"].get(HASH_LABEL) == wanted:
            return rs
    raise KeyError(f"no ReplicaSet for the template of {name}")


def start_update(
    cluster: FakeCluster, namespace: str, name: str, image: str, *, container: str = "app"
) -> Obj:
    """What `kubectl set image` + the controller's first reaction do: new template
    (generation+1) observed, a new ReplicaSet at the next revision, no pods yet."""
    deploy = cluster.get("deploy", namespace, name) or {}
    revision = (
        max(
            int(rs["metadata"]["annotations"].get(REVISION, "0"))
            for rs in cluster.list("rs", namespace)
        )
        + 1
    )

    def set_image(obj: Obj) -> None:
        for c in obj["spec"]["template"]["spec"]["containers"]:
            if c["name"] == container:
                c["image"] = image
        obj["metadata"]["annotations"][REVISION] = str(revision)

    deploy = cluster.modify("deploy", namespace, name, set_image)
    rs = cluster.add(replicaset(deploy, revision, replicas=0))
    return rs


class DeploymentController:
    """Reacts to spec changes written over HTTP, like the deployment controller.

    `healthy(image)` decides whether the new pods run or crash-loop; a
    crash-looping rollout reports ProgressDeadlineExceeded after
    `deadline_after` seconds.
    """

    def __init__(
        self,
        cluster: FakeCluster,
        *,
        delay: float = 0.2,
        healthy: Callable[[str], bool] = lambda image: True,
        deadline_after: float = 1.0,
    ) -> None:
        self.cluster = cluster
        self.delay = delay
        self.healthy = healthy
        self.deadline_after = deadline_after
        cluster.on_write.append(self._on_write)

    def _on_write(self, cluster: FakeCluster, resource: Resource, obj: Obj) -> None:
        if resource.kind != "Deployment":
            return
        status = obj.get("status") or {}
        if obj["metadata"].get("generation", 1) <= status.get("observedGeneration", 0):
            return
        meta = obj["metadata"]
        threading.Thread(
            target=self.reconcile, args=(meta["namespace"], meta["name"]), daemon=True
        ).start()

    def reconcile(self, namespace: str, name: str) -> None:
        time.sleep(self.delay)
        cluster = self.cluster
        deploy = cluster.get("deploy", namespace, name)
        if deploy is None or deploy["spec"].get("paused"):
            return
        generation = deploy["metadata"]["generation"]
        replicas = deploy["spec"].get("replicas", 1)
        wanted = template_hash(deploy["spec"]["template"])
        owned = [
            rs
            for rs in cluster.list("rs", namespace)
            if rs["metadata"]["name"].startswith(f"{name}-")
        ]
        top = max(
            (int(rs["metadata"]["annotations"].get(REVISION, "0")) for rs in owned), default=0
        )
        current = next(
            (rs for rs in owned if rs["metadata"]["labels"].get(HASH_LABEL) == wanted), None
        )
        revision = int(current["metadata"]["annotations"][REVISION]) if current else top + 1
        if current is None or revision != top:
            revision = top + 1
        if current is None:
            current = cluster.add(replicaset(deploy, revision, replicas=replicas))
        else:

            def bump(rs: Obj) -> None:
                rs["metadata"]["annotations"][REVISION] = str(revision)
                rs["spec"]["replicas"] = replicas

            current = cluster.modify("rs", namespace, current["metadata"]["name"], bump)

        def annotate(obj: Obj) -> None:
            obj["metadata"].setdefault("annotations", {})[REVISION] = str(revision)

        cluster.modify("deploy", namespace, name, annotate)
        image = deploy["spec"]["template"]["spec"]["containers"][0]["image"]
        ok = self.healthy(image)
        for p in cluster.list("pod", namespace, f"app={name}"):
            if p["metadata"]["labels"].get(HASH_LABEL) == wanted:
                cluster.delete("pod", namespace, p["metadata"]["name"])
        for i in range(replicas):
            cluster.add(
                pod(current, i, state="running" if ok else "crashloop", restarts=0 if ok else 4)
            )
        if ok:
            for rs in owned:
                if rs["metadata"]["name"] != current["metadata"]["name"]:
                    cluster.patch_status(
                        "rs",
                        namespace,
                        rs["metadata"]["name"],
                        {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0},
                    )
                    for p in cluster.list(
                        "pod", namespace, f"{HASH_LABEL}={rs['metadata']['labels'][HASH_LABEL]}"
                    ):
                        cluster.delete("pod", namespace, p["metadata"]["name"])
            cluster.patch_status(
                "deploy", namespace, name, complete_status(replicas, generation=generation)
            )
            return
        old = (deploy.get("status") or {}).get("replicas", replicas)
        cluster.patch_status(
            "deploy",
            namespace,
            name,
            {
                "observedGeneration": generation,
                "replicas": old + replicas,
                "updatedReplicas": replicas,
                "readyReplicas": old,
                "availableReplicas": old,
                "unavailableReplicas": replicas,
                "conditions": [
                    condition("Available", "True", "MinimumReplicasAvailable"),
                    condition("Progressing", "True", "ReplicaSetUpdated"),
                ],
            },
        )
        for p in cluster.list("pod", namespace, f"{HASH_LABEL}={wanted}"):
            cluster.set_logs(
                namespace,
                p["metadata"]["name"],
                "app",
                "starting\nsqlite3.OperationalError: unable to open database file\n",
                previous=True,
            )
            cluster.add(event(p, "BackOff", "Back-off restarting failed container app"))
        time.sleep(self.deadline_after)
        latest = cluster.get("deploy", namespace, name)
        if latest is None or latest["metadata"]["generation"] != generation:
            return
        cluster.patch_status(
            "deploy",
            namespace,
            name,
            {
                "conditions": [
                    condition("Available", "True", "MinimumReplicasAvailable"),
                    condition(
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        f'ReplicaSet "{current["metadata"]["name"]}" has timed out progressing.',
                    ),
                ]
            },
        )
