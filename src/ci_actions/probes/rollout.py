"""Rollout status of one workload, with the semantics of `kubectl rollout status`.

Works on the object as the API returns it (a plain dict). The rules follow
kubectl's status viewers: a spec change must be observed first
(generation vs observedGeneration); a Deployment whose Progressing condition
says ProgressDeadlineExceeded has failed; otherwise it waits until every
replica is updated, no old replica is left and every updated one is
available. StatefulSets honour partitions and refuse OnDelete; DaemonSets
compare updatedNumberScheduled and numberAvailable with the desired count.

One addition: a paused Deployment whose rollout is not complete can never
finish (the controller does not progress it), so it fails at once instead of
running into the timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ci_actions.errors import InputError

Obj = dict[str, Any]

KINDS = {
    "deployment": "deployment",
    "deployments": "deployment",
    "deploy": "deployment",
    "statefulset": "statefulset",
    "statefulsets": "statefulset",
    "sts": "statefulset",
    "daemonset": "daemonset",
    "daemonsets": "daemonset",
    "ds": "daemonset",
}
PLURALS = {"deployment": "deployments", "statefulset": "statefulsets", "daemonset": "daemonsets"}


@dataclass(frozen=True)
class Workload:
    kind: str  # deployment | statefulset | daemonset
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def parse_workload(line: str, namespace: str, input_name: str = "workloads") -> Workload:
    """`deployment/NAME` (also `deploy/`, `sts/`, `ds/`, plurals); `NS/KIND/NAME` is not accepted."""
    kind, sep, name = line.strip().partition("/")
    canonical = KINDS.get(kind.lower())
    if not sep or canonical is None or not name or "/" in name:
        raise InputError(
            input_name,
            f"{line!r} is not KIND/NAME",
            hint="write deployment/NAME, statefulset/NAME or daemonset/NAME, one per line",
        )
    return Workload(canonical, name, namespace)


@dataclass(frozen=True)
class Status:
    done: bool
    message: str
    failure: str = ""  # a machine-readable reason when the rollout failed for good

    @property
    def failed(self) -> bool:
        return bool(self.failure)


def _int(value: Any) -> int:
    return int(value or 0)


def status_of(kind: str, obj: Obj) -> Status:
    name = obj.get("metadata", {}).get("name", "")
    if kind == "deployment":
        return deployment_status(name, obj)
    if kind == "statefulset":
        return statefulset_status(obj)
    if kind == "daemonset":
        return daemonset_status(name, obj)
    raise ValueError(f"no rollout status for {kind}")


def deployment_status(name: str, obj: Obj) -> Status:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    generation = _int(obj.get("metadata", {}).get("generation"))
    if generation > _int(status.get("observedGeneration")):
        return Status(False, "Waiting for deployment spec update to be observed...")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Status(
                False,
                f'deployment "{name}" exceeded its progress deadline',
                "progress-deadline-exceeded",
            )
    desired = spec.get("replicas")
    updated = _int(status.get("updatedReplicas"))
    replicas = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    waiting = ""
    if desired is not None and updated < int(desired):
        waiting = f"{updated} out of {desired} new replicas have been updated"
    elif replicas > updated:
        waiting = f"{replicas - updated} old replicas are pending termination"
    elif available < updated:
        waiting = f"{available} of {updated} updated replicas are available"
    if not waiting:
        return Status(True, f'deployment "{name}" successfully rolled out')
    if spec.get("paused"):
        return Status(
            False,
            f'deployment "{name}" is paused with its rollout unfinished ({waiting})',
            "paused",
        )
    return Status(False, f'Waiting for deployment "{name}" rollout to finish: {waiting}...')


def statefulset_status(obj: Obj) -> Status:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return Status(
            False,
            "rollout status is only available for RollingUpdate strategy type",
            "unsupported-strategy",
        )
    observed = _int(status.get("observedGeneration"))
    if observed == 0 or _int(obj.get("metadata", {}).get("generation")) > observed:
        return Status(False, "Waiting for statefulset spec update to be observed...")
    desired = spec.get("replicas")
    ready = _int(status.get("readyReplicas"))
    if desired is not None and ready < int(desired):
        return Status(False, f"Waiting for {int(desired) - ready} pods to be ready...")
    updated = _int(status.get("updatedReplicas"))
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        partition = rolling.get("partition")
        if (
            desired is not None
            and partition is not None
            and updated < int(desired) - int(partition)
        ):
            return Status(
                False,
                "Waiting for partitioned roll out to finish: "
                f"{updated} out of {int(desired) - int(partition)} new pods have been updated...",
            )
        return Status(
            True, f"partitioned roll out complete: {updated} new pods have been updated..."
        )
    update_rev, current_rev = status.get("updateRevision", ""), status.get("currentRevision", "")
    if update_rev != current_rev:
        return Status(
            False,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_rev}...",
        )
    return Status(
        True,
        f"statefulset rolling update complete {_int(status.get('currentReplicas'))} pods at revision {current_rev}...",
    )


def daemonset_status(name: str, obj: Obj) -> Status:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        return Status(
            False,
            "rollout status is only available for RollingUpdate strategy type",
            "unsupported-strategy",
        )
    if _int(obj.get("metadata", {}).get("generation")) > _int(status.get("observedGeneration")):
        return Status(False, "Waiting for daemon set spec update to be observed...")
    desired = _int(status.get("desiredNumberScheduled"))
    updated = _int(status.get("updatedNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    if updated < desired:
        return Status(
            False,
            f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods have been updated...',
        )
    if available < desired:
        return Status(
            False,
            f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods are available...',
        )
    return Status(True, f'daemon set "{name}" successfully rolled out')
