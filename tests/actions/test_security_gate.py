"""security-gate with the real scanners on a seeded vulnerable project.

The expected findings below were worked out by hand from
tests/fixtures/security_gate/project (see the comments there and in the
fixture files), not from the gate's output.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from tests.support.cli import CliRun, invoke
from tests.support.golden import assert_golden, assert_golden_data
from tests.support.osv import FakeOsv, serve_osv
from tests.support.tools import needs, require

pytestmark = needs("bandit", "semgrep", "safety", "pip-audit")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "security_gate"
ALL = "bandit,semgrep,safety,pip-audit"


@dataclass
class Project:
    root: Path
    osv: FakeOsv

    def gate(self, *args: str, env: dict[str, str] | None = None, scanners: str = ALL) -> CliRun:
        base = ["--scanners", scanners, "--osv-url", self.osv.url]
        if "--safety-db" not in args:
            base += ["--safety-db", str(FIXTURES / "safety-db")]
        return invoke(
            self.root.parent / "runner", "security-gate", [*base, *args], cwd=self.root, env=env
        )


def _project(tmp: Path, osv: FakeOsv) -> Project:
    root = tmp / "project"
    shutil.copytree(FIXTURES / "project", root)
    shutil.copytree(FIXTURES / "images", root / "images")
    # Code the gate must never scan: a virtualenv and a build folder.
    for skipped in (".venv/lib/vendored.py", "build/lib/service/app.py"):
        (root / skipped).parent.mkdir(parents=True)
        (root / skipped).write_text('import pickle\n\npickle.loads(b"")\n')
    return Project(root, osv)


@pytest.fixture(scope="module")
def osv() -> Iterator[FakeOsv]:
    with serve_osv(json.loads((FIXTURES / "osv-records.json").read_text())) as server:
        yield server


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory, osv: FakeOsv) -> tuple[Project, CliRun]:
    """All four scanners and both image reports, once for the module."""
    project = _project(tmp_path_factory.mktemp("full"), osv)
    run = project.gate("--image-reports", "images/trivy.json\nimages/grype.json")
    return project, run


@pytest.fixture
def project(tmp_path: Path, osv: FakeOsv) -> Project:
    return _project(tmp_path, osv)


# What each scanner must find in the fixture project, by hand:
#   bandit: B404 import subprocess (low), B608 f-string SQL (medium),
#     B602 shell=True (high), B201 flask debug (high), B324 md5 (high)
#   semgrep (bundled rules): sql-built-from-strings, subprocess-shell-with-variable,
#     flask-debug-enabled, weak-password-hash (high), open-redirect (medium);
#     nothing from .venv/ or build/ (always excluded)
#   safety (local DB): pyyaml 39611 CVSS 9.8 (critical), requests 58755 CVSS 6.1 (medium)
#   pip-audit (fake OSV): flask x2 (one without a fix), pyyaml, requests;
#     no severity in OSV results -> unknown-severity (high); the withdrawn record is skipped
#   trivy: high, critical (no fix), low; grype: high, negligible (-> low)
EXPECTED_COUNTS = {
    "bandit": {"critical": 0, "high": 3, "medium": 1, "low": 1},
    "semgrep": {"critical": 0, "high": 4, "medium": 1, "low": 0},
    "safety": {"critical": 1, "high": 0, "medium": 1, "low": 0},
    "pip-audit": {"critical": 0, "high": 4, "medium": 0, "low": 0},
    "trivy": {"critical": 1, "high": 1, "medium": 0, "low": 1},
    "grype": {"critical": 0, "high": 1, "medium": 0, "low": 1},
}


def test_the_gate_fails_the_vulnerable_project_with_the_right_counts(
    full_run: tuple[Project, CliRun],
) -> None:
    _, run = full_run
    assert run.code == 1, run.log[-3000:]
    assert run.outputs["passed"] == "false"
    assert run.outputs["findings"] == "21"
    assert run.outputs["new-findings"] == "21"
    counts = json.loads(run.outputs["counts"])
    assert {
        tool: {s: row[s] for s in ("critical", "high", "medium", "low")}
        for tool, row in counts.items()
    } == EXPECTED_COUNTS
    assert all(row["new"] == sum(EXPECTED_COUNTS[t].values()) for t, row in counts.items())


def test_report_file_holds_normalised_findings(full_run: tuple[Project, CliRun]) -> None:
    _, run = full_run
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    assert [t["tool"] for t in report["tools"]] == ["bandit", "semgrep", "safety", "pip-audit"]
    assert all(t["ok"] for t in report["tools"])
    by_rule = {(f["tool"], f["rule-id"]): f for f in report["findings"]}
    shell = by_rule[("bandit", "B602")]
    assert (shell["file"], shell["line"], shell["severity"], shell["confidence"]) == (
        "service/app.py",
        22,
        "high",
        "high",
    )
    pyyaml = by_rule[("safety", "39611")]
    assert (pyyaml["package"], pyyaml["version"], pyyaml["fixed-version"]) == (
        "pyyaml",
        "5.3.1",
        "5.4",
    )
    assert (pyyaml["file"], pyyaml["line"]) == ("requirements.txt", 3)
    assert pyyaml["aliases"] == ["CVE-2020-14343"]
    unfixed = by_rule[("pip-audit", "PYSEC-2099-1")]
    assert unfixed["fixed-version"] == "" and unfixed["severity"] == "high"
    assert not any(f["file"].startswith(".venv") for f in report["findings"])
    assert len({f["fingerprint"] for f in report["findings"]}) == 21


def test_sarif_is_valid_one_run_per_tool_and_matches_golden(
    full_run: tuple[Project, CliRun],
) -> None:
    _, run = full_run
    sarif = json.loads(Path(run.outputs["sarif-file"]).read_text())
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    assert [r["tool"]["driver"]["name"] for r in sarif["runs"]] == [
        "bandit",
        "semgrep",
        "safety",
        "pip-audit",
        "trivy",
        "grype",
    ]
    for sarif_run in sarif["runs"]:
        for rule in sarif_run["tool"]["driver"]["rules"]:
            assert isinstance(rule["properties"]["security-severity"], str)
        for result in sarif_run["results"]:
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert not uri.startswith("/"), uri
            assert result["partialFingerprints"]
    assert_golden_data("security-gate/vulnerable-project.sarif", sarif)


def test_summary_and_annotations(full_run: tuple[Project, CliRun]) -> None:
    _, run = full_run
    assert_golden("security-gate/vulnerable-project-summary.md", run.summary)
    errors = re.findall(r"^::error file=([^,]+),line=(\d+),title=([^:]+)::", run.stdout, re.M)
    assert ("service/app.py", "22", "bandit B602") in errors
    assert ("requirements.txt", "3", "safety 39611") in errors
    # one annotation per failing finding (high and above): 21 minus 3 medium and 3 low
    assert len(re.findall(r"^::error file=", run.stdout, re.M)) == 15


def test_fail_on_and_policy_overrides(project: Project, tmp_path: Path) -> None:
    (project.root / "policy.yml").write_text("scanners:\n  bandit: {fail-on: critical}\n")
    run = project.gate("--policy", "policy.yml", scanners="bandit")
    assert run.code == 0, run.log[-2000:]
    assert run.outputs["passed"] == "true" and run.outputs["new-findings"] == "5"
    run = project.gate("--fail-on", "critical", "--min-confidence", "high", scanners="bandit")
    assert run.code == 0
    assert (
        json.loads(run.outputs["counts"])["bandit"]["ignored"] == 2
    )  # B608, B201: medium confidence


def test_baseline_then_pass_and_fingerprints_survive_line_moves(project: Project) -> None:
    written = project.gate(
        "--baseline", ".security-baseline", "--update-baseline", "true", scanners="bandit"
    )
    assert written.code == 0, written.log[-2000:]
    baseline = (project.root / ".security-baseline").read_text()
    assert len([ln for ln in baseline.splitlines() if ln and not ln.startswith("#")]) == 5
    passed = project.gate("--baseline", ".security-baseline", scanners="bandit")
    assert passed.code == 0 and passed.outputs["new-findings"] == "0"
    assert json.loads(passed.outputs["counts"])["bandit"]["baselined"] == 5

    # Lines move (a comment on top): the same findings stay baselined.
    app = project.root / "service" / "app.py"
    app.write_text("# moved\n\n" + app.read_text())
    moved = project.gate("--baseline", ".security-baseline", scanners="bandit")
    assert moved.code == 0 and moved.outputs["new-findings"] == "0"
    # A second identical finding in the same file is new.
    app.write_text(
        app.read_text()
        + '\n\ndef again(host):\n    return subprocess.check_output("ping -c 1 " + host, shell=True)\n'
    )
    again = project.gate("--baseline", ".security-baseline", scanners="bandit")
    assert again.code == 1 and again.outputs["new-findings"] == "1"
    assert "::error file=service/app.py,line=37,title=bandit B602::" in again.stdout


def test_a_new_occurrence_of_a_baselined_dependency_is_new(project: Project) -> None:
    """Baseline pyyaml 5.3.1 in requirements.txt, then pin it again in a second file."""
    written = project.gate(
        "--baseline", ".security-baseline", "--update-baseline", "true", scanners="safety"
    )
    assert written.code == 0, written.log[-2000:]
    (project.root / "requirements-tools.txt").write_text("pyyaml==5.3.1\n")
    both = "requirements.txt\nrequirements-tools.txt"
    again = project.gate(
        "--baseline", ".security-baseline", "--requirements", both, scanners="safety"
    )
    # safety reports pyyaml 39611 (critical) once per file: two occurrences, one baselined
    assert again.code == 1, again.log[-2000:]
    counts = json.loads(again.outputs["counts"])["safety"]
    assert (counts["baselined"], counts["new"]) == (2, 1)
    # fewer occurrences than the baseline holds are fine
    (project.root / "requirements-tools.txt").write_text("")
    fewer = project.gate(
        "--baseline", ".security-baseline", "--requirements", "requirements.txt", scanners="safety"
    )
    assert fewer.code == 0 and fewer.outputs["new-findings"] == "0"


def test_allowlist_count_covers_that_many_occurrences(project: Project) -> None:
    app = project.root / "service" / "app.py"
    shell = '    return subprocess.check_output("ping -c 1 " + host, shell=True)\n'
    app.write_text(app.read_text() + "\n\ndef again(host):\n" + shell)
    (project.root / "allow.yml").write_text(
        "- {id: B602, reason: one reviewed call, expires: 2099-01-01, count: 1}\n"
        "- {id: B201, reason: dev server only, expires: 2099-01-01}\n"
        "- {id: B324, reason: legacy, expires: 2099-01-01}\n"
    )
    run = project.gate("--allowlist", "allow.yml", scanners="bandit")
    assert run.code == 1, run.log[-2000:]  # the second shell=True call is not covered
    counts = json.loads(run.outputs["counts"])["bandit"]
    assert (counts["allowlisted"], counts["new"]) == (3, 3)  # new: B602, B608, B404
    assert "::error file=service/app.py,line=35,title=bandit B602::" in run.stdout
    (project.root / "allow.yml").write_text(
        "- {id: B602, reason: both reviewed, expires: 2099-01-01}\n"
    )
    every = project.gate("--allowlist", "allow.yml", scanners="bandit")
    assert json.loads(every.outputs["counts"])["bandit"]["allowlisted"] == 2


def test_allowlist_suppresses_until_it_expires(project: Project) -> None:
    (project.root / "allow.yml").write_text(
        "- {id: B602, reason: host is validated upstream, expires: 2099-01-01}\n"
        "- {id: B201, reason: dev server only, expires: 2099-01-01}\n"
        "- {id: B324, reason: legacy, expires: 2020-01-01}\n"
    )
    run = project.gate("--allowlist", "allow.yml", scanners="bandit")
    assert run.code == 1  # B324 is high and its entry has expired
    counts = json.loads(run.outputs["counts"])["bandit"]
    assert (counts["allowlisted"], counts["new"]) == (2, 3)
    assert "`B324` expired 2020-01-01" in run.summary
    assert "::warning" in run.stdout and "B324 expired" in run.stdout


def test_ignore_unfixed_for_dependency_and_image_findings(project: Project) -> None:
    run = project.gate(
        "--image-reports", "images/trivy.json", "--ignore-unfixed", "true", scanners="pip-audit"
    )
    counts = json.loads(run.outputs["counts"])
    assert counts["pip-audit"]["ignored"] == 1 and counts["trivy"]["ignored"] == 2
    assert run.code == 1  # the fixed ones still fail


# --- fail closed: every fault ends in 2 or 3, never 0 -------------------------------

FAKE_SCANNER = {
    "killed": "kill -9 $$",
    "truncated": 'while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done; printf \'{"results": [\' > "$out"; exit 0',
    "no-report": "exit 0",
    "crash": "echo 'Traceback: boom' >&2; exit 2",
    "hang": "sleep 300",
    "not-a-bandit-report": 'while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done; echo "[]" > "$out"',
    "not-utf8": 'while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done; printf \'{"results": [], "errors": [], "x": "caf\\351"}\' > "$out"',
}


@pytest.mark.parametrize("fault", sorted(FAKE_SCANNER))
def test_a_broken_scanner_fails_closed(project: Project, tmp_path: Path, fault: str) -> None:
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "bandit").write_text("#!/bin/sh\n" + FAKE_SCANNER[fault] + "\n")
    (fake / "bandit").chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin"}
    run = project.gate("--timeout", "2s", scanners="bandit", env=env)
    assert run.code == 3, run.log[-2000:]
    assert run.outputs["passed"] == "false"
    assert "scanner error (not a pass)" in run.summary
    if fault == "crash":
        assert "Traceback: boom" in run.summary  # the tool's stderr, for whoever reads the run
    if fault == "hang":
        assert "timed out after 2s" in run.summary
    if fault == "not-utf8":
        assert "a report that is not UTF-8 text: byte 0xe9 at offset" in run.summary


# osemgrep (`semgrep scan --experimental`) misbehaving; the Python CLI is the real one.
# None of these is a reason to fall back: each fails the gate, and pysemgrep never runs.
_CLEAN_REPORT = '{"results": [], "errors": [], "paths": {"scanned": ["service/app.py"]}}'
FAKE_OSEMGREP = {
    "killed": "kill -9 $$",
    "truncated report": "printf '{\"results\": ['; exit 0",
    "no report": "exit 0",
    "traceback, exit 0": f"echo '{_CLEAN_REPORT}'; echo 'Traceback (most recent call last):' >&2; exit 0",
    "error line, exit 0": f"echo '{_CLEAN_REPORT}'; echo '[00.10][ERROR]: Fatal error' >&2; exit 0",
    "report not UTF-8": 'printf \'{"results": [], "errors": [], "x": "caf\\351"}\'',
    "errors in the report, exit 0": 'echo \'{"results": [], "errors": [{"type": "Fatal", "message": "boom"}], "paths": {"scanned": []}}\'',
    "crash, exit 2": "echo 'Fatal error: exception Stack_overflow' >&2; exit 2",
    "hang": "sleep 300",
}


def _fake_semgrep(folder: Path, osemgrep: str, python: str = "") -> dict[str, str]:
    """A `semgrep` that runs `osemgrep` for `--experimental`, else `python` (default: the real one)."""
    real = require("semgrep")
    folder.mkdir()
    script = (
        '#!/bin/sh\ncase " $* " in *" --experimental "*)\n'
        + osemgrep
        + "\n;; esac\n"
        + (python or f'exec {real} "$@"')
        + "\n"
    )
    (folder / "semgrep").write_text(script)
    (folder / "semgrep").chmod(0o755)
    return {"PATH": f"{folder}:/usr/bin:/bin"}


@pytest.mark.parametrize("fault", sorted(FAKE_OSEMGREP))
def test_a_broken_osemgrep_fails_closed(project: Project, tmp_path: Path, fault: str) -> None:
    env = _fake_semgrep(tmp_path / "fakebin", FAKE_OSEMGREP[fault])
    run = project.gate("--timeout", "2s", scanners="semgrep", env=env)
    assert run.code == 3, run.log[-2000:]
    assert run.outputs["passed"] == "false"
    assert run.outputs["semgrep-cli"] == "osemgrep"  # judged, not retried with pysemgrep
    assert "scanner error (not a pass)" in run.summary
    assert "pysemgrep" not in run.summary


FALLBACKS = {
    "native program missing": "Failed to find semgrep-core in PATH or in the semgrep package.",
    "an option it does not know": "semgrep scan: unknown option '--x-ignore-semgrepignore-files'.",
}


@pytest.mark.parametrize("why", sorted(FALLBACKS))
def test_pysemgrep_runs_when_osemgrep_cannot(project: Project, tmp_path: Path, why: str) -> None:
    env = _fake_semgrep(tmp_path / "fakebin", f'echo "{FALLBACKS[why]}" >&2; exit 2')
    run = project.gate(scanners="semgrep", env=env)
    assert run.code == 1, run.log[-2000:]  # the real pysemgrep's findings fail the gate
    assert run.outputs["semgrep-cli"] == "pysemgrep"
    counts = json.loads(run.outputs["counts"])["semgrep"]
    assert {s: counts[s] for s in EXPECTED_COUNTS["semgrep"]} == EXPECTED_COUNTS["semgrep"]
    said = FALLBACKS[why].removeprefix("semgrep scan: ")
    assert f"::warning::semgrep: osemgrep could not run ({said}" in run.log
    assert "**semgrep ran as** pysemgrep" in run.summary
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    assert (
        report["tools"][0]["cli"] == "pysemgrep" and "could not run" in report["tools"][0]["note"]
    )


def test_a_failing_fallback_fails_closed(project: Project, tmp_path: Path) -> None:
    missing = f'echo "{FALLBACKS["native program missing"]}" >&2; exit 2'
    env = _fake_semgrep(tmp_path / "fakebin", missing, python="echo 'Traceback: boom' >&2; exit 2")
    run = project.gate(scanners="semgrep", env=env)
    assert run.code == 3, run.log[-2000:]
    assert run.outputs["semgrep-cli"] == "pysemgrep"
    assert "Traceback: boom" in run.summary


def _write(root: Path, rel: str, text: str) -> str:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text)
    return rel


@pytest.mark.parametrize(
    ("fault", "args", "scanners", "code"),
    [
        ("missing target path", ["--paths", "nope"], "bandit", 2),
        ("file that does not parse", ["--paths", "broken.py"], "bandit", 3),
        ("invalid semgrep rules", ["--semgrep-config", "bad-rules.yml"], "semgrep", 3),
        ("registry semgrep config", ["--semgrep-config", "p/python"], "semgrep", 2),
        ("auto semgrep config", ["--semgrep-config", "auto"], "semgrep", 2),
        ("safety without key or db", ["--safety-db", ""], "safety", 3),
        (
            "safety service unreachable",
            ["--safety-db", "", "--safety-api-key", "not-a-key"],
            "safety",
            3,
        ),
        ("pip-audit with nothing auditable", ["--requirements", "empty.txt"], "pip-audit", 2),
        ("pip-audit with an unpinned requirement", ["--requirements", "loose.txt"], "pip-audit", 3),
        ("missing requirements", ["--requirements", "nope.txt"], "pip-audit", 2),
        ("unknown image report", ["--image-reports", "requirements.txt"], "bandit", 2),
        ("missing image report", ["--image-reports", "images/nope.json"], "bandit", 2),
        ("allowlist entry without reason", ["--allowlist", "allow-bad.yml"], "bandit", 2),
        ("bad policy file", ["--policy", "policy-bad.yml"], "bandit", 2),
        ("bad fail-on", ["--fail-on", "severe"], "bandit", 2),
        ("nothing to scan", [], "", 2),
        ("unknown scanner", [], "bandit,trivy", 2),
    ],
)
def test_faults_fail_closed(
    project: Project, fault: str, args: list[str], scanners: str, code: int
) -> None:
    _write(project.root, "broken.py", "def broken(:\n    pass\n")
    _write(
        project.root,
        "bad-rules.yml",
        "rules:\n  - id: x\n    languages: [python]\n    pattern: foo(\n",
    )
    _write(project.root, "empty.txt", "# nothing pinned\n")
    _write(project.root, "loose.txt", "requests>=2\n")
    _write(project.root, "allow-bad.yml", "- {id: B602, expires: 2099-01-01}\n")
    _write(project.root, "policy-bad.yml", "scanners:\n  bandit: {fail-on: severe}\n")
    run = project.gate(*args, scanners=scanners)
    assert run.code == code, f"{fault}: {run.log[-2000:]}"
    assert run.outputs.get("passed", "false") != "true"


def test_osv_outage_fails_closed(tmp_path: Path) -> None:
    with serve_osv([], fail_with=503) as down:
        project = _project(tmp_path, down)
        run = project.gate(scanners="pip-audit")
    assert run.code == 3, run.log[-2000:]
    assert "pip-audit" in run.summary


def test_exclude_skips_paths_and_virtualenvs_are_always_skipped(project: Project) -> None:
    # .venv/ and build/ hold a pickle.loads that must never be reported
    run = project.gate("--exclude", "service/store.py", scanners="bandit")
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    assert sorted({f["file"] for f in report["findings"]}) == ["service/app.py"]
    assert run.outputs["findings"] == "4"
