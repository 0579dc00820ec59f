"""`health-probe`: is the new version rolled out, running the built images, answering
correctly as itself? If not, say why and put the previous version back."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_actions import grammar
from ci_actions.errors import CiActionsError, InputError
from ci_actions.fsutil import write_atomic
from ci_actions.github.context import Context
from ci_actions.github.inputs import ActionSpec, InputSpec, OutputSpec, RawInputs
from ci_actions.probes import http as httpprobe
from ci_actions.probes.images import Expected, parse_expected
from ci_actions.probes.probe import Probe, ProbeSettings, run_probe
from ci_actions.probes.rollout import Workload, parse_workload
from ci_actions.result import Result

SPEC = ActionSpec(
    name="health-probe",
    description="Prove a deployment is rolled out, runs the built images and answers as the new version; diagnose and roll back when it does not.",
    inputs=(
        InputSpec(
            "workloads",
            "Kubernetes workloads to wait for, one per line: deployment/NAME, statefulset/NAME or daemonset/NAME (kubectl rollout status semantics).",
            kind="text",
        ),
        InputSpec(
            "namespace",
            "Namespace of the workloads. Default: the kubeconfig context's namespace, else `default`.",
            kind="operand",
        ),
        InputSpec(
            "kubeconfig",
            "Kubeconfig file content (masked; written to a private temp file). Default: KUBECONFIG, ~/.kube/config, else the in-cluster service account.",
            secret=True,
            kind="text",
        ),
        InputSpec(
            "kube-context", "Kubeconfig context to use instead of the current one.", kind="operand"
        ),
        InputSpec(
            "rollout-timeout",
            "How long to wait for each rollout (e.g. 90s, 5m, 1h or seconds).",
            "5m",
        ),
        InputSpec(
            "expected-images",
            "Images the pod template and the running pods of the new version must carry, one per line: IMAGE or CONTAINER=IMAGE (tag and/or @sha256 digest).",
            kind="text",
        ),
        InputSpec("url", "URL to check over HTTP (a single check; see `checks` for more)."),
        InputSpec("expected-status", "Accepted status codes or ranges for `url`.", "200-299"),
        InputSpec(
            "expected-version",
            "The version `url` must report (read as `version-from` says), proving the new version answers.",
        ),
        InputSpec(
            "version-from",
            "Where the version is read: json:PATH (dotted path in the JSON body) or header:NAME.",
            "json:version",
        ),
        InputSpec(
            "checks",
            "YAML list of checks: {url, method, headers, body, status, contains, json: {PATH: value or '>= N'}, max-latency-ms, expected-version, version-from}.",
            kind="text",
        ),
        InputSpec("timeout", "Total time budget of the HTTP checks.", "60s"),
        InputSpec("interval", "Pause between HTTP attempts.", "2s"),
        InputSpec("attempt-timeout", "Longest single HTTP attempt.", "10s"),
        InputSpec(
            "success-threshold",
            "Consecutive successes each HTTP check needs (a flapping service never gets them).",
            "3",
        ),
        InputSpec(
            "failure-threshold",
            "Consecutive failed attempts after which a check gives up early (0 = retry until `timeout`).",
            "0",
        ),
        InputSpec("max-redirects", "Redirects followed (0 to 50) before an attempt fails.", "5"),
        InputSpec(
            "redirect-allowed-hosts",
            "Hosts (`host` or `host:port`, one per line) a redirect may carry the checks' headers and cookies to; a redirect to any other origin drops them, and so does one from https to http.",
        ),
        InputSpec(
            "insecure",
            "Skip TLS certificate verification (HTTP checks and Argo CD); a warning is printed.",
            "false",
        ),
        InputSpec(
            "auth-header",
            "A header sent with every HTTP check, as `Name: value` (masked), e.g. `Authorization: Bearer …`.",
            secret=True,
        ),
        InputSpec("argocd-server", "Argo CD base URL, e.g. https://argocd.example.com."),
        InputSpec("argocd-app", "Argo CD application to wait for."),
        InputSpec("argocd-token", "Argo CD API token (masked).", secret=True),
        InputSpec(
            "expected-revision",
            "The GitOps commit Argo CD must have synced (full or at least 7-character SHA).",
        ),
        InputSpec(
            "refresh",
            "Ask Argo CD to refresh before reading: normal or hard (empty: do not ask).",
        ),
        InputSpec("argocd-timeout", "How long to wait for Argo CD.", "5m"),
        InputSpec("rollback", "When to roll back: never or on-failure.", "never"),
        InputSpec(
            "rollback-mode",
            "kubernetes (what `kubectl rollout undo` does, then wait for it) or gitops (set the previous images through kustomize-bump and push).",
            "kubernetes",
        ),
        InputSpec(
            "previous-images",
            "gitops rollback: kustomize-bump's `previous-images` output (JSON {image: previous reference}).",
            kind="text",
        ),
        InputSpec(
            "gitops-paths",
            "gitops rollback: the kustomization paths to edit (kustomize-bump `paths`).",
            kind="text",
        ),
        InputSpec(
            "gitops-repository",
            "gitops rollback: the GitOps repository URL (default: the checkout).",
            kind="operand",
        ),
        InputSpec("gitops-branch", "gitops rollback: the branch to push to.", kind="ref"),
        InputSpec("gitops-token", "gitops rollback: token for the push (masked).", secret=True),
        InputSpec(
            "gitops-working-directory",
            "gitops rollback: the checkout of the GitOps repo when gitops-repository is empty.",
        ),
        InputSpec(
            "ledger-service",
            "gitops rollback without previous-images: the service whose release-ledger rollback-target (newest healthy entry of another image) is put back.",
        ),
        InputSpec("ledger-environment", "gitops rollback: the ledger environment."),
        InputSpec(
            "report-file",
            "Where the JSON report is written. Default: health-probe-report.json in RUNNER_TEMP.",
        ),
    ),
    outputs=(
        OutputSpec("healthy", "true when every rollout, image, Argo CD and HTTP check passed."),
        OutputSpec(
            "rolled-back", "true when a rollback was made (and, in kubernetes mode, completed)."
        ),
        OutputSpec(
            "failure-reason",
            "Why the probe failed, e.g. progress-deadline-exceeded, rollout-timeout, image-mismatch, http-check-failed, argocd-timeout (empty when healthy).",
        ),
        OutputSpec(
            "report-file",
            "Path of the JSON report (rollouts, images, attempts, diagnostics, rollback).",
        ),
        OutputSpec("latency-p50-ms", "Median latency of the HTTP attempts that got an answer."),
        OutputSpec(
            "latency-p95-ms", "95th percentile latency of the HTTP attempts that got an answer."
        ),
        OutputSpec(
            "flaps",
            "How often an HTTP check's success was followed by a failure, over all checks (0 when steady).",
        ),
    ),
    icon="activity",
)


@dataclass(frozen=True)
class HealthProbeInputs:
    workloads: tuple[Workload, ...]
    namespace: str
    kubeconfig: str
    kube_context: str
    rollout_timeout: float
    expected_images: tuple[Expected, ...]
    checks: tuple[httpprobe.Check, ...]
    timing: httpprobe.Timing
    argocd_server: str
    argocd_app: str
    argocd_token: str
    expected_revision: str
    refresh: str
    argocd_timeout: float
    rollback: str
    rollback_mode: str
    previous_images: dict[str, str] | None
    gitops: dict[str, str]
    ledger_service: str
    ledger_environment: str
    report_file: str


def _status_set(name: str, value: Any) -> httpprobe.StatusSet:
    try:
        return httpprobe.StatusSet.parse(str(value))
    except ValueError as exc:
        raise InputError(name, str(exc), hint="e.g. 200, 200-299 or 200,204,301-302") from None


def _version_from(name: str, value: str) -> httpprobe.VersionSource:
    try:
        return httpprobe.VersionSource.parse(value)
    except ValueError as exc:
        raise InputError(
            name, str(exc), hint="e.g. json:version, json:build.sha or header:X-Version"
        ) from None


def _redirect_allowed_hosts(raw: RawInputs) -> tuple[str, ...]:
    hosts = tuple(raw.items("redirect-allowed-hosts", commas=True))
    for host in hosts:
        if "/" in host or " " in host or not host.strip(":"):
            raise InputError(
                "redirect-allowed-hosts",
                f"{host!r} is not a host",
                hint="one `host` or `host:port` per line, e.g. api.example.com or 10.0.0.5:8443",
            )
    return hosts


def _auth_header(raw: RawInputs) -> dict[str, str]:
    text = raw.text("auth-header")
    if not text:
        return {}
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        raise InputError(
            "auth-header", "is not `Name: value`", hint="e.g. Authorization: Bearer <token>"
        )
    return {name.strip(): value.strip()}


def _checks(raw: RawInputs) -> tuple[httpprobe.Check, ...]:
    auth = _auth_header(raw)
    default_from = _version_from("version-from", raw.text("version-from") or "json:version")
    checks = []
    if raw.text("url"):
        checks.append(
            httpprobe.Check(
                url=raw.text("url"),
                headers=auth,
                status=_status_set("expected-status", raw.text("expected-status") or "200-299"),
                expected_version=raw.text("expected-version"),
                version_from=default_from,
            )
        )
    listed = raw.yaml("checks")
    if listed is None:
        return tuple(checks)
    if not isinstance(listed, list):
        raise InputError(
            "checks", "must be a YAML list of checks", hint="- url: https://svc/health"
        )
    known = {
        "url",
        "method",
        "headers",
        "body",
        "status",
        "contains",
        "json",
        "max-latency-ms",
        "expected-version",
        "version-from",
    }
    for i, item in enumerate(listed, 1):
        if not isinstance(item, dict) or not item.get("url"):
            raise InputError("checks", f"check {i} has no url", hint="each item needs `url:`")
        unknown = set(item) - known
        if unknown:
            raise InputError(
                "checks",
                f"check {i}: unknown key(s) {', '.join(sorted(unknown))}",
                hint=f"known: {', '.join(sorted(known))}",
            )
        headers = item.get("headers") or {}
        json_expect = item.get("json") or {}
        if not isinstance(headers, dict) or not isinstance(json_expect, dict):
            raise InputError("checks", f"check {i}: headers and json must be mappings")
        latency = item.get("max-latency-ms")
        try:
            max_latency = None if latency is None else float(latency)
        except (TypeError, ValueError):
            raise InputError(
                "checks", f"check {i}: max-latency-ms {latency!r} is not a number"
            ) from None
        body = item.get("body")
        checks.append(
            httpprobe.Check(
                url=str(item["url"]),
                method=str(item.get("method") or "GET").upper(),
                headers={**{str(k): str(v) for k, v in headers.items()}, **auth},
                body=None
                if body is None
                else (body if isinstance(body, str) else json.dumps(body)),
                status=_status_set("checks", item.get("status", "200-299")),
                contains=str(item.get("contains") or ""),
                json={str(k): v for k, v in json_expect.items()},
                max_latency_ms=max_latency,
                expected_version=str(item.get("expected-version") or ""),
                version_from=_version_from("checks", str(item["version-from"]))
                if item.get("version-from")
                else default_from,
            )
        )
    return tuple(checks)


def parse_inputs(raw: RawInputs) -> HealthProbeInputs:
    namespace = raw.text("namespace")
    workloads = tuple(parse_workload(line, namespace) for line in raw.items("workloads"))
    previous = raw.json_value("previous-images")
    if previous is not None and not (
        isinstance(previous, dict)
        and all(isinstance(v, (str, type(None))) for v in previous.values())
    ):
        raise InputError(
            "previous-images",
            "must be a JSON object of image name to reference",
            hint='e.g. {"reg/app":"reg/app:1.2.2"}',
        )
    for name, ref in (previous or {}).items():  # each becomes one kustomize-bump `images` line
        if error := grammar.image_error(name) or (ref and grammar.image_error(ref)):
            raise InputError("previous-images", f"{name!r}: {error}", hint="one image per entry")
    inputs = HealthProbeInputs(
        workloads=workloads,
        namespace=namespace,
        kubeconfig=raw.raw_text("kubeconfig"),
        kube_context=raw.text("kube-context"),
        rollout_timeout=raw.duration("rollout-timeout"),
        expected_images=tuple(parse_expected(raw.items("expected-images"))),
        checks=_checks(raw),
        timing=httpprobe.Timing(
            timeout=raw.duration("timeout"),
            interval=raw.duration("interval"),
            attempt_timeout=raw.duration("attempt-timeout"),
            success_threshold=raw.integer("success-threshold", minimum=1),
            failure_threshold=raw.integer("failure-threshold", minimum=0),
            max_redirects=raw.integer("max-redirects", minimum=0, maximum=50),
            verify_tls=not raw.flag("insecure"),
            redirect_allowed_hosts=_redirect_allowed_hosts(raw),
        ),
        argocd_server=raw.text("argocd-server"),
        argocd_app=raw.text("argocd-app"),
        argocd_token=raw.text("argocd-token"),
        expected_revision=raw.text("expected-revision"),
        refresh=raw.choice("refresh", ("", "normal", "hard")),
        argocd_timeout=raw.duration("argocd-timeout"),
        rollback=raw.choice("rollback", ("never", "on-failure")),
        rollback_mode=raw.choice("rollback-mode", ("kubernetes", "gitops")),
        previous_images={str(k): str(v or "") for k, v in previous.items()} if previous else None,
        gitops={
            "paths": raw.raw_text("gitops-paths"),
            "repository": raw.text("gitops-repository"),
            "branch": raw.text("gitops-branch"),
            "token": raw.text("gitops-token"),
            "working-directory": raw.text("gitops-working-directory"),
        },
        ledger_service=raw.text("ledger-service"),
        ledger_environment=raw.text("ledger-environment"),
        report_file=raw.text("report-file"),
    )
    _check_combinations(inputs)
    return inputs


def _check_combinations(inputs: HealthProbeInputs) -> None:
    if not (inputs.workloads or inputs.checks or inputs.argocd_app):
        raise InputError(
            "workloads", "nothing to probe", hint="give workloads, url, checks or argocd-app"
        )
    if inputs.expected_images and not inputs.workloads:
        raise InputError("expected-images", "needs `workloads` (whose pods to check)")
    if bool(inputs.argocd_app) != bool(inputs.argocd_server):
        raise InputError(
            "argocd-server" if inputs.argocd_app else "argocd-app",
            "argocd-server and argocd-app go together",
        )
    if (
        inputs.rollback == "on-failure"
        and inputs.rollback_mode == "kubernetes"
        and not inputs.workloads
    ):
        raise InputError(
            "rollback-mode",
            "kubernetes rollback needs `workloads`",
            hint="or use rollback-mode: gitops",
        )
    if inputs.rollback == "on-failure" and inputs.rollback_mode == "gitops":
        if not inputs.gitops["paths"].strip():
            raise InputError("gitops-paths", "gitops rollback needs the kustomization paths")
        if inputs.previous_images is None and not (
            inputs.ledger_service and inputs.ledger_environment
        ):
            raise InputError(
                "previous-images",
                "gitops rollback needs the previous images",
                hint="give previous-images (kustomize-bump's output) or ledger-service and ledger-environment",
            )
    for check in inputs.checks:
        if not check.url.startswith(("http://", "https://")):
            raise InputError(
                "url" if check.url else "checks", f"{check.url!r} is not an http(s) URL"
            )


def _kubeconfig_path(inputs: HealthProbeInputs, ctx: Context) -> tuple[Path | None, bool]:
    """(path, is_temporary); None = in-cluster configuration."""
    if inputs.kubeconfig.strip():
        fd, name = tempfile.mkstemp(prefix="kubeconfig-", dir=str(ctx.temp_dir()))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
            handle.write(inputs.kubeconfig)
        return Path(name), True
    for entry in ctx.environ.get("KUBECONFIG", "").split(os.pathsep):
        if entry and Path(entry).is_file():
            return Path(entry), False
    home = Path(ctx.environ.get("HOME", str(Path.home()))) / ".kube" / "config"
    return (home if home.is_file() else None), False


def _mask_credentials(inputs: HealthProbeInputs, ctx: Context) -> None:
    """Mask the secret values themselves, not only the lines that hold them."""
    values = [
        v
        for check in inputs.checks
        for k, v in check.headers.items()
        if k.lower() in ("authorization", "cookie") or "token" in k.lower() or "key" in k.lower()
    ]
    values += [v.split(" ", 1)[1] for v in values if " " in v]
    if inputs.kubeconfig.strip():
        import yaml

        from ci_actions import yamlsafe

        try:
            config = yamlsafe.load(inputs.kubeconfig) or {}
        except yaml.YAMLError:
            config = {}
        users = config.get("users") if isinstance(config, dict) else None
        for user in users or []:
            fields = (user or {}).get("user") or {}
            values += [
                str(fields[k]) for k in ("token", "password", "client-key-data") if fields.get(k)
            ]
    ctx.log.mask(values)


def run(inputs: HealthProbeInputs, ctx: Context) -> Result:
    _mask_credentials(inputs, ctx)
    if not inputs.timing.verify_tls:
        ctx.log.warning("insecure: true, TLS certificates are not verified")
    settings = ProbeSettings(
        workloads=list(inputs.workloads),
        rollout_timeout=inputs.rollout_timeout,
        expected_images=list(inputs.expected_images),
        checks=list(inputs.checks),
        timing=inputs.timing,
        argocd={
            "server": inputs.argocd_server,
            "app": inputs.argocd_app,
            "token": inputs.argocd_token,
            "expected_revision": inputs.expected_revision,
            "refresh": inputs.refresh,
            "timeout": str(inputs.argocd_timeout),
        },
        rollback=inputs.rollback,
        rollback_mode=inputs.rollback_mode,
        previous_images=inputs.previous_images,
        gitops=inputs.gitops,
        ledger={"service": inputs.ledger_service, "environment": inputs.ledger_environment},
    )
    kubeconfig, temporary = (None, False)
    if inputs.workloads:
        kubeconfig, temporary = _kubeconfig_path(inputs, ctx)
    try:
        probe = Probe(
            settings,
            ctx,
            kubeconfig=kubeconfig,
            kube_context=inputs.kube_context,
            namespace=inputs.namespace,
        )
        outcome = run_probe(probe)
    except CiActionsError as exc:  # exit 2 or 3; consumers' `if:` still read these
        exc.outputs = {"healthy": False, "rolled-back": False, **exc.outputs}
        raise
    finally:
        if temporary and kubeconfig is not None:
            kubeconfig.unlink(missing_ok=True)
    report_path = (
        Path(inputs.report_file)
        if inputs.report_file
        else ctx.temp_dir() / "health-probe-report.json"
    )
    report_path = ctx.cwd / report_path  # an absolute path stays as it is
    report_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(report_path, json.dumps(outcome.report, indent=2, sort_keys=True) + "\n")
    latency = outcome.report.get("http", {}).get("latency_ms", {})
    outputs: dict[str, object] = {
        "healthy": outcome.healthy,
        "rolled-back": outcome.rolled_back,
        "failure-reason": outcome.failure,
        "report-file": str(report_path),
        "latency-p50-ms": _ms(latency.get("p50")),
        "latency-p95-ms": _ms(latency.get("p95")),
        "flaps": int(outcome.report.get("http", {}).get("flaps", 0)),
    }
    return Result(
        outputs=outputs,
        ok=outcome.healthy,
        summary=outcome.summary,
        message=outcome.message,
    )


def _ms(value: Any) -> str:
    return "" if value is None else f"{float(value):.1f}"
