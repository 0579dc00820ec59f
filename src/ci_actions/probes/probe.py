"""The probe in order: Argo CD synced the revision, the rollouts completed, the pods
run the expected images, the HTTP checks pass; on failure, diagnostics and
(when asked) a rollback. Takes one `ProbeSettings`, gives one `ProbeOutcome`;
the action turns the outcome into the JSON report, the summary and the outputs.

A gitops rollback writes to the GitOps repository through kustomize-bump, an
action: the action hands it in as `GitOpsRollbacker`, so this core calls no action.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_actions.choices import Choice, assert_never
from ci_actions.errors import CiActionsError, EnvironmentFailure
from ci_actions.github.context import Context
from ci_actions.gitops import GitOpsTarget
from ci_actions.probes import checks as httpchecks
from ci_actions.probes.argocd import ArgoOutcome, wait_for_app
from ci_actions.probes.diagnose import Diagnostics, diagnose, log_text, new_pods, wanted_pods
from ci_actions.probes.images import Expected, Mismatch, applies_to, check_pods, check_template
from ci_actions.probes.kube import KubeClient
from ci_actions.probes.rollback import RollbackRefused, undo_deployment
from ci_actions.probes.rollout import Workload

if TYPE_CHECKING:  # requests and a thread pool, imported by the steps that use them
    from ci_actions.probes.wait import RolloutOutcome

SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class Rollback(Choice):
    NEVER = "never"
    ON_FAILURE = "on-failure"


class RollbackMode(Choice):
    KUBERNETES = "kubernetes"
    GITOPS = "gitops"


class Refresh(Choice):
    NONE = ""
    NORMAL = "normal"
    HARD = "hard"


@dataclass(frozen=True)
class ArgoCD:
    server: str
    app: str
    token: str
    expected_revision: str
    refresh: Refresh
    timeout: float


@dataclass(frozen=True)
class GitOpsRollback:
    """Where a gitops rollback writes, and where the previous images come from."""

    paths: tuple[str, ...]
    target: GitOpsTarget
    previous_images: dict[str, str] | None  # kustomize-bump's previous-images, when given
    ledger_service: str  # else the release ledger's rollback-target of service/environment
    ledger_environment: str


@dataclass(frozen=True)
class ProbeSettings:
    """Everything health-probe was asked, typed: parse_inputs makes it, run_probe takes it."""

    workloads: tuple[Workload, ...]
    namespace: str
    kubeconfig: str  # content; "" = KUBECONFIG, ~/.kube/config, else in-cluster
    kube_context: str
    rollout_timeout: float
    expected_images: tuple[Expected, ...]
    checks: tuple[httpchecks.Check, ...]
    timing: httpchecks.Timing
    argocd: ArgoCD | None
    rollback: Rollback
    rollback_mode: RollbackMode
    gitops: GitOpsRollback
    report_file: str


@dataclass(frozen=True)
class ImageEntry:
    workload: str
    expected: list[str]
    pods: list[str]
    mismatches: list[Mismatch]
    wanted_pods: int | None = None  # None: the expectation applies to no workload

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "workload": self.workload,
            "expected": self.expected,
            "pods": self.pods,
            "mismatches": [m.__dict__ for m in self.mismatches],
        }
        if self.wanted_pods is not None:
            data["wanted_pods"] = self.wanted_pods
        return data


@dataclass(frozen=True)
class ImagesOutcome:
    expected: list[str]
    workloads: list[ImageEntry]


@dataclass(frozen=True)
class RollbackOutcome:
    mode: RollbackMode
    done: bool
    details: dict[str, Any] = field(default_factory=dict)  # what was undone or pushed, errors

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "done": self.done, **self.details}


# A gitops rollback: given by the action, which runs kustomize-bump (and reads the ledger).
GitOpsRollbacker = Callable[[GitOpsRollback, Context], RollbackOutcome]


@dataclass
class ProbeOutcome:
    """What the probe found; a step that did not run leaves its part None."""

    failure: str = ""  # the first failure, "" when healthy
    reasons: list[str] = field(default_factory=list)
    namespace: str = ""
    seconds: float = 0.0
    argocd: ArgoOutcome | None = None
    rollouts: list[RolloutOutcome] | None = None
    images: ImagesOutcome | None = None
    http: list[httpchecks.CheckResult] | None = None
    diagnostics: list[Diagnostics] | None = None
    rollback: RollbackOutcome | None = None

    @property
    def healthy(self) -> bool:
        return not self.failure

    @property
    def rolled_back(self) -> bool:
        return self.rollback is not None and self.rollback.done


def resolve_namespace(settings: ProbeSettings, kubeconfig: Path | None) -> str:
    if settings.namespace:
        return settings.namespace
    if kubeconfig is not None:
        from kubernetes import config

        try:
            contexts, current = config.list_kube_config_contexts(str(kubeconfig))  # type: ignore[no-untyped-call]
        except Exception:  # a broken kubeconfig is reported when the client loads it
            return "default"
        chosen = (
            next((c for c in contexts if c.get("name") == settings.kube_context), current)
            if settings.kube_context
            else current
        )
        return str(((chosen or {}).get("context") or {}).get("namespace") or "default")
    if SA_NAMESPACE.is_file():
        return SA_NAMESPACE.read_text(encoding="utf-8").strip() or "default"
    return "default"


class _Run:
    def __init__(
        self,
        settings: ProbeSettings,
        ctx: Context,
        kubeconfig: Path | None,
        gitops_rollback: GitOpsRollbacker,
    ) -> None:
        self.s = settings
        self.ctx = ctx
        self.log = ctx.log
        self.kubeconfig = kubeconfig
        self.gitops_rollback = gitops_rollback
        self.kube: KubeClient | None = None
        self.outcome = ProbeOutcome()

    def fail(self, failure: str, reason: str) -> None:
        if not self.outcome.failure:
            self.outcome.failure = failure
        self.outcome.reasons.append(reason)
        self.log.error(reason)

    def client(self) -> KubeClient:
        if self.kube is None:
            self.kube = KubeClient.from_kubeconfig(self.kubeconfig, self.s.kube_context)
        return self.kube

    def workloads(self) -> list[Workload]:
        return [Workload(w.kind, w.name, self.outcome.namespace) for w in self.s.workloads]

    def rollouts(self) -> list[RolloutOutcome]:
        return self.outcome.rollouts or []

    # ---- steps

    def argocd(self) -> None:
        a = self.s.argocd
        if a is None:
            return
        with self.log.group(f"Argo CD: {a.app}"):
            outcome = wait_for_app(
                a.server,
                a.app,
                a.token,
                a.expected_revision,
                timeout=a.timeout,
                interval=max(0.2, min(self.s.timing.interval, 5.0)),
                refresh=a.refresh.value,
                verify_tls=self.s.timing.verify_tls,
            )
            for obs in outcome.observations:
                self.log.info(f"+{obs['t']:.1f}s {obs['state']}")
        self.outcome.argocd = outcome
        if not outcome.healthy:
            self.fail(outcome.failure, outcome.message)
        else:
            self.log.info(outcome.message)

    def rollouts_step(self) -> None:
        if not self.s.workloads:
            return
        from ci_actions.probes.wait import wait_for_all

        kube = self.client()
        with self.log.group("rollout status"):
            self.outcome.rollouts = wait_for_all(
                kube,
                self.workloads(),
                self.s.rollout_timeout,
                on_status=lambda w, message: self.log.info(f"{w}: {message}"),
            )
        for r in self.outcome.rollouts:
            if not r.healthy:
                self.fail(r.failure, f"{r.workload}: {r.message}")

    def images_step(self) -> None:
        """Each expectation applies to the workloads that run its container (by name,
        or by repository); one that applies to none is a mismatch too."""
        if not self.s.expected_images or self.outcome.failure:
            return
        from ci_actions.probes.registry import IndexLookup

        kube = self.client()
        lookup = IndexLookup()
        entries: list[ImageEntry] = []
        used: set[Expected] = set()
        for r in self.rollouts():
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
                ImageEntry(
                    str(r.workload),
                    [str(e) for e in mine],
                    [p["metadata"]["name"] for p in pods],
                    problems,
                    wanted,
                )
            )
            for m in problems:
                self.fail("image-mismatch", f"{r.workload}: {m}")
        for e in self.s.expected_images:
            if e not in used:
                found = sorted(
                    {
                        str(c.get("image", ""))
                        for r in self.rollouts()
                        for c in (
                            (((r.obj or {}).get("spec") or {}).get("template") or {}).get("spec")
                            or {}
                        ).get("containers", [])
                    }
                )
                m = Mismatch("workloads", str(e), ", ".join(found))
                entries.append(ImageEntry("(none)", [str(e)], [], [m]))
                self.fail(
                    "image-mismatch", f"no workload runs {e} (they run {m.actual or 'nothing'})"
                )
        self.outcome.images = ImagesOutcome([str(e) for e in self.s.expected_images], entries)

    def http_step(self) -> None:
        if not self.s.checks or self.outcome.failure:
            return

        def show(a: httpchecks.Attempt) -> None:
            verdict = "ok" if a.ok else a.message
            latency = f"{a.latency_ms:.0f} ms" if a.latency_ms is not None else "-"
            self.log.info(f"+{a.t:.1f}s {a.check}: {a.status or '-'} {latency} {verdict}")

        from ci_actions.probes.http import Prober

        with self.log.group("HTTP checks"):
            self.outcome.http = Prober(self.s.timing, on_attempt=show).run(list(self.s.checks))
        for r in self.outcome.http:
            if not r.healthy:
                self.fail("http-check-failed", f"{r.check.label}: {r.reason}")

    def diagnose_step(self) -> None:
        if not self.outcome.failure or not self.s.workloads:
            return
        try:
            kube = self.client()
        except CiActionsError:
            return
        outcomes = {str(r.workload): r for r in self.rollouts()}
        targets = [
            w for w in self.workloads() if str(w) not in outcomes or not outcomes[str(w)].healthy
        ] or self.workloads()
        self.outcome.diagnostics = []
        for w in targets:
            obj = outcomes[str(w)].obj if str(w) in outcomes else None
            if obj is None:
                try:
                    obj = kube.get(f"{w.kind}s", w.namespace, w.name)
                except EnvironmentFailure:
                    obj = None
            diag = diagnose(kube, w, obj)
            self.outcome.diagnostics.append(diag)
            with self.log.group(f"diagnostics: {w}"):
                for line in log_text(diag).splitlines():
                    self.log.info(line)

    def rollback_step(self) -> None:
        if not self.outcome.failure:
            return
        match self.s.rollback:
            case Rollback.NEVER:
                return
            case Rollback.ON_FAILURE:
                pass
            case _:
                assert_never(self.s.rollback)
        mode = self.s.rollback_mode
        if self.outcome.failure in ("not-found", "deleted"):
            self.outcome.rollback = RollbackOutcome(
                mode, False, {"error": "nothing to roll back: the workload is gone"}
            )
            return
        with self.log.group(f"rollback ({mode.value})"):
            match mode:
                case RollbackMode.KUBERNETES:
                    self.outcome.rollback = self._rollback_kubernetes()
                case RollbackMode.GITOPS:
                    self.outcome.rollback = self.gitops_rollback(self.s.gitops, self.ctx)
                case _:
                    assert_never(mode)

    def _rollback_kubernetes(self) -> RollbackOutcome:
        from ci_actions.probes.wait import wait_for_all

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
        return RollbackOutcome(
            RollbackMode.KUBERNETES,
            bool(undone) and not errors,
            {
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
            },
        )


def run_probe(
    settings: ProbeSettings,
    ctx: Context,
    *,
    kubeconfig: Path | None,
    gitops_rollback: GitOpsRollbacker,
) -> ProbeOutcome:
    run = _Run(settings, ctx, kubeconfig, gitops_rollback)
    started = time.monotonic()
    try:
        if settings.workloads:
            run.outcome.namespace = resolve_namespace(settings, kubeconfig)
        run.argocd()
        if not run.outcome.failure:
            run.rollouts_step()
        run.images_step()
        run.http_step()
        run.diagnose_step()
        run.rollback_step()
    finally:
        if run.kube is not None:
            run.kube.close()
    run.outcome.seconds = round(time.monotonic() - started, 3)
    return run.outcome
