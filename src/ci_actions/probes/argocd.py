"""Wait until Argo CD has synced the pushed revision and the app is healthy.

An app passes only when `status.sync.revision` (or every entry of
`status.sync.revisions`, for multi-source apps) is the expected commit, sync
is `Synced`, health is `Healthy` and no operation is in flight. Without the
revision test, an app still showing the previous revision as Synced and
Healthy (Argo CD has not noticed the push yet) would pass: the stale-state
race. `refresh` asks Argo CD to compare with git first (hard: also drop its
manifest cache), once, on the first read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ci_actions.errors import EnvironmentFailure

Obj = dict[str, Any]
RUNNING_PHASES = {"Running", "Terminating"}
FAILED_PHASES = {"Failed", "Error"}


@dataclass
class ArgoOutcome:
    app: str
    healthy: bool = False
    failure: str = ""  # "", argocd-timeout, argocd-degraded, argocd-sync-failed
    message: str = ""
    observations: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "healthy": self.healthy,
            "failure": self.failure,
            "message": self.message,
            "observations": self.observations[-20:],
        }


def _revision_matches(seen: str, expected: str) -> bool:
    """Equal, or `expected` an abbreviated SHA (7+ characters) of `seen`."""
    return bool(seen) and (seen == expected or (len(expected) >= 7 and seen.startswith(expected)))


def judge(app: Obj, expected_revision: str) -> tuple[str, str]:
    """("ok" | "wait" | "degraded" | "sync-failed", why)."""
    status = app.get("status") or {}
    sync = status.get("sync") or {}
    revisions = list(sync.get("revisions") or []) or [str(sync.get("revision") or "")]
    health = (status.get("health") or {}).get("status", "")
    op_state = status.get("operationState") or {}
    phase = op_state.get("phase", "")
    in_flight = bool(app.get("operation")) or phase in RUNNING_PHASES
    on_revision = not expected_revision or any(
        _revision_matches(r, expected_revision) for r in revisions
    )
    summary = f"revision {','.join(r[:12] for r in revisions) or '-'}, sync {sync.get('status', '-')}, health {health or '-'}, operation {phase or 'none'}"
    if on_revision and phase in FAILED_PHASES and not in_flight:
        op_revision = str(
            (op_state.get("syncResult") or {}).get("revision")
            or (op_state.get("operation") or {}).get("sync", {}).get("revision")
            or ""
        )
        if (
            not expected_revision
            or _revision_matches(op_revision, expected_revision)
            or not op_revision
        ):
            return (
                "sync-failed",
                f"sync of the revision failed: {op_state.get('message', '')} ({summary})",
            )
    if not on_revision:
        return "wait", f"not on {expected_revision[:12]} yet ({summary})"
    if in_flight:
        return "wait", f"operation in progress ({summary})"
    if sync.get("status") != "Synced":
        return "wait", f"not synced ({summary})"
    if health == "Degraded":
        return "degraded", f"{(status.get('health') or {}).get('message', 'Degraded')} ({summary})"
    if health != "Healthy":
        return "wait", f"not healthy yet ({summary})"
    return "ok", summary


def wait_for_app(
    server: str,
    app: str,
    token: str,
    expected_revision: str,
    *,
    timeout: float,
    interval: float,
    refresh: str = "",
    verify_tls: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ArgoOutcome:
    import requests

    outcome = ArgoOutcome(app)
    start = clock()
    deadline = start + timeout
    url = f"{server.rstrip('/')}/api/v1/applications/{app}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    first = True
    last = ""
    with requests.Session() as session:
        while True:
            left = deadline - clock()
            params = {"refresh": refresh} if first and refresh else {}
            try:
                response = session.get(
                    url,
                    headers=headers,
                    params=params,
                    timeout=max(0.5, min(10.0, left)),
                    verify=verify_tls,
                )
            except requests.RequestException as exc:
                if first:
                    raise EnvironmentFailure(f"cannot reach Argo CD at {server}: {exc}") from None
                last = f"Argo CD unreachable: {exc}"
                response = None
            if response is not None:
                if response.status_code in (401, 403):
                    raise EnvironmentFailure(
                        f"Argo CD refused the token ({response.status_code})",
                        hint="check argocd-token",
                    )
                if response.status_code == 404:
                    raise EnvironmentFailure(
                        f"Argo CD has no application {app!r}", hint="check argocd-app"
                    )
                if response.status_code >= 400:
                    last = f"Argo CD answered {response.status_code}"
                else:
                    first = False
                    verdict, last = judge(response.json(), expected_revision)
                    outcome.observations.append(
                        {"t": round(clock() - start, 3), "verdict": verdict, "state": last}
                    )
                    if verdict == "ok":
                        outcome.healthy, outcome.message = True, f"{app}: {last}"
                        return outcome
                    if verdict in ("degraded", "sync-failed"):
                        outcome.failure, outcome.message = f"argocd-{verdict}", f"{app}: {last}"
                        return outcome
            left = deadline - clock()
            if left <= 0:
                outcome.failure = "argocd-timeout"
                outcome.message = f"{app} not synced and healthy on the expected revision within {timeout:g}s; last: {last}"
                return outcome
            sleep(min(interval, left))
