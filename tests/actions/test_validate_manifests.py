"""`validate-manifests` through the CLI, as on a runner: outputs, annotations, summary, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.manifests.support import FIXTURES, ROOT
from tests.support.cli import CliRun, invoke
from tests.support.golden import assert_golden
from tests.support.tools import needs

pytestmark = needs("kubectl")
OVERLAYS = "tests/fixtures/manifests/overlays"


def validate(tmp: Path, *args: str) -> CliRun:
    return invoke(
        tmp,
        "validate-manifests",
        ["--report-file", str(tmp / "report.json"), *args],
        env={"RUNNER_TEMP": str(tmp)},
        cwd=ROOT,
    )


def line_of(file: Path, text: str) -> int:
    return next(i for i, line in enumerate(file.read_text().splitlines(), 1) if text in line)


def test_good_overlays_pass(tmp_path: Path) -> None:
    run = validate(
        tmp_path,
        "--paths",
        f"{OVERLAYS}/dev\n{OVERLAYS}/prod",
        "--crd-paths",
        "tests/fixtures/manifests/crds",
        "--required-labels",
        "app.kubernetes.io/name",
    )
    assert run.code == 0, run.log
    assert run.outputs == {
        "valid": "true",
        "errors": "0",
        "warnings": "0",
        "report-file": str(tmp_path / "report.json"),
    }
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["objects"], report["problems"]) == (6, [])
    assert "::error" not in run.stdout


def test_without_its_crd_a_custom_resource_is_a_warning(tmp_path: Path) -> None:
    run = validate(tmp_path, "--paths", f"{OVERLAYS}/prod")
    assert run.code == 0, run.log
    assert (run.outputs["valid"], run.outputs["warnings"]) == ("true", "1")
    backup = FIXTURES / "overlays" / "prod" / "backup.yaml"
    expected = f"::warning file=tests/fixtures/manifests/overlays/prod/backup.yaml,line={line_of(backup, 'kind: Backup')},"
    assert expected in run.stdout
    run = validate(tmp_path, "--paths", f"{OVERLAYS}/prod", "--fail-on-unknown-kinds", "true")
    assert run.code == 1
    assert run.outputs["errors"] == "1"


def test_broken_overlay_fails_with_annotations_on_its_files(tmp_path: Path) -> None:
    run = validate(tmp_path, "--paths", f"{OVERLAYS}/broken")
    assert run.code == 1, run.log
    assert (run.outputs["valid"], run.outputs["errors"], run.outputs["warnings"]) == (
        "false",
        "2",
        "0",
    )
    worker = FIXTURES / "overlays" / "broken" / "worker.yaml"
    file = "tests/fixtures/manifests/overlays/broken/worker.yaml"
    annotations = sorted(line for line in run.stdout.splitlines() if line.startswith("::error"))
    assert [a.split("::")[1] for a in annotations] == sorted(
        [
            f"error file={file},line={line_of(worker, 'image: registry')},title=validate-manifests%3A image-tag",
            f"error file={file},line={line_of(worker, 'imagePullPolicyy')},title=validate-manifests%3A schema",
        ]
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert {p["check"] for p in report["problems"]} == {"schema", "image-tag"}
    assert_golden("validate-manifests/broken-overlay-summary.md", run.summary)


def test_policy_input_and_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("overrides:\n  - paths: ['**/broken']\n    policies: {image-tag: warning}\n")
    run = validate(tmp_path, "--paths", f"{OVERLAYS}/broken", "--policy-file", str(policy))
    assert (run.code, run.outputs["errors"], run.outputs["warnings"]) == (1, "1", "1")
    run = validate(
        tmp_path,
        "--paths",
        "tests/fixtures/manifests/broken/privileged.yaml",
        "--policies",
        "privileged=warning",
    )
    assert (run.code, run.outputs["errors"], run.outputs["warnings"]) == (0, "0", "1")


def test_production_paths_input(tmp_path: Path) -> None:
    single = "tests/fixtures/manifests/broken/production/single-replica.yaml"
    assert validate(tmp_path, "--paths", single).code == 1  # default globs: **/production/**
    run = validate(tmp_path, "--paths", single, "--production-paths", "deploy/prod/**")
    assert run.code == 0, run.log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--paths", "nope"], "input 'paths': nope does not exist"),
        (
            ["--paths", OVERLAYS + "/dev", "--kubernetes-version", "1.2"],
            "input 'kubernetes-version'",
        ),
        (["--paths", OVERLAYS + "/dev", "--policies", "probe=off"], "unknown policy 'probe'"),
        (["--paths", OVERLAYS + "/dev", "--crd-paths", "missing"], "input 'crd-paths'"),
        (["--paths", OVERLAYS + "/dev", "--policy-file", "missing.yaml"], "input 'policy-file'"),
    ],
)
def test_bad_input_is_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    run = validate(tmp_path, *args)
    assert run.code == 2, run.log
    assert message in run.log
    # every declared output is still written (empty)
    assert run.outputs == {"valid": "", "errors": "", "warnings": "", "report-file": ""}


def test_a_kustomization_that_fails_to_build_is_exit_2(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [nothing-here.yaml]\n")
    run = validate(tmp_path, "--paths", str(overlay))
    assert run.code == 2
    assert "nothing-here.yaml" in run.log


def test_working_directory_resolves_paths_and_annotations_stay_workspace_relative(
    tmp_path: Path,
) -> None:
    run = validate(
        tmp_path,
        "--working-directory",
        "tests/fixtures/manifests",
        "--paths",
        "overlays/broken",
    )
    assert run.code == 1, run.log
    assert "::error file=tests/fixtures/manifests/overlays/broken/worker.yaml,line=" in run.stdout


def test_a_plain_directory_skips_kustomization_files(tmp_path: Path) -> None:
    # `overlays` is no kustomization itself: its YAML files are read as they are.
    run = validate(tmp_path, "--paths", OVERLAYS)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["objects"] == 2  # worker.yaml and backup.yaml, not the kustomization files
    assert {p["file"] for p in report["problems"]} == {
        f"{OVERLAYS}/broken/worker.yaml",
        f"{OVERLAYS}/prod/backup.yaml",
    }
    assert run.code == 1
