"""Find a workload's pods of the new version, and explain a failed rollout.

Diagnostics per pod: phase, each container's state and reason
(CrashLoopBackOff, ImagePullBackOff, OOMKilled …), restart count, the last
lines of the failing containers' current and previous logs; and the recent
events of the workload, its ReplicaSets and its pods, newest last.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from ci_actions.errors import EnvironmentFailure
from ci_actions.probes.kube import KubeClient
from ci_actions.probes.rollout import Workload

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
LOG_LINES = 50
MAX_EVENTS = 20
MAX_PODS = 5


def _selector(obj: Obj) -> str:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner.get("metadata", {}).get("uid")
    refs = obj.get("metadata", {}).get("ownerReferences") or []
    return any(ref.get("uid") == uid and ref.get("controller") for ref in refs)


def replicasets_of(kube: KubeClient, deployment: Obj) -> list[Obj]:
    namespace = deployment["metadata"]["namespace"]
    items, _ = kube.list("replicasets", namespace, labels=_selector(deployment))
    return [rs for rs in items if _owned_by(rs, deployment)]


def revision(obj: Obj) -> int:
    try:
        return int((obj.get("metadata", {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def same_template(a: Obj, b: Obj) -> bool:
    """Equal pod templates, ignoring the `pod-template-hash` label a ReplicaSet adds
    (the deployment controller's own test for "this ReplicaSet runs that template")."""

    def norm(t: Obj) -> str:
        t = copy.deepcopy(t)
        meta = t.get("metadata") or {}
        (meta.get("labels") or {}).pop(HASH_LABEL, None)
        meta.pop("creationTimestamp", None)
        return json.dumps(t, sort_keys=True)

    return norm(a) == norm(b)


def new_replicaset(kube: KubeClient, deployment: Obj) -> Obj | None:
    """The ReplicaSet of the deployment's current template, as the controller finds it
    (the template without its hash label); else the one at the deployment's revision."""
    template = (deployment.get("spec") or {}).get("template") or {}
    owned = sorted(replicasets_of(kube, deployment), key=revision, reverse=True)
    wanted = revision(deployment)
    return next(
        (
            rs
            for rs in owned
            if same_template((rs.get("spec") or {}).get("template") or {}, template)
        ),
        None,
    ) or next((rs for rs in owned if wanted and revision(rs) == wanted), None)


def terminating(pod: Obj) -> bool:
    return bool(pod.get("metadata", {}).get("deletionTimestamp"))


def new_pods(kube: KubeClient, workload: Workload, obj: Obj) -> list[Obj]:
    """The pods that count for the rollout: they run the workload's current template
    (Deployment: owned by the current ReplicaSet; StatefulSet: at `updateRevision`;
    DaemonSet: with the template's images) and are not terminating. kubectl's
    counters leave terminating pods out too."""
    return [p for p in _current_pods(kube, workload, obj) if not terminating(p)]


def _current_pods(kube: KubeClient, workload: Workload, obj: Obj) -> list[Obj]:
    namespace = workload.namespace
    if workload.kind == "deployment":
        rs = new_replicaset(kube, obj)
        if rs is None:
            return []
        pods, _ = kube.list("pods", namespace, labels=_selector(rs))
        return [p for p in pods if _owned_by(p, rs)]
    pods, _ = kube.list("pods", namespace, labels=_selector(obj))
    pods = [p for p in pods if _owned_by(p, obj)]
    if workload.kind == "statefulset":
        update = (obj.get("status") or {}).get("updateRevision", "")
        return [
            p
            for p in pods
            if p["metadata"].get("labels", {}).get("controller-revision-hash") == update
        ]
    wanted = [c.get("image") for c in obj["spec"]["template"]["spec"].get("containers", [])]
    return [p for p in pods if [c.get("image") for c in p["spec"].get("containers", [])] == wanted]


def wanted_pods(kind: str, obj: Obj) -> int:
    """How many pods of the current template the rollout asks for: 0 means there is
    no pod to check (scaled to zero, a partition covering every ordinal, no node)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "daemonset":
        return int(status.get("desiredNumberScheduled") or 0)
    replicas = int(spec["replicas"]) if spec.get("replicas") is not None else 1
    if kind == "statefulset":
        rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
        return max(0, replicas - int(rolling.get("partition") or 0))
    return replicas


@dataclass
class ContainerReport:
    name: str
    state: str  # running | waiting | terminated
    reason: str
    message: str
    restarts: int
    ready: bool
    last_reason: str  # why the previous instance ended (OOMKilled, Error …)
    exit_code: int | None
    logs: str = ""
    previous_logs: str = ""

    @property
    def failing(self) -> bool:
        return not self.ready or self.restarts > 0


@dataclass
class PodReport:
    name: str
    phase: str
    containers: list[ContainerReport] = field(default_factory=list)


@dataclass
class Diagnostics:
    workload: str
    pods: list[PodReport] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what could not be read

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostics:
        pods = [
            PodReport(p["name"], p["phase"], [ContainerReport(**c) for c in p["containers"]])
            for p in data.get("pods", [])
        ]
        return cls(
            data["workload"], pods, list(data.get("events", [])), list(data.get("errors", []))
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "pods": [
                {"name": p.name, "phase": p.phase, "containers": [c.__dict__ for c in p.containers]}
                for p in self.pods
            ],
            "events": self.events,
            "errors": self.errors,
        }


def _container(status: Obj) -> ContainerReport:
    state = status.get("state") or {}
    kind = next(iter(state), "unknown")
    detail = state.get(kind) or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    terminated = detail if kind == "terminated" else last
    return ContainerReport(
        name=str(status.get("name", "")),
        state=kind,
        reason=str(detail.get("reason", "")),
        message=str(detail.get("message", "")),
        restarts=int(status.get("restartCount") or 0),
        ready=bool(status.get("ready")),
        last_reason=str(last.get("reason", "")),
        exit_code=terminated.get("exitCode"),
    )


def _tail(kube: KubeClient, namespace: str, pod: str, container: str, previous: bool) -> str:
    query = {"container": container, "tailLines": str(LOG_LINES)}
    if previous:
        query["previous"] = "true"
    try:
        return kube.get_text(kube.path("pods", namespace, pod, "log"), query, timeout=10)
    except EnvironmentFailure:
        return ""  # no previous instance, or the node is gone: nothing to show


def _event_time(event: Obj) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or event.get("metadata", {}).get("creationTimestamp")
        or ""
    )


def diagnose(kube: KubeClient, workload: Workload, obj: Obj | None) -> Diagnostics:
    report = Diagnostics(str(workload))
    namespace = workload.namespace
    try:
        subjects = {workload.name}
        pods: list[Obj] = []
        if obj is not None:
            pods = new_pods(kube, workload, obj)
            if workload.kind == "deployment":
                subjects |= {rs["metadata"]["name"] for rs in replicasets_of(kube, obj)}
        unhealthy = [p for p in pods if not _pod_ready(p)] or pods
        for pod in unhealthy[:MAX_PODS]:
            name = pod["metadata"]["name"]
            subjects.add(name)
            entry = PodReport(name, str((pod.get("status") or {}).get("phase", "")))
            statuses = (pod.get("status") or {}).get("initContainerStatuses") or []
            statuses += (pod.get("status") or {}).get("containerStatuses") or []
            for status in statuses:
                container = _container(status)
                if container.failing:
                    container.logs = _tail(kube, namespace, name, container.name, previous=False)
                    if container.restarts > 0:
                        container.previous_logs = _tail(
                            kube, namespace, name, container.name, previous=True
                        )
                entry.containers.append(container)
            report.pods.append(entry)
        events, _ = kube.list("events", namespace)
        related = [e for e in events if (e.get("involvedObject") or {}).get("name") in subjects]
        related.sort(key=_event_time)
        report.events = [
            {
                "time": _event_time(e),
                "type": str(e.get("type", "")),
                "reason": str(e.get("reason", "")),
                "object": f"{(e.get('involvedObject') or {}).get('kind', '')}/{(e.get('involvedObject') or {}).get('name', '')}",
                "message": str(e.get("message", "")).strip(),
                "count": str(e.get("count") or 1),
            }
            for e in related[-MAX_EVENTS:]
        ]
    except EnvironmentFailure as exc:
        report.errors.append(str(exc))
    return report


def _pod_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def markdown(diag: Diagnostics) -> str:
    lines = [f"#### Diagnostics: `{diag.workload}`", ""]
    if diag.pods:
        lines += [
            "| pod | phase | container | state | reason | restarts | last exit |",
            "|---|---|---|---|---|---|---|",
        ]
        for pod in diag.pods:
            for c in pod.containers or [ContainerReport("-", "-", "", "", 0, False, "", None)]:
                last = f"{c.last_reason} ({c.exit_code})" if c.last_reason else ""
                lines.append(
                    f"| {pod.name} | {pod.phase} | {c.name} | {c.state} | {c.reason} | {c.restarts} | {last} |"
                )
        for pod in diag.pods:
            for c in pod.containers:
                for title, text in (("previous", c.previous_logs), ("current", c.logs)):
                    if text.strip():
                        lines += [
                            "",
                            f"<details><summary>{pod.name}/{c.name}: {title} logs (last {LOG_LINES} lines)</summary>",
                            "",
                            "```",
                            text.rstrip("\n").replace("```", "'''"),
                            "```",
                            "</details>",
                        ]
    else:
        lines.append("No pods of the new version.")
    if diag.events:
        lines += ["", "| time | type | reason | object | message |", "|---|---|---|---|---|"]
        for e in diag.events:
            message = e["message"].replace("|", "\\|").replace("\n", " ")
            lines.append(
                f"| {e['time']} | {e['type']} | {e['reason']} | {e['object']} | {message} |"
            )
    for error in diag.errors:
        lines += ["", f"Could not read everything: {error}"]
    return "\n".join(lines) + "\n"


def log_text(diag: Diagnostics) -> str:
    """Plain-text form for the job log."""
    out = [f"diagnostics for {diag.workload}:"]
    for pod in diag.pods:
        out.append(f"  pod {pod.name} phase={pod.phase}")
        for c in pod.containers:
            out.append(
                f"    {c.name}: {c.state} {c.reason} restarts={c.restarts}"
                + (f" last={c.last_reason}({c.exit_code})" if c.last_reason else "")
            )
            for title, text in (("previous", c.previous_logs), ("current", c.logs)):
                if text.strip():
                    out.append(f"    --- {title} logs ---")
                    out += [f"    {line}" for line in text.rstrip("\n").splitlines()]
    for e in diag.events:
        out.append(f"  event {e['time']} {e['type']} {e['reason']} {e['object']}: {e['message']}")
    out += [f"  (could not read: {err})" for err in diag.errors]
    return "\n".join(out)
