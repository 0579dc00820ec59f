"""Each broken manifest is caught by exactly the expected check, at the marked line."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from ci_actions.manifests.model import Problem
from ci_actions.manifests.policies import PolicyConfig, Setting
from ci_actions.manifests.sources import load_paths
from ci_actions.manifests.validate import Options, validate
from tests.manifests.support import FIXTURES, ROOT, marked_line

BROKEN = FIXTURES / "broken"
OPTIONS = Options(
    kubernetes_version=(1, 33),
    policy=PolicyConfig(
        required_labels=("app.kubernetes.io/name",), production_globs=("**/production/**",)
    ),
)

# file -> (check, severity, words the message must hold); none of these files is
# in a production path, so the best-practice policies are warnings here
TABLE = {
    "unknown-field.yaml": ("schema", "error", "imagePullPolicyy"),
    "wrong-type.yaml": ("schema", "error", "integer"),
    "missing-required.yaml": ("schema", "error", '"name" is a required property'),
    "latest-tag.yaml": ("image-tag", "error", "latest"),
    "no-tag.yaml": ("image-tag", "error", "no tag"),
    "no-resources.yaml": ("resources", "warning", "limits.memory"),
    "no-probes.yaml": ("probes", "warning", "livenessProbe"),
    "runs-as-root.yaml": ("run-as-non-root", "warning", "runAsNonRoot"),
    "privileged.yaml": ("privileged", "error", "privileged"),
    "host-path.yaml": ("host-path", "error", "hostPath"),
    "missing-label.yaml": ("required-labels", "warning", "app.kubernetes.io/name"),
    "production/single-replica.yaml": ("replicas", "error", "replicas"),
    "unknown-kind.yaml": ("unknown-kind", "warning", "monitoring.example.com/v1 Probe"),
    "crd-wrong-type.yaml": ("schema", "error", "integer"),
    "crd-unknown-field.yaml": ("schema", "error", "volumeName"),
}


def problems_of(path: Path, options: Options = OPTIONS) -> list[Problem]:
    manifests = load_paths([str(path.relative_to(ROOT))], ROOT, Path(tempfile.gettempdir()))
    return validate(manifests, options)


def test_every_broken_fixture_is_in_the_table() -> None:
    on_disk = {p.relative_to(BROKEN).as_posix() for p in BROKEN.rglob("*.yaml")}
    assert on_disk == set(TABLE)


def test_the_good_deployment_passes_every_check() -> None:
    assert problems_of(FIXTURES / "good-deployment.yaml") == []


@pytest.mark.parametrize("name", sorted(TABLE))
def test_caught_by_exactly_the_expected_check(name: str) -> None:
    check, severity, words = TABLE[name]
    file = BROKEN / name
    problems = problems_of(file)
    assert [(p.check, p.severity) for p in problems] == [(check, severity)], problems
    found = problems[0]
    assert words in found.message
    assert found.file == f"tests/fixtures/manifests/broken/{name}"
    assert found.line == marked_line(file)


def test_fail_on_unknown_kinds_makes_it_an_error() -> None:
    options = Options(kubernetes_version=(1, 33), fail_on_unknown_kinds=True, policy=OPTIONS.policy)
    problems = problems_of(BROKEN / "unknown-kind.yaml", options)
    assert [(p.check, p.severity) for p in problems] == [("unknown-kind", "error")]


def test_a_policy_turned_off_is_not_checked() -> None:
    policy = PolicyConfig(
        settings={**OPTIONS.policy.settings, "privileged": Setting.OFF},
        required_labels=("app.kubernetes.io/name",),
    )
    options = Options(kubernetes_version=(1, 33), policy=policy)
    assert problems_of(BROKEN / "privileged.yaml", options) == []
