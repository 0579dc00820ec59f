"""Validate objects: the schema of their kind, then the policies that apply to their path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ci_actions.manifests import policies
from ci_actions.manifests.model import Manifest, Problem, Severity, problem
from ci_actions.manifests.schema import SchemaCatalog, UnknownKind, crds


@dataclass(frozen=True)
class Options:
    kubernetes_version: tuple[int, int]
    fail_on_unknown_kinds: bool = False
    policy: policies.PolicyConfig = field(default_factory=policies.PolicyConfig)


def validate(
    manifests: Sequence[Manifest], options: Options, extra_crds: Sequence[Manifest] = ()
) -> list[Problem]:
    catalog = SchemaCatalog(options.kubernetes_version)
    for crd in crds([*extra_crds, *manifests]):
        catalog.add_crd(crd)
    problems: list[Problem] = []
    for manifest in manifests:
        problems += schema_problems(manifest, catalog, options)
        policy = options.policy.for_paths([manifest.source.file, manifest.origin])
        problems += policies.check(manifest, policy)
    return _unique(problems)


def schema_problems(manifest: Manifest, catalog: SchemaCatalog, options: Options) -> list[Problem]:
    if not manifest.api_version or not manifest.kind:
        return [problem(manifest, "schema", "error", "apiVersion and kind are required")]
    try:
        errors = catalog.errors(manifest)
    except UnknownKind:
        severity: Severity = "error" if options.fail_on_unknown_kinds else "warning"
        version = ".".join(map(str, catalog.version))
        if catalog.is_custom(manifest.api_version, manifest.kind):
            why = "its CustomResourceDefinition has no openAPIV3Schema"
        else:
            why = f"not a built-in kind of Kubernetes {version} and no CustomResourceDefinition for it was given"
        message = f"{manifest.api_version} {manifest.kind} not validated: {why}"
        return [problem(manifest, "unknown-kind", severity, message, ("kind",))]
    return [problem(manifest, "schema", "error", e.message, e.path) for e in errors]


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out
