"""`validate-manifests`: render, schema-check offline, policy-check, optionally dry-run on the server."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ci_actions.errors import ConfigError, InputError
from ci_actions.fsutil import read_text_strict, write_atomic
from ci_actions.github.context import Context
from ci_actions.github.inputs import ActionSpec, InputSpec, OutputSpec, RawInputs
from ci_actions.result import Result

if TYPE_CHECKING:
    from ci_actions.manifests.policies import PolicyConfig, Setting

DEFAULT_KUBERNETES_VERSION = "1.34"
DEFAULT_PRODUCTION_PATHS = "**/prod\n**/prod/**\n**/production\n**/production/**"
REPORT_NAME = "validate-manifests-report.json"

SPEC = ActionSpec(
    name="validate-manifests",
    description="Render kustomizations, validate every object against the Kubernetes schema offline, check policies, optionally dry-run on the server.",
    inputs=(
        InputSpec(
            "paths",
            "Kustomization directories (rendered) and manifest files or directories (newline-separated).",
            required=True,
            kind="text",
        ),
        InputSpec(
            "kubernetes-version",
            "Kubernetes version whose schemas to validate against, e.g. 1.33 (1.25 and later).",
            DEFAULT_KUBERNETES_VERSION,
        ),
        InputSpec(
            "crd-paths",
            "Files or directories of CustomResourceDefinitions whose schemas validate custom resources (newline-separated).",
            kind="text",
        ),
        InputSpec(
            "fail-on-unknown-kinds",
            "true: an object with no schema (built in or from a CRD) is an error instead of a warning.",
            "false",
        ),
        InputSpec(
            "policies",
            "Policy settings, one `name=off|warning|error` a line, applied on every path instead of the defaults: image-tag, image-digest, resources, probes, run-as-non-root, privileged, host-path, required-labels, replicas.",
            kind="text",
        ),
        InputSpec(
            "policy-file",
            "YAML file with `policies`, `required-labels` and `overrides` (a list of `paths` globs with their own settings).",
        ),
        InputSpec(
            "required-labels",
            "Labels every object must carry (newline- or comma-separated).",
            kind="text",
        ),
        InputSpec(
            "production-paths",
            "Globs of the paths (files or `paths` entries) that are production: there resources, probes, run-as-non-root and required-labels are errors, not warnings, and Deployments and StatefulSets need replicas > 1.",
            DEFAULT_PRODUCTION_PATHS,
            kind="text",
        ),
        InputSpec(
            "server-dry-run",
            "true: also create or patch every object on the cluster with dryRun=All (needs a kubeconfig).",
            "false",
        ),
        InputSpec(
            "kubeconfig",
            "Kubeconfig file for the server dry run; default KUBECONFIG or ~/.kube/config.",
            kind="text",
        ),
        InputSpec(
            "kube-context",
            "Kubeconfig context for the server dry run; default the current one.",
            kind="operand",
        ),
        InputSpec(
            "report-file",
            "Where to write the JSON report; default validate-manifests-report.json in the runner's temp dir.",
        ),
        InputSpec("working-directory", "Directory the paths are relative to.", "."),
    ),
    outputs=(
        OutputSpec("valid", "true when no error was found (warnings allowed)."),
        OutputSpec("errors", "Number of errors."),
        OutputSpec("warnings", "Number of warnings."),
        OutputSpec("report-file", "Path of the JSON report."),
    ),
    icon="check-square",
    install_extra="manifests",
)


@dataclass(frozen=True)
class ValidateInputs:
    paths: tuple[str, ...]
    kubernetes_version: tuple[int, int]
    crd_paths: tuple[str, ...]
    fail_on_unknown_kinds: bool
    policy_settings: dict[str, Setting]
    policy_file: str
    required_labels: tuple[str, ...]
    production_paths: tuple[str, ...]
    server_dry_run: bool
    kubeconfig: str
    kube_context: str
    report_file: str
    working_directory: Path


def parse_inputs(raw: RawInputs) -> ValidateInputs:
    from ci_actions.manifests import policies, schema

    paths = raw.items("paths")
    if not paths:
        raise InputError("paths", "is empty", hint="name kustomization dirs or manifest files")
    try:
        version = schema.schema_version(schema.parse_version(raw.text("kubernetes-version")))
    except ValueError as exc:
        raise InputError("kubernetes-version", str(exc)) from None
    try:
        settings = policies.parse_settings(raw.items("policies"), "policies")
    except ValueError as exc:
        raise InputError("policies", str(exc), hint="e.g. image-digest=warning") from None
    return ValidateInputs(
        paths=tuple(paths),
        kubernetes_version=version,
        crd_paths=tuple(raw.items("crd-paths")),
        fail_on_unknown_kinds=raw.flag("fail-on-unknown-kinds"),
        policy_settings=dict(settings),
        policy_file=raw.text("policy-file"),
        required_labels=tuple(raw.items("required-labels", commas=True)),
        production_paths=tuple(raw.items("production-paths")),
        server_dry_run=raw.flag("server-dry-run"),
        kubeconfig=raw.text("kubeconfig"),
        kube_context=raw.text("kube-context"),
        report_file=raw.text("report-file"),
        working_directory=Path(raw.text("working-directory") or "."),
    )


def _policy_config(inputs: ValidateInputs, workdir: Path) -> PolicyConfig:
    import yaml

    from ci_actions import yamlsafe
    from ci_actions.manifests import policies

    config = policies.PolicyConfig(
        required_labels=inputs.required_labels, production_globs=inputs.production_paths
    )
    if inputs.policy_file:
        file = workdir / inputs.policy_file
        try:
            data = yamlsafe.load(read_text_strict(file, f"policy-file {inputs.policy_file}"))
        except OSError as exc:
            raise InputError("policy-file", f"cannot read {inputs.policy_file}: {exc}") from None
        except yaml.YAMLError as exc:
            raise InputError(
                "policy-file", f"{inputs.policy_file} is not valid YAML: {exc}"
            ) from None
        try:
            config = policies.parse_policy_file(data, inputs.policy_file, config)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    # The `policies` input beats the file's defaults; the file's per-path overrides beat both.
    return replace(config, settings={**config.settings, **inputs.policy_settings})


def run(inputs: ValidateInputs, ctx: Context) -> Result:
    from ci_actions.manifests import report, sources
    from ci_actions.manifests.validate import Options, validate

    workdir = ctx.cwd / inputs.working_directory  # an absolute path stays as it is
    version = ".".join(map(str, inputs.kubernetes_version))
    options = Options(
        kubernetes_version=inputs.kubernetes_version,
        fail_on_unknown_kinds=inputs.fail_on_unknown_kinds,
        policy=_policy_config(inputs, workdir),
    )
    scratch = ctx.temp_dir()
    with ctx.log.group("render"):
        manifests = sources.load_paths(inputs.paths, ctx.cwd, scratch, base=workdir)
        for m in manifests:
            ctx.log.info(f"{m.ident}  <- {m.source.file}")
    crd_manifests = sources.load_paths(
        inputs.crd_paths, ctx.cwd, scratch, base=workdir, input_name="crd-paths"
    )
    problems = validate(manifests, options, crd_manifests)
    if inputs.server_dry_run:
        from ci_actions.manifests import dryrun

        if inputs.kubeconfig:
            kubeconfig = str(workdir / inputs.kubeconfig)  # an absolute path stays as it is
        else:
            from_env = ctx.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
            kubeconfig = str(ctx.cwd / from_env) if from_env else ""
        problems += dryrun.dry_run(manifests, kubeconfig, inputs.kube_context, scratch)
    errors, warnings = report.count(problems, "error"), report.count(problems, "warning")
    report_path = Path(inputs.report_file) if inputs.report_file else scratch / REPORT_NAME
    report_path = workdir / report_path
    report_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(
        report_path, json.dumps(report.json_report(manifests, problems, version), indent=2) + "\n"
    )
    ctx.log.info(
        f"{len(manifests)} object(s) checked against Kubernetes {version}: {errors} error(s), {warnings} warning(s)"
    )
    return Result(
        outputs={
            "valid": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "report-file": str(report_path),
        },
        ok=errors == 0,
        summary=report.summary(manifests, problems, version),
        annotations=report.to_annotations(problems),
        message=f"{errors} error(s), {warnings} warning(s)",
    )
