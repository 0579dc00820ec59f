"""Wait for a rollout by watching the workload, as `kubectl rollout status` does.

List the object (by name), judge it, then watch from the list's
resourceVersion and judge every change as it arrives, so a verdict follows
the API within the time it takes an event to travel. Bookmarks keep the
resourceVersion fresh; a 410 Gone (history compacted) re-lists; a dropped or
silent stream reconnects from the last resourceVersion. The wait never
outlives its timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ci_actions.errors import EnvironmentFailure
from ci_actions.probes.kube import KubeClient, KubeError, StreamBroken
from ci_actions.probes.rollout import PLURALS, Status, Workload, status_of

Obj = dict[str, Any]
WATCH_WINDOW = 60.0  # longest silent stream before reconnecting
RETRY_PAUSE = 0.2  # between reconnects after a connection error


@dataclass
class RolloutOutcome:
    workload: Workload
    healthy: bool
    failure: str = ""  # "", progress-deadline-exceeded, rollout-timeout, paused, not-found, deleted, unsupported-strategy
    message: str = ""
    obj: Obj | None = None
    seconds: float = 0.0
    timeline: list[tuple[float, str]] = field(default_factory=list)  # (seconds, status message)
    relists: int = 0
    reconnects: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "workload": str(self.workload),
            "namespace": self.workload.namespace,
            "healthy": self.healthy,
            "failure": self.failure,
            "message": self.message,
            "seconds": round(self.seconds, 3),
            "timeline": [{"t": round(t, 3), "message": m} for t, m in self.timeline],
            "relists": self.relists,
            "reconnects": self.reconnects,
        }


class _Verdict(Exception):
    def __init__(self, status: Status) -> None:
        self.status = status


@dataclass
class _Watcher:
    kube: KubeClient
    workload: Workload
    timeout: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    on_status: Callable[[Workload, str], None] = lambda workload, message: None

    def __post_init__(self) -> None:
        self.start = self.clock()
        self.deadline = self.start + self.timeout
        self.outcome = RolloutOutcome(self.workload, healthy=False)
        self.plural = PLURALS[self.workload.kind]
        self.fields = f"metadata.name={self.workload.name}"

    def run(self) -> RolloutOutcome:
        try:
            obj, rv = self._list()
            if obj is None:
                return self._finish(
                    "not-found",
                    f'{self.plural}{".apps"} "{self.workload.name}" not found in namespace {self.workload.namespace}',
                )
            self._judge(obj)
            while self.clock() < self.deadline:
                rv, gone = self._watch_once(rv)
                if gone:
                    self.outcome.relists += 1
                    obj, rv = self._list()
                    if obj is None:
                        return self._finish(
                            "deleted", f"{self.workload} was deleted during the rollout"
                        )
                    self._judge(obj)
        except _Verdict as verdict:
            status = verdict.status
            if status.done:
                self.outcome.healthy = True
                return self._finish("", status.message)
            return self._finish(status.failure, status.message)
        last = self.outcome.timeline[-1][1] if self.outcome.timeline else ""
        return self._finish(
            "rollout-timeout",
            f"{self.workload} did not finish rolling out within {self.timeout:g}s (last: {last})",
        )

    def _finish(self, failure: str, message: str) -> RolloutOutcome:
        self.outcome.failure = failure
        self.outcome.message = message
        self.outcome.seconds = self.clock() - self.start
        return self.outcome

    def _list(self) -> tuple[Obj | None, str]:
        while True:
            try:
                items, rv = self.kube.list(self.plural, self.workload.namespace, fields=self.fields)
                return (items[0] if items else None), rv
            except EnvironmentFailure:
                if self.outcome.timeline == [] and self.outcome.relists == 0:
                    raise  # the API is unreachable from the start: an environment failure
                if self.clock() + RETRY_PAUSE >= self.deadline:
                    raise
                self.sleep(RETRY_PAUSE)

    def _judge(self, obj: Obj) -> None:
        self.outcome.obj = obj
        status = status_of(self.workload.kind, obj)
        if not self.outcome.timeline or self.outcome.timeline[-1][1] != status.message:
            self.outcome.timeline.append((self.clock() - self.start, status.message))
            self.on_status(self.workload, status.message)
        if status.done or status.failed:
            raise _Verdict(status)

    def _watch_once(self, rv: str) -> tuple[str, bool]:
        """Follow one watch stream; returns (resourceVersion reached, 410 seen)."""
        remaining = self.deadline - self.clock()
        try:
            stream = self.kube.watch(
                self.plural,
                self.workload.namespace,
                rv,
                fields=self.fields,
                timeout=min(remaining, WATCH_WINDOW),
            )
        except KubeError as exc:
            if exc.code == 410:
                return rv, True
            self._pause()
            return rv, False
        except EnvironmentFailure:
            self._pause()
            return rv, False
        try:
            for kind, obj in stream.events():
                if kind == "ERROR":
                    if int(obj.get("code") or 0) == 410:
                        return rv, True
                    self._pause()  # any other error ends this stream: watch again
                    return rv, False
                rv = str(obj.get("metadata", {}).get("resourceVersion") or rv)
                if kind == "DELETED":
                    raise _Verdict(
                        Status(False, f"{self.workload} was deleted during the rollout", "deleted")
                    )
                if kind in ("ADDED", "MODIFIED"):
                    self._judge(obj)
                if self.clock() >= self.deadline:
                    break
        except StreamBroken:
            self.outcome.reconnects += 1
        finally:
            stream.close()
        return rv, False

    def _pause(self) -> None:
        self.outcome.reconnects += 1
        self.sleep(max(0.0, min(RETRY_PAUSE, self.deadline - self.clock())))


def wait_for_rollout(
    kube: KubeClient,
    workload: Workload,
    timeout: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    on_status: Callable[[Workload, str], None] = lambda workload, message: None,
) -> RolloutOutcome:
    return _Watcher(kube, workload, timeout, clock=clock, on_status=on_status).run()


def wait_for_all(
    kube: KubeClient,
    workloads: list[Workload],
    timeout: float,
    *,
    on_status: Callable[[Workload, str], None] = lambda workload, message: None,
) -> list[RolloutOutcome]:
    """Every workload watched at once, each within the same timeout."""
    if len(workloads) == 1:
        return [wait_for_rollout(kube, workloads[0], timeout, on_status=on_status)]
    with ThreadPoolExecutor(max_workers=min(8, len(workloads))) as pool:
        futures = [
            pool.submit(wait_for_rollout, kube, w, timeout, on_status=on_status) for w in workloads
        ]
        return [f.result() for f in futures]
