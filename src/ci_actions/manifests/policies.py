"""Policy checks on rendered objects: each one on/off with a severity, per path glob.

Severities come, last one winning, from the built-in defaults (which depend on
whether the object is in a production path), the policy file's `policies`, the
`policies` input, and the policy file's `overrides` whose `paths` globs match
the object's source file or its `paths` entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ci_actions.choices import Choice, assert_never
from ci_actions.imageref import ImageRef, ImageRefError
from ci_actions.imageref import parse as parse_image
from ci_actions.manifests.model import FieldPath, Manifest, Problem, Severity, problem
from ci_actions.pathfilter.globs import compile_glob


class Setting(Choice):
    """How a policy counts: not checked, a warning, or an error (exit 1)."""

    OFF = "off"
    WARNING = "warning"
    ERROR = "error"

    def severity(self) -> Severity | None:
        """The severity of what it finds; None when it is off."""
        match self:
            case Setting.OFF:
                return None
            case Setting.WARNING:
                return "warning"
            case Setting.ERROR:
                return "error"
            case _:
                assert_never(self)


OFF, WARNING, ERROR = Setting.OFF, Setting.WARNING, Setting.ERROR


@dataclass(frozen=True)
class Default:
    """A policy's setting when nothing sets it: outside and inside `production-paths`."""

    elsewhere: Setting
    production: Setting
    reason: str

    def setting(self, production: bool) -> Setting:
        return self.production if production else self.elsewhere


# What breaks a deployment, or the truth of what is deployed, is an error
# everywhere; best practices a working application may lack are warnings until
# the object is in a production path.
DEFAULTS: dict[str, Default] = {
    "image-tag": Default(
        ERROR, ERROR, "a moving tag makes every later step (bump, ledger, probe) untrue"
    ),
    "image-digest": Default(OFF, OFF, "a version tag is enough for most teams"),
    "resources": Default(
        WARNING,
        ERROR,
        "without requests the scheduler guesses; without a limit a leak takes the node",
    ),
    "probes": Default(
        WARNING, ERROR, "without them a rollout cannot tell a ready pod from a running one"
    ),
    "run-as-non-root": Default(
        WARNING, ERROR, "a root container makes every escape worse; many images need changes"
    ),
    "privileged": Default(ERROR, ERROR, "a privileged container owns the node"),
    "host-path": Default(ERROR, ERROR, "a hostPath volume reaches into the node"),
    "required-labels": Default(
        WARNING, ERROR, "labels route ownership, cost and alerts; only checked when set"
    ),
    "replicas": Default(OFF, ERROR, "one replica in production is an outage at every node drain"),
}
DESCRIPTIONS = {
    "image-tag": "every image has a tag other than `latest` (or a digest)",
    "image-digest": "every image is pinned by digest (`@sha256:…`)",
    "resources": "every container sets requests (cpu, memory) and a memory limit",
    "probes": "every container of a Deployment or StatefulSet has liveness and readiness probes",
    "run-as-non-root": "pods or all their containers set `runAsNonRoot: true`",
    "privileged": "no container is privileged",
    "host-path": "no `hostPath` volumes",
    "required-labels": "objects carry the labels of `required-labels`",
    "replicas": "Deployments and StatefulSets of production paths run more than one replica",
}
STARTER_EXAMPLE = """\
policies:  # on every path, instead of the defaults
  resources: error
  image-digest: warning
required-labels: [app.kubernetes.io/name]
overrides:  # per path; a later match wins
  - paths: ["overlays/staging", "overlays/staging/**"]
    policies: {probes: error, run-as-non-root: error}
"""


def starter_policy_file() -> str:
    """A policy file with every line commented: the defaults apply until a team edits it."""
    width = max(map(len, DEFAULTS))
    lines = [
        "# validate-manifests policies for every overlay of this repository (its",
        "# `policy-file` input). Each policy is off, warning or error; warnings are",
        "# annotated and summarised but do not fail the run. Defaults, outside and",
        "# inside `production-paths`:",
        "#",
    ]
    for name, default in DEFAULTS.items():
        lines.append(
            f"#   {name:<{width}}  {default.elsewhere:<7} / {default.production:<7}  {default.reason}"
        )
    lines += ["#", "# To tighten or loosen them in one place, uncomment and edit:", "#"]
    lines += [f"# {line}" for line in STARTER_EXAMPLE.splitlines()]
    return "\n".join(lines) + "\n"


PROBED_KINDS = ("Deployment", "StatefulSet")
REPLICATED_KINDS = ("Deployment", "StatefulSet")
POD_TEMPLATE_KINDS = (
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "ReplicationController",
)


@dataclass(frozen=True)
class Override:
    globs: tuple[str, ...]
    settings: Mapping[str, Setting]
    required_labels: tuple[str, ...] | None = None

    def matches(self, paths: Sequence[str]) -> bool:
        return any(compile_glob(g).matches(p.rstrip("/")) for g in self.globs for p in paths)


@dataclass(frozen=True)
class PolicyConfig:
    settings: Mapping[str, Setting] = field(default_factory=dict)  # set explicitly, else DEFAULTS
    required_labels: tuple[str, ...] = ()
    production_globs: tuple[str, ...] = ()
    overrides: tuple[Override, ...] = ()

    def for_paths(self, paths: Sequence[str]) -> ResolvedPolicy:
        production = any(
            compile_glob(g).matches(p.rstrip("/")) for g in self.production_globs for p in paths
        )
        explicit = dict(self.settings)
        labels = self.required_labels
        for override in self.overrides:
            if override.matches(paths):
                explicit.update(override.settings)
                if override.required_labels is not None:
                    labels = override.required_labels
        settings = {name: d.setting(production) for name, d in DEFAULTS.items()} | explicit
        return ResolvedPolicy(settings, labels, production, frozenset(DEFAULTS) - set(explicit))


@dataclass(frozen=True)
class ResolvedPolicy:
    settings: Mapping[str, Setting]
    required_labels: tuple[str, ...]
    production: bool
    defaulted: frozenset[str] = frozenset()  # the policies no configuration set

    def note(self, name: str) -> str:
        """What a defaulted warning becomes in a production path, said with the finding."""
        if name not in self.defaulted or self.production:
            return ""
        default = DEFAULTS[name]
        if (default.elsewhere, default.production) != (WARNING, ERROR):
            return ""
        return " (a warning here; an error in `production-paths`)"


def parse_settings(entries: Sequence[str], where: str) -> dict[str, Setting]:
    """`name=off|warning|error` lines (also `name: value` from YAML)."""
    out: dict[str, Setting] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        out.update(settings_from_mapping({name.strip(): value.strip() if sep else ""}, where))
    return out


def settings_from_mapping(data: Mapping[str, Any], where: str) -> dict[str, Setting]:
    out: dict[str, Setting] = {}
    for name, value in data.items():
        if name not in DEFAULTS:
            raise ValueError(f"{where}: unknown policy {name!r}; known: {', '.join(DEFAULTS)}")
        text = "off" if value is False else str(value).strip().lower()  # YAML reads `off` as false
        if text not in {s.value for s in Setting}:
            raise ValueError(
                f"{where}: policy {name!r} must be off, warning or error, not {value!r}"
            )
        out[name] = Setting(text)
    return out


def parse_policy_file(data: Any, where: str, base: PolicyConfig) -> PolicyConfig:
    """The policy file: `policies`, `required-labels` and `overrides` (list of `paths` + the same)."""
    if data is None:
        return base
    if not isinstance(data, dict):
        raise ValueError(f"{where}: must be a mapping with policies, required-labels, overrides")
    unknown = set(data) - {"policies", "required-labels", "overrides"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    settings = {**base.settings, **settings_from_mapping(data.get("policies") or {}, where)}
    labels = _labels(data.get("required-labels"), where)
    overrides = []
    for i, item in enumerate(data.get("overrides") or []):
        spot = f"{where}: overrides[{i}]"
        if not isinstance(item, dict) or not item.get("paths"):
            raise ValueError(f"{spot} needs `paths` (globs) and `policies`")
        globs = item["paths"] if isinstance(item["paths"], list) else [item["paths"]]
        overrides.append(
            Override(
                tuple(str(g) for g in globs),
                settings_from_mapping(item.get("policies") or {}, spot),
                _labels(item.get("required-labels"), spot),
            )
        )
    return replace(
        base,
        settings=settings,
        required_labels=labels if labels is not None else base.required_labels,
        overrides=(*base.overrides, *overrides),
    )


def _labels(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: required-labels must be a list of label names")
    return tuple(value)


# -- the checks ------------------------------------------------------------

Finding = tuple[FieldPath, str]
Check = Callable[[Manifest, ResolvedPolicy], Iterator[Finding]]


def check(manifest: Manifest, policy: ResolvedPolicy) -> list[Problem]:
    problems = []
    for name, run in CHECKS.items():
        severity = policy.settings.get(name, OFF).severity()
        if severity is None:
            continue
        for path, message in run(manifest, policy):
            problems.append(problem(manifest, name, severity, message + policy.note(name), path))
    return problems


def pod_spec(obj: dict[str, Any]) -> tuple[FieldPath, dict[str, Any]] | None:
    kind = obj.get("kind")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    path: FieldPath
    if kind == "Pod":
        path = ("spec",)
    elif kind in POD_TEMPLATE_KINDS:
        path = ("spec", "template", "spec")
    elif kind == "CronJob":
        path = ("spec", "jobTemplate", "spec", "template", "spec")
    else:
        return None
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return (path, node) if isinstance(node, dict) else None


def containers(
    obj: dict[str, Any], *, init: bool = True
) -> Iterator[tuple[FieldPath, dict[str, Any]]]:
    found = pod_spec(obj)
    if found is None:
        return
    path, spec = found
    for key in ("initContainers", "containers") if init else ("containers",):
        for i, container in enumerate(spec.get(key) or []):
            if isinstance(container, dict):
                yield (*path, key, i), container


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _label(container: dict[str, Any]) -> str:
    return f"container {container.get('name', '?')!r}"


def _image(c: dict[str, Any]) -> tuple[str, ImageRef | None]:
    image = str(c.get("image") or "")
    try:
        return image, parse_image(image) if image else None
    except ImageRefError:
        return image, None


def check_image_tag(m: Manifest, _: ResolvedPolicy) -> Iterator[Finding]:
    for path, c in containers(m.obj):
        image, ref = _image(c)
        where = (*path, "image")
        if ref is None:
            yield where, f"{_label(c)}: image {image!r} is not a valid image reference"
        elif ref.digest:
            continue
        elif not ref.tag:
            yield where, f"{_label(c)}: image {image!r} has no tag (means latest); pin a version"
        elif ref.tag == "latest":
            yield where, f"{_label(c)}: image {image!r} uses the `latest` tag; pin a version"


def check_image_digest(m: Manifest, _: ResolvedPolicy) -> Iterator[Finding]:
    for path, c in containers(m.obj):
        image, ref = _image(c)
        if ref is not None and not ref.digest:
            yield (*path, "image"), f"{_label(c)}: image {image!r} is not pinned by digest"


def check_resources(m: Manifest, _: ResolvedPolicy) -> Iterator[Finding]:
    for path, c in containers(m.obj):
        res = _dict(c.get("resources"))
        requests = _dict(res.get("requests"))
        limits = _dict(res.get("limits"))
        missing = [f"requests.{r}" for r in ("cpu", "memory") if r not in requests]
        missing += ["limits.memory"] if "memory" not in limits else []
        if missing:
            yield (
                (*path, "resources"),
                f"{_label(c)}: resources {', '.join(missing)} not set;"
                " set the requests to what it needs and a memory limit",
            )


def check_probes(m: Manifest, _: ResolvedPolicy) -> Iterator[Finding]:
    if m.kind not in PROBED_KINDS:
        return
    for path, c in containers(m.obj, init=False):
        missing = [p for p in ("livenessProbe", "readinessProbe") if not c.get(p)]
        if missing:
            yield (
                path,
                f"{_label(c)}: no {' and no '.join(missing)};"
                " add them (e.g. httpGet on a health endpoint)",
            )


def check_run_as_non_root(m: Manifest, _: ResolvedPolicy) -> Iterator[Finding]:
    found = pod_spec(m.obj)
    if found is None:
        return
    pod_ctx = _dict(found[1].get("securityContext"))
    pod_says = pod_ctx.get("runAsNonRoot")
    for cpath, c in containers(m.obj):
        ctx = _dict(c.get("securityContext"))
        says = ctx.get("runAsNonRoot", pod_says)
        if says is not True:
            where = (*cpath, "securityContext") if "securityContext" in c else cpath
            yield (
                where,
                f"{_label(c)}: runAsNonRoot is not true (set it in the pod or container securityContext)",
            )


def check_privileged(m: Manifest, _: ResolvedPolicy) -> Iterator[Finding]:
    for path, c in containers(m.obj):
        ctx = c.get("securityContext")
        if isinstance(ctx, dict) and ctx.get("privileged") is True:
            yield (*path, "securityContext", "privileged"), f"{_label(c)}: runs privileged"


def check_host_path(m: Manifest, _: ResolvedPolicy) -> Iterator[Finding]:
    found = pod_spec(m.obj)
    if found is None:
        return
    path, spec = found
    for i, volume in enumerate(spec.get("volumes") or []):
        if isinstance(volume, dict) and "hostPath" in volume:
            yield (
                (*path, "volumes", i, "hostPath"),
                f"volume {volume.get('name', '?')!r} mounts a hostPath",
            )


def check_required_labels(m: Manifest, policy: ResolvedPolicy) -> Iterator[Finding]:
    meta = _dict(m.obj.get("metadata"))
    labels = _dict(meta.get("labels"))
    missing = [name for name in policy.required_labels if name not in labels]
    if missing:
        where: FieldPath = ("metadata", "labels") if labels else ("metadata",)
        yield (
            where,
            f"missing required label(s) {', '.join(missing)};"
            " add them (kustomize `labels:` sets them on every object)",
        )


def check_replicas(m: Manifest, policy: ResolvedPolicy) -> Iterator[Finding]:
    if not policy.production or m.kind not in REPLICATED_KINDS:
        return
    spec = _dict(m.obj.get("spec"))
    replicas = spec.get("replicas", 1)
    if isinstance(replicas, int) and replicas <= 1:
        where: FieldPath = ("spec", "replicas") if "replicas" in spec else ("spec",)
        yield where, f"runs {replicas} replica in a production path; set replicas to 2 or more"


CHECKS: dict[str, Check] = {
    "image-tag": check_image_tag,
    "image-digest": check_image_digest,
    "resources": check_resources,
    "probes": check_probes,
    "run-as-non-root": check_run_as_non_root,
    "privileged": check_privileged,
    "host-path": check_host_path,
    "required-labels": check_required_labels,
    "replicas": check_replicas,
}
