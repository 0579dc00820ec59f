"""The probe in order: Argo CD synced the revision, the rollouts completed, the pods
run the expected images, the HTTP checks pass; on failure, diagnostics and
(when asked) a rollback. Produces the verdict, the JSON report and the summary."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_actions.errors import CiActionsError, EnvironmentFailure
from ci_actions.github.context import Context
from ci_actions.probes import http as httpprobe
from ci_actions.probes.argocd import wait_for_app
from ci_actions.probes.diagnose import Diagnostics, diagnose, log_text, new_pods, wanted_pods
from ci_actions.probes.images import Expected, Mismatch, applies_to, check_pods, check_template
from ci_actions.probes.kube import KubeClient
from ci_actions.probes.registry import IndexLookup
from ci_actions.probes.rollback import (
    RollbackRefused,
    image_from_ledger,
    images_from_previous,
    undo_deployment,
)
from ci_actions.probes.rollout import Workload
from ci_actions.probes.summary import render
from ci_actions.probes.wait import RolloutOutcome, wait_for_all

SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass
class ProbeSettings:
    workloads: list[Workload] = field(default_factory=list)
    rollout_timeout: float = 300.0
    expected_images: list[Expected] = field(default_factory=list)
    checks: list[httpprobe.Check] = field(default_factory=list)
    timing: httpprobe.Timing = field(default_factory=httpprobe.Timing)
    argocd: Mapping[str, str] = field(default_factory=dict)
    rollback: str = "never"
    rollback_mode: str = "kubernetes"
    previous_images: dict[str, str] | None = None
    gitops: Mapping[str, str] = field(default_factory=dict)
    ledger: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Probe:
    settings: ProbeSettings
    ctx: Context
    kubeconfig: Path | None = None
    kube_context: str = ""
    namespace: str = ""


@dataclass
class ProbeOutcome:
    healthy: bool
    failure: str
    rolled_back: bool
    report: dict[str, Any]
    summary: str
    message: str


def resolve_namespace(probe: Probe) -> str:
    if probe.namespace:
        return probe.namespace
    if probe.kubeconfig is not None:
        from kubernetes import config

        try:
            contexts, current = config.list_kube_config_contexts(str(probe.kubeconfig))  # type: ignore[no-untyped-call]
        except Exception:  # a broken kubeconfig is reported when the client loads it
            return "default"
        chosen = (
            next((c for c in contexts if c.get("name") == probe.kube_context), current)
            if probe.kube_context
            else current
        )
        return str(((chosen or {}).get("context") or {}).get("namespace") or "default")
    if SA_NAMESPACE.is_file():
        return SA_NAMESPACE.read_text(encoding="utf-8").strip() or "default"
    return "default"


class _Run:
    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.s = probe.settings
        self.log = probe.ctx.log
        self.kube: KubeClient | None = None
        self.failure = ""
        self.reasons: list[str] = []
        self.rollouts: list[RolloutOutcome] = []
        self.image_problems: list[Mismatch] = []
        self.http_results: list[httpprobe.CheckResult] = []
        self.diagnostics: list[Diagnostics] = []
        self.report: dict[str, Any] = {}
        self.rolled_back = False
        self.namespace = ""

    def fail(self, failure: str, reason: str) -> None:
        if not self.failure:
            self.failure = failure
        self.reasons.append(reason)
        self.log.error(reason)

    def client(self) -> KubeClient:
        if self.kube is None:
            self.kube = KubeClient.from_kubeconfig(self.probe.kubeconfig, self.probe.kube_context)
        return self.kube

    def workloads(self) -> list[Workload]:
        return [Workload(w.kind, w.name, self.namespace) for w in self.s.workloads]

    # ---- steps

    def argocd(self) -> None:
        a = self.s.argocd
        if not a.get("app"):
            return
        with self.log.group(f"Argo CD: {a['app']}"):
            outcome = wait_for_app(
                a["server"],
                a["app"],
                a.get("token", ""),
                a.get("expected_revision", ""),
                timeout=float(a.get("timeout") or 300),
                interval=max(0.2, min(self.s.timing.interval, 5.0)),
                refresh=a.get("refresh", ""),
                verify_tls=self.s.timing.verify_tls,
            )
            for obs in outcome.observations:
                self.log.info(f"+{obs['t']:.1f}s {obs['state']}")
        self.report["argocd"] = outcome.as_dict()
        if not outcome.healthy:
            self.fail(outcome.failure, outcome.message)
        else:
            self.log.info(outcome.message)

    def rollouts_step(self) -> None:
        if not self.s.workloads:
            return
        kube = self.client()
        with self.log.group("rollout status"):
            self.rollouts = wait_for_all(
                kube,
                self.workloads(),
                self.s.rollout_timeout,
                on_status=lambda w, message: self.log.info(f"{w}: {message}"),
            )
        self.report["rollouts"] = [r.as_dict() for r in self.rollouts]
        for r in self.rollouts:
            if not r.healthy:
                self.fail(r.failure, f"{r.workload}: {r.message}")

    def images_step(self) -> None:
        """Each expectation applies to the workloads that run its container (by name,
        or by repository); one that applies to none is a mismatch too."""
        if not self.s.expected_images or self.failure:
            return
        kube = self.client()
        lookup = IndexLookup()
        entries = []
        used: set[Expected] = set()
        for r in self.rollouts:
            obj = r.obj or {}
            template = (obj.get("spec") or {}).get("template") or {}
            mine = [e for e in self.s.expected_images if applies_to(e, template)]
            used.update(mine)
            # Only pods the rollout asks for count: none when it wants zero.
            wanted = wanted_pods(r.workload.kind, obj)
            pods = new_pods(kube, r.workload, obj) if mine and wanted else []
            problems = check_template(mine, template) + (
                check_pods(mine, pods, lookup.related) if mine and wanted else []
            )
            entries.append(
                {
                    "workload": str(r.workload),
                    "expected": [str(e) for e in mine],
                    "wanted_pods": wanted,
                    "pods": [p["metadata"]["name"] for p in pods],
                    "mismatches": [m.__dict__ for m in problems],
                }
            )
            for m in problems:
                self.image_problems.append(m)
                self.fail("image-mismatch", f"{r.workload}: {m}")
        for e in self.s.expected_images:
            if e not in used:
                found = sorted(
                    {
                        str(c.get("image", ""))
                        for r in self.rollouts
                        for c in (
                            (((r.obj or {}).get("spec") or {}).get("template") or {}).get("spec")
                            or {}
                        ).get("containers", [])
                    }
                )
                m = Mismatch("workloads", str(e), ", ".join(found))
                entries.append(
                    {
                        "workload": "(none)",
                        "expected": [str(e)],
                        "pods": [],
                        "mismatches": [m.__dict__],
                    }
                )
                self.image_problems.append(m)
                self.fail(
                    "image-mismatch", f"no workload runs {e} (they run {m.actual or 'nothing'})"
                )
        self.report["images"] = {
            "expected": [str(e) for e in self.s.expected_images],
            "workloads": entries,
        }

    def http_step(self) -> None:
        if not self.s.checks or self.failure:
            return

        def show(a: httpprobe.Attempt) -> None:
            verdict = "ok" if a.ok else a.reason
            latency = f"{a.latency_ms:.0f} ms" if a.latency_ms is not None else "-"
            self.log.info(f"+{a.t:.1f}s {a.check}: {a.status or '-'} {latency} {verdict}")

        with self.log.group("HTTP checks"):
            self.http_results = httpprobe.Prober(self.s.timing, on_attempt=show).run(self.s.checks)
        self.report["http"] = {
            "checks": [
                {
                    "check": r.check.label,
                    "healthy": r.healthy,
                    "reason": r.reason,
                    "flaps": r.flaps,
                    "attempts": [a.as_dict() for a in r.attempts],
                }
                for r in self.http_results
            ],
            "flaps": sum(r.flaps for r in self.http_results),
            "latency_ms": httpprobe.latency_summary(self.http_results),
        }
        for r in self.http_results:
            if not r.healthy:
                self.fail("http-check-failed", f"{r.check.label}: {r.reason}")

    def diagnose_step(self) -> None:
        if not self.failure or not self.s.workloads:
            return
        try:
            kube = self.client()
        except CiActionsError:
            return
        outcomes = {str(r.workload): r for r in self.rollouts}
        targets = [
            w for w in self.workloads() if str(w) not in outcomes or not outcomes[str(w)].healthy
        ] or self.workloads()
        for w in targets:
            obj = outcomes[str(w)].obj if str(w) in outcomes else None
            if obj is None:
                try:
                    obj = kube.get(f"{w.kind}s", w.namespace, w.name)
                except EnvironmentFailure:
                    obj = None
            diag = diagnose(kube, w, obj)
            self.diagnostics.append(diag)
            with self.log.group(f"diagnostics: {w}"):
                for line in log_text(diag).splitlines():
                    self.log.info(line)
        self.report["diagnostics"] = [d.as_dict() for d in self.diagnostics]

    def rollback_step(self) -> None:
        if not self.failure or self.s.rollback != "on-failure":
            return
        if self.failure in ("not-found", "deleted"):
            self.report["rollback"] = {
                "mode": self.s.rollback_mode,
                "done": False,
                "error": "nothing to roll back: the workload is gone",
            }
            return
        with self.log.group(f"rollback ({self.s.rollback_mode})"):
            if self.s.rollback_mode == "kubernetes":
                self.report["rollback"] = self._rollback_kubernetes()
            else:
                self.report["rollback"] = self._rollback_gitops()
        self.rolled_back = bool(self.report["rollback"].get("done"))

    def _rollback_kubernetes(self) -> dict[str, Any]:
        kube = self.client()
        undone, errors = [], []
        for w in self.workloads():
            try:
                undo = undo_deployment(kube, w)
            except RollbackRefused as exc:
                errors.append(str(exc))
                self.log.error(str(exc))
                continue
            self.log.info(
                f"{w}: rolled back from revision {undo.from_revision} to {undo.to_revision} ({', '.join(undo.images)})"
            )
            undone.append(undo)
        waits = (
            wait_for_all(
                kube,
                [u.workload for u in undone],
                self.s.rollout_timeout,
                on_status=lambda w, message: self.log.info(f"{w}: {message}"),
            )
            if undone
            else []
        )
        for outcome in waits:
            if not outcome.healthy:
                errors.append(f"{outcome.workload} after rollback: {outcome.message}")
        return {
            "mode": "kubernetes",
            "done": bool(undone) and not errors,
            "undone": [
                {
                    "workload": str(u.workload),
                    "from_revision": u.from_revision,
                    "to_revision": u.to_revision,
                    "images": u.images,
                }
                for u in undone
            ],
            "rollouts": [o.as_dict() for o in waits],
            "errors": errors,
        }

    def _gitops_extras(self) -> dict[str, str]:
        """repository, branch, token, working-directory: where the GitOps repo (and the ledger) live."""
        return {k: v for k, v in self.s.gitops.items() if k != "paths" and v}

    def _rollback_gitops(self) -> dict[str, Any]:
        from ci_actions.actions import ACTIONS, invoke

        ctx = self.probe.ctx
        result: dict[str, Any] = {"mode": "gitops", "done": False}
        try:
            if self.s.previous_images is not None:
                lines = images_from_previous(self.s.previous_images)
                result["source"] = "previous-images"
            else:
                if "release-ledger" not in ACTIONS:
                    raise EnvironmentFailure("release-ledger is not part of this installation")
                good = invoke(
                    "release-ledger",
                    {
                        "command": "rollback-target",
                        "service": self.s.ledger["service"],
                        "environment": self.s.ledger["environment"],
                    },
                    ctx,
                )
                out = good.outputs
                if not good.ok or not out.get("image"):
                    raise EnvironmentFailure(
                        f"the ledger has no healthy version of {self.s.ledger['service']} in {self.s.ledger['environment']} to roll back to"
                    )
                lines = [
                    image_from_ledger(
                        str(out["image"]), str(out.get("tag") or ""), str(out.get("digest") or "")
                    )
                ]
                result["source"] = "release-ledger"
            if not lines:
                raise EnvironmentFailure("no previous image to put back")
            result["images"] = lines
            if "kustomize-bump" not in ACTIONS:
                raise EnvironmentFailure("kustomize-bump is not part of this installation")
            values = {
                **self._gitops_extras(),
                "paths": self.s.gitops["paths"],
                "images": "\n".join(lines),
                "mode": "commit",
            }
            bumped = invoke("kustomize-bump", _declared("kustomize-bump", values), ctx)
            result["kustomize-bump"] = {k: v for k, v in bumped.outputs.items() if k != "diff"}
            result["done"] = bumped.ok
            self.log.info(
                f"gitops rollback: {', '.join(lines)} -> {bumped.outputs.get('commit-sha', '')}"
            )
        except CiActionsError as exc:
            result["error"] = str(exc)
            self.log.error(f"gitops rollback failed: {exc}")
        return result


def _declared(action: str, values: dict[str, str]) -> dict[str, str]:
    """The values another action declares inputs for (optional extras it lacks are left out)."""
    import importlib

    from ci_actions.actions import ACTIONS

    spec = importlib.import_module(ACTIONS[action]).SPEC
    names = {item.name for item in spec.inputs}
    return {k: v for k, v in values.items() if k in names}


def run_probe(probe: Probe) -> ProbeOutcome:
    run = _Run(probe)
    started = time.monotonic()
    try:
        if probe.settings.workloads:
            run.namespace = resolve_namespace(probe)
        run.argocd()
        if not run.failure:
            run.rollouts_step()
        run.images_step()
        run.http_step()
        run.diagnose_step()
        run.rollback_step()
    finally:
        if run.kube is not None:
            run.kube.close()
    healthy = not run.failure
    run.report.update(
        {
            "healthy": healthy,
            "failure": run.failure,
            "reasons": run.reasons,
            "rolled_back": run.rolled_back,
            "namespace": run.namespace,
            "seconds": round(time.monotonic() - started, 3),
        }
    )
    summary = render(run.report, run.diagnostics)
    message = (
        "healthy"
        if healthy
        else f"unhealthy: {run.failure}" + (" (rolled back)" if run.rolled_back else "")
    )
    return ProbeOutcome(healthy, run.failure, run.rolled_back, run.report, summary, message)
