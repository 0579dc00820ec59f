"""`health-probe`: is the new version rolled out, running the built images, answering
correctly as itself? If not, say why and put the previous version back."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ci_actions import grammar
from ci_actions.choices import assert_never
from ci_actions.errors import CiActionsError, EnvironmentFailure, InputError
from ci_actions.fsutil import write_atomic
from ci_actions.github.context import Context
from ci_actions.github.inputs import ActionSpec, InputSpec, OutputSpec, RawInputs
from ci_actions.gitops import GitOpsTarget
from ci_actions.probes import checks as httpchecks
from ci_actions.probes.checks import latency_summary
from ci_actions.probes.images import parse_expected
from ci_actions.probes.probe import (
    ArgoCD,
    GitOpsRollback,
    ProbeOutcome,
    ProbeSettings,
    Refresh,
    Rollback,
    RollbackMode,
    RollbackOutcome,
    run_probe,
)
from ci_actions.probes.rollback import image_from_ledger, images_from_previous
from ci_actions.probes.rollout import parse_workload
from ci_actions.probes.summary import render
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


def _status_set(name: str, value: Any) -> httpchecks.StatusSet:
    try:
        return httpchecks.StatusSet.parse(str(value))
    except ValueError as exc:
        raise InputError(name, str(exc), hint="e.g. 200, 200-299 or 200,204,301-302") from None


def _version_from(name: str, value: str) -> httpchecks.VersionSource:
    try:
        return httpchecks.VersionSource.parse(value)
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


def _checks(raw: RawInputs) -> tuple[httpchecks.Check, ...]:
    auth = _auth_header(raw)
    default_from = _version_from("version-from", raw.text("version-from") or "json:version")
    checks = []
    if raw.text("url"):
        checks.append(
            httpchecks.Check(
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
            httpchecks.Check(
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


def parse_inputs(raw: RawInputs) -> ProbeSettings:
    namespace = raw.text("namespace")
    workloads = tuple(parse_workload(line, namespace) for line in raw.items("workloads"))
    previous = raw.json_object(
        "previous-images",
        what="a JSON object of image name to reference",
        values=(str, type(None)),
        hint='e.g. {"reg/app":"reg/app:1.2.2"}',
    )
    for name, ref in (previous or {}).items():  # each becomes one kustomize-bump `images` line
        if error := grammar.image_error(name) or (ref and grammar.image_error(ref)):
            raise InputError("previous-images", f"{name!r}: {error}", hint="one image per entry")
    argocd_app = raw.text("argocd-app")
    inputs = ProbeSettings(
        workloads=workloads,
        namespace=namespace,
        kubeconfig=raw.raw_text("kubeconfig"),
        kube_context=raw.text("kube-context"),
        rollout_timeout=raw.duration("rollout-timeout"),
        expected_images=tuple(parse_expected(raw.items("expected-images"))),
        checks=_checks(raw),
        timing=httpchecks.Timing(
            timeout=raw.duration("timeout"),
            interval=raw.duration("interval"),
            attempt_timeout=raw.duration("attempt-timeout"),
            success_threshold=raw.integer("success-threshold", minimum=1),
            failure_threshold=raw.integer("failure-threshold", minimum=0),
            max_redirects=raw.integer("max-redirects", minimum=0, maximum=50),
            verify_tls=not raw.flag("insecure"),
            redirect_allowed_hosts=_redirect_allowed_hosts(raw),
        ),
        argocd=ArgoCD(
            server=raw.text("argocd-server"),
            app=argocd_app,
            token=raw.text("argocd-token"),
            expected_revision=raw.text("expected-revision"),
            refresh=raw.choice("refresh", Refresh),
            timeout=raw.duration("argocd-timeout"),
        )
        if argocd_app or raw.text("argocd-server")
        else None,
        rollback=raw.choice("rollback", Rollback),
        rollback_mode=raw.choice("rollback-mode", RollbackMode),
        gitops=GitOpsRollback(
            paths=tuple(raw.items("gitops-paths")),
            target=GitOpsTarget(
                repository=raw.text("gitops-repository"),
                branch=raw.text("gitops-branch"),
                token=raw.text("gitops-token"),
                working_directory=Path(raw.text("gitops-working-directory") or "."),
            ),
            previous_images={str(k): str(v or "") for k, v in previous.items()}
            if previous
            else None,
            ledger_service=raw.text("ledger-service"),
            ledger_environment=raw.text("ledger-environment"),
        ),
        report_file=raw.text("report-file"),
    )
    _check_combinations(inputs)
    return inputs


def _check_combinations(inputs: ProbeSettings) -> None:
    argocd = inputs.argocd
    if not (inputs.workloads or inputs.checks or (argocd and argocd.app)):
        raise InputError(
            "workloads", "nothing to probe", hint="give workloads, url, checks or argocd-app"
        )
    if inputs.expected_images and not inputs.workloads:
        raise InputError("expected-images", "needs `workloads` (whose pods to check)")
    if argocd is not None and bool(argocd.app) != bool(argocd.server):
        raise InputError(
            "argocd-server" if argocd.app else "argocd-app",
            "argocd-server and argocd-app go together",
        )
    if inputs.rollback is Rollback.ON_FAILURE:
        match inputs.rollback_mode:
            case RollbackMode.KUBERNETES:
                if not inputs.workloads:
                    raise InputError(
                        "rollback-mode",
                        "kubernetes rollback needs `workloads`",
                        hint="or use rollback-mode: gitops",
                    )
            case RollbackMode.GITOPS:
                _check_gitops(inputs.gitops)
            case _:
                assert_never(inputs.rollback_mode)
    for check in inputs.checks:
        if not check.url.startswith(("http://", "https://")):
            raise InputError(
                "url" if check.url else "checks", f"{check.url!r} is not an http(s) URL"
            )


def _check_gitops(gitops: GitOpsRollback) -> None:
    if not gitops.paths:
        raise InputError("gitops-paths", "gitops rollback needs the kustomization paths")
    if gitops.previous_images is None and not (gitops.ledger_service and gitops.ledger_environment):
        raise InputError(
            "previous-images",
            "gitops rollback needs the previous images",
            hint="give previous-images (kustomize-bump's output) or ledger-service and ledger-environment",
        )


def _kubeconfig_path(inputs: ProbeSettings, ctx: Context) -> tuple[Path | None, bool]:
    """(path, is_temporary); None = in-cluster configuration."""
    if inputs.kubeconfig.strip():
        import tempfile

        fd, name = tempfile.mkstemp(prefix="kubeconfig-", dir=str(ctx.temp_dir()))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
            handle.write(inputs.kubeconfig)
        return Path(name), True
    for entry in ctx.environ.get("KUBECONFIG", "").split(os.pathsep):
        if entry and Path(entry).is_file():
            return Path(entry), False
    home = Path(ctx.environ.get("HOME", str(Path.home()))) / ".kube" / "config"
    return (home if home.is_file() else None), False


def _mask_credentials(inputs: ProbeSettings, ctx: Context) -> None:
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


def run(inputs: ProbeSettings, ctx: Context) -> Result:
    _mask_credentials(inputs, ctx)
    if not inputs.timing.verify_tls:
        ctx.log.warning("insecure: true, TLS certificates are not verified")
    kubeconfig, temporary = (None, False)
    if inputs.workloads:
        kubeconfig, temporary = _kubeconfig_path(inputs, ctx)
    try:
        outcome = run_probe(inputs, ctx, kubeconfig=kubeconfig, gitops_rollback=rollback_gitops)
    except CiActionsError as exc:  # exit 2 or 3; consumers' `if:` still read these
        exc.outputs = {"healthy": False, "rolled-back": False, **exc.outputs}
        raise
    finally:
        if temporary and kubeconfig is not None:
            kubeconfig.unlink(missing_ok=True)
    report = _report(outcome)
    report_path = (
        Path(inputs.report_file)
        if inputs.report_file
        else ctx.temp_dir() / "health-probe-report.json"
    )
    report_path = ctx.cwd / report_path  # an absolute path stays as it is
    report_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(report_path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    http = outcome.http or []
    latency = latency_summary(http)  # no answer, no figure
    outputs: dict[str, object] = {
        "healthy": outcome.healthy,
        "rolled-back": outcome.rolled_back,
        "failure-reason": outcome.failure,
        "report-file": str(report_path),
        "latency-p50-ms": _ms(latency["p50"]),
        "latency-p95-ms": _ms(latency["p95"]),
        "flaps": sum(r.flaps for r in http),
    }
    message = (
        "healthy"
        if outcome.healthy
        else f"unhealthy: {outcome.failure}" + (" (rolled back)" if outcome.rolled_back else "")
    )
    return Result(
        outputs=outputs,
        ok=outcome.healthy,
        summary=render(report, outcome.diagnostics or []),
        message=message,
    )


def _report(outcome: ProbeOutcome) -> dict[str, Any]:
    """The JSON report: each step that ran, then the verdict."""
    report: dict[str, Any] = {}
    if outcome.argocd is not None:
        report["argocd"] = outcome.argocd.as_dict()
    if outcome.rollouts is not None:
        report["rollouts"] = [r.as_dict() for r in outcome.rollouts]
    if outcome.images is not None:
        report["images"] = {
            "expected": outcome.images.expected,
            "workloads": [entry.as_dict() for entry in outcome.images.workloads],
        }
    if outcome.http is not None:
        report["http"] = {
            "checks": [
                {
                    "check": r.check.label,
                    "healthy": r.healthy,
                    "reason": r.reason,
                    "flaps": r.flaps,
                    "attempts": [a.as_dict() for a in r.attempts],
                }
                for r in outcome.http
            ],
            "flaps": sum(r.flaps for r in outcome.http),
            "latency_ms": latency_summary(outcome.http),
        }
    if outcome.diagnostics is not None:
        report["diagnostics"] = [d.as_dict() for d in outcome.diagnostics]
    if outcome.rollback is not None:
        report["rollback"] = outcome.rollback.as_dict()
    report.update(
        {
            "healthy": outcome.healthy,
            "failure": outcome.failure,
            "reasons": outcome.reasons,
            "rolled_back": outcome.rolled_back,
            "namespace": outcome.namespace,
            "seconds": outcome.seconds,
        }
    )
    return report


def rollback_gitops(gitops: GitOpsRollback, ctx: Context) -> RollbackOutcome:
    """Put the previous images back in the GitOps repository with kustomize-bump (commit mode).

    The images come from `previous-images`, else from the release ledger's
    rollback-target of ledger-service in ledger-environment (read in this checkout).
    """
    details: dict[str, Any] = {}
    try:
        if gitops.previous_images is not None:
            lines = images_from_previous(gitops.previous_images)
            details["source"] = "previous-images"
        else:
            lines = [_ledger_image(gitops, ctx)]
            details["source"] = "release-ledger"
        if not lines:
            raise EnvironmentFailure("no previous image to put back")
        details["images"] = lines
        from ci_actions.actions import kustomize_bump  # (and the YAML parser) for a rollback

        bump = kustomize_bump.BumpInputs.commit(gitops.paths, lines, gitops.target)
        bumped = kustomize_bump.run(bump, ctx)
        if not bumped.ok:
            raise EnvironmentFailure(bumped.message)
    except CiActionsError as exc:
        details["error"] = str(exc)
        ctx.log.error(f"gitops rollback failed: {exc}")
        return RollbackOutcome(RollbackMode.GITOPS, False, details)
    details["kustomize-bump"] = {k: v for k, v in bumped.outputs.items() if k != "diff"}
    ctx.log.info(f"gitops rollback: {', '.join(lines)} -> {bumped.outputs.get('commit-sha', '')}")
    return RollbackOutcome(RollbackMode.GITOPS, True, details)


def _ledger_image(gitops: GitOpsRollback, ctx: Context) -> str:
    """The image of the ledger's rollback-target, as one kustomize-bump `images` line."""
    from ci_actions.actions import release_ledger

    service, environment = gitops.ledger_service, gitops.ledger_environment
    good = release_ledger.run(
        release_ledger.LedgerInputs(
            release_ledger.Command.ROLLBACK_TARGET, service=service, environment=environment
        ),
        ctx,
    )
    if not good.ok:
        raise EnvironmentFailure(good.message)
    out = good.outputs
    if not out.get("image"):
        raise EnvironmentFailure(
            f"the ledger has no healthy version of {service} in {environment} to roll back to"
        )
    return image_from_ledger(
        str(out["image"]), str(out.get("tag") or ""), str(out.get("digest") or "")
    )


def _ms(value: Any) -> str:
    return "" if value is None else f"{float(value):.1f}"
