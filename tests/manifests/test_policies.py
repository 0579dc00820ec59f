"""Policy settings (input, file, per-glob overrides) and the checks on other pod-bearing kinds."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ci_actions.manifests.model import Manifest, Source
from ci_actions.manifests.policies import (
    DEFAULTS,
    PolicyConfig,
    ResolvedPolicy,
    Setting,
    check,
    parse_policy_file,
    parse_settings,
)

POLICY_FILE = """
policies:
  image-digest: warning
required-labels: [team]
overrides:
  - paths: ["overlays/dev/**", "overlays/dev"]
    policies:
      probes: off
      image-digest: off
  - paths: "legacy/**"
    required-labels: []
"""


def config() -> PolicyConfig:
    base = PolicyConfig(production_globs=("**/prod", "**/prod/**"))
    return parse_policy_file(yaml.safe_load(POLICY_FILE), "policy.yaml", base)


def test_file_defaults_and_overrides_by_glob() -> None:
    cfg = config()
    prod = cfg.for_paths(["base/deploy.yaml", "overlays/prod"])
    assert prod.settings["image-digest"] == "warning"
    assert prod.settings["probes"] == "error"
    assert prod.required_labels == ("team",)
    assert prod.production
    dev = cfg.for_paths(["base/deploy.yaml", "overlays/dev"])
    assert (dev.settings["probes"], dev.settings["image-digest"]) == ("off", "off")
    assert not dev.production
    assert cfg.for_paths(["legacy/app.yaml", "legacy"]).required_labels == ()


def test_settings_lines() -> None:
    assert parse_settings(["image-digest=error", "probes = off"], "policies") == {
        "image-digest": "error",
        "probes": "off",
    }


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["image-digests=error"], "unknown policy 'image-digests'"),
        (["probes=fatal"], "must be off, warning or error"),
        (["probes"], "must be off, warning or error"),
    ],
)
def test_settings_errors(entries: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_settings(entries, "policies")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n", "must be a mapping"),
        ("rules: {}\n", "unknown key"),
        ("overrides:\n  - policies: {probes: off}\n", r"overrides\[0\] needs `paths`"),
        ("required-labels: team\n", "must be a list"),
    ],
)
def test_policy_file_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_policy_file(yaml.safe_load(text), "policy.yaml", PolicyConfig())


def workload(kind: str, pod: dict[str, Any], **spec: Any) -> Manifest:
    if kind == "CronJob":
        spec["jobTemplate"] = {"spec": {"template": {"spec": pod}}}
    elif kind == "Pod":
        spec.update(pod)
    else:
        spec["template"] = {"spec": pod}
    obj = {"apiVersion": "x", "kind": kind, "metadata": {"name": "w"}, "spec": spec}
    return Manifest(obj, Source("w.yaml"), "w.yaml")


GOOD_CONTAINER = {
    "name": "c",
    "image": "r.example.com/app@sha256:" + "a" * 64,
    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
    "securityContext": {"runAsNonRoot": True},
}
EVERYTHING = ResolvedPolicy(dict.fromkeys(DEFAULTS, Setting.ERROR), ("team",), True)


@pytest.mark.parametrize("kind", ["Pod", "CronJob", "Job", "DaemonSet"])
def test_pod_bearing_kinds_are_checked(kind: str) -> None:
    init = {"name": "init", "image": "busybox"}
    found = check(
        workload(kind, {"initContainers": [init], "containers": [GOOD_CONTAINER]}), EVERYTHING
    )
    checks = sorted({p.check for p in found})
    # probes and replicas concern Deployments and StatefulSets only
    assert checks == [
        "image-digest",
        "image-tag",
        "required-labels",
        "resources",
        "run-as-non-root",
    ]
    assert all("initContainers" in p.field for p in found if p.check != "required-labels")


def test_digest_pinned_images_pass_the_tag_check() -> None:
    found = check(workload("Deployment", {"containers": [GOOD_CONTAINER]}, replicas=2), EVERYTHING)
    assert {p.check for p in found} == {"probes", "required-labels"}


def test_replicas_only_on_production_paths() -> None:
    single = workload("StatefulSet", {"containers": [GOOD_CONTAINER]})
    prod = check(single, EVERYTHING)
    assert [p.message for p in prod if p.check == "replicas"] == [
        "runs 1 replica in a production path; set replicas to 2 or more"
    ]
    elsewhere = ResolvedPolicy(EVERYTHING.settings, (), False)
    assert not [p for p in check(single, elsewhere) if p.check == "replicas"]


def test_pod_level_run_as_non_root_is_overridden_by_a_container() -> None:
    container = {**GOOD_CONTAINER, "securityContext": {"runAsNonRoot": False}}
    pod = {"securityContext": {"runAsNonRoot": True}, "containers": [container]}
    found = check(workload("Pod", pod), EVERYTHING)
    assert [p.field for p in found if p.check == "run-as-non-root"] == [
        "spec.containers[0].securityContext"
    ]


def test_warning_severity_is_carried() -> None:
    policy = ResolvedPolicy({"image-tag": Setting.WARNING}, (), False)
    latest = {**GOOD_CONTAINER, "image": "app:latest"}
    (found,) = check(workload("Pod", {"containers": [latest]}), policy)
    assert (found.check, found.severity) == ("image-tag", "warning")


def test_a_warning_set_explicitly_does_not_claim_to_be_an_error_in_production() -> None:
    pod = workload("Pod", {"containers": [{**GOOD_CONTAINER, "resources": {}}]})
    paths = ["apps/w.yaml", "overlays/dev"]
    defaulted = PolicyConfig(production_globs=("**/prod",)).for_paths(paths)
    (found,) = [p for p in check(pod, defaulted) if p.check == "resources"]
    assert found.severity == "warning"
    assert found.message.endswith("(a warning here; an error in `production-paths`)")
    explicit = PolicyConfig(settings={"resources": Setting.WARNING}, production_globs=("**/prod",))
    (found,) = [p for p in check(pod, explicit.for_paths(paths)) if p.check == "resources"]
    assert found.severity == "warning"
    assert "production-paths" not in found.message
    in_prod = explicit.for_paths(["apps/w.yaml", "overlays/prod"])
    assert in_prod.settings["resources"] == "warning"  # explicit wins in production too
