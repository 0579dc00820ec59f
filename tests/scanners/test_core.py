"""The gate's pure core: fingerprints, policy, allowlist, image reports, SARIF limits."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ci_actions.errors import ConfigError, InputError
from ci_actions.scanners import base, images, policy, sarif
from ci_actions.scanners.findings import Finding, cvss_severity, fingerprint_all, relative_path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "security_gate"


def _code(rule: str, file: str, line: int, tool: str = "bandit", severity: str = "high") -> Finding:
    return Finding(tool=tool, rule_id=rule, severity=severity, message="m", file=file, line=line)


def test_fingerprints_survive_line_moves_and_count_occurrences(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\nos.system(cmd)\n")
    before = fingerprint_all([_code("B605", "a.py", 2)], tmp_path)
    (tmp_path / "a.py").write_text("# new\n\nx = 1\n    os.system(cmd)   \nos.system(cmd)\n")
    after = fingerprint_all([_code("B605", "a.py", 4), _code("B605", "a.py", 5)], tmp_path)
    assert before[0].fingerprint == after[0].fingerprint  # moved and re-indented: same
    assert after[1].fingerprint != after[0].fingerprint  # a second identical line: a new one
    other_rule = fingerprint_all([_code("B602", "a.py", 4)], tmp_path)
    assert other_rule[0].fingerprint != after[0].fingerprint


def test_dependency_fingerprint_is_tool_package_and_id(tmp_path: Path) -> None:
    dep = Finding(
        "pip-audit",
        "PYSEC-1",
        "high",
        "m",
        kind="dependency",
        package="Flask",
        version="2.0.0",
        file="r.txt",
        line=3,
    )
    moved = Finding(
        "pip-audit",
        "PYSEC-1",
        "high",
        "m",
        kind="dependency",
        package="flask",
        version="2.0.1",
        file="r.txt",
        line=9,
    )
    assert (
        fingerprint_all([dep], tmp_path)[0].fingerprint
        == fingerprint_all([moved], tmp_path)[0].fingerprint
    )


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (9.8, "critical"),
        (9.0, "critical"),
        (7.5, "high"),
        (6.1, "medium"),
        (4.0, "medium"),
        (3.9, "low"),
        (0.0, "low"),
    ],
)
def test_cvss_ratings(score: float, severity: str) -> None:
    assert cvss_severity(score) == severity


@pytest.mark.parametrize(
    ("given", "expected"), [("./a/b.py", "a/b.py"), ("a/b.py", "a/b.py"), ("/proj/a.py", "a.py")]
)
def test_relative_paths(given: str, expected: str) -> None:
    assert relative_path(given, Path("/proj")) == expected


ALLOW_ERRORS = [
    ("- {id: B602, expires: 2099-01-01}", "needs a `reason`"),
    ("- {id: B602, reason: ok}", "needs `expires`"),
    ("- {id: B602, reason: ok, expires: soon}", "needs `expires`"),
    ("- {reason: ok, expires: 2099-01-01}", "needs `id`"),
    ("{a: 1}", "expected a list"),
    ("- [", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "error"), ALLOW_ERRORS)
def test_allowlist_entries_need_id_reason_and_expiry(text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error) as info:
        policy.load_allowlist(text, "allow.yml")
    assert info.value.exit_code == 2


def test_judge_orders_allowlist_baseline_ignore_new() -> None:
    today = dt.date(2026, 6, 1)
    findings = [
        _code("B602", "a.py", 1).__class__(
            **{**_code("B602", "a.py", 1).__dict__, "fingerprint": "f1"}
        ),
        Finding(
            "bandit", "B608", "medium", "m", confidence="low", file="a.py", line=2, fingerprint="f2"
        ),
        Finding("bandit", "B201", "high", "m", file="a.py", line=3, fingerprint="f3"),
        Finding("trivy", "CVE-1", "critical", "m", kind="image", package="zlib", fingerprint="f4"),
        Finding("bandit", "B324", "high", "m", file="b.py", line=1, fingerprint="f5"),
    ]
    allow = [
        policy.AllowEntry("B602", "checked", dt.date(2026, 6, 1)),  # expires today: still live
        policy.AllowEntry("f5", "old", dt.date(2026, 5, 31)),  # expired
    ]
    limits = policy.Thresholds(fail_on="high", min_confidence="medium", ignore_unfixed=True)
    verdict = policy.judge(findings, policy.Policy(limits), {"f3"}, allow, today)
    assert [j.status for j in verdict.judged] == [
        "allowlisted",
        "ignored",
        "baselined",
        "ignored",
        "new",
    ]
    assert [j.failing for j in verdict.judged] == [False, False, False, False, True]
    assert [e.id for e in verdict.expired] == ["f5"]
    assert not verdict.passed


def test_policy_file_overrides_per_scanner() -> None:
    loaded = policy.load_policy(
        "scanners:\n  bandit: {fail-on: medium, ignore-unfixed: true}\n",
        "p.yml",
        policy.Thresholds(),
        ["bandit", "semgrep"],
    )
    assert loaded.for_tool("bandit") == policy.Thresholds(fail_on="medium", ignore_unfixed=True)
    assert loaded.for_tool("semgrep") == policy.Thresholds()
    for bad in (
        "scanners:\n  trivy: {fail-on: low}\n",
        "scanners:\n  bandit: {fail_on: low}\n",
        "fail-on: low\n",
        "scanners:\n  bandit: {ignore-unfixed: maybe}\n",
    ):
        with pytest.raises(ConfigError):
            policy.load_policy(bad, "p.yml", policy.Thresholds(), ["bandit", "semgrep"])


def test_baseline_round_trip() -> None:
    text = policy.render_baseline(
        [Finding("bandit", "B602", "high", "m", file="a.py", line=3, fingerprint="abc")]
    )
    assert text.splitlines()[1] == "abc  # bandit B602 a.py"
    assert policy.read_baseline(text + "\n# comment\n  def  \n") == {"abc", "def"}


def test_image_reports_detected_by_schema_markers() -> None:
    tool, trivy = images.load_image_report(FIXTURES / "images" / "trivy.json", "trivy.json")
    assert tool == "trivy"
    assert [(f.rule_id, f.severity, f.package, f.fixed_version) for f in trivy] == [
        ("CVE-2024-2961", "high", "libc6", "2.36-9+deb12u6"),
        ("CVE-2023-45853", "critical", "zlib1g", ""),
        ("CVE-2011-3374", "low", "apt", ""),
    ]
    tool, grype = images.load_image_report(FIXTURES / "images" / "grype.json", "grype.json")
    assert tool == "grype"
    assert [(f.rule_id, f.severity, f.fixed_version) for f in grype] == [
        ("CVE-2024-2961", "high", "2.36-9+deb12u6"),
        ("CVE-2005-2541", "low", ""),
    ]


@pytest.mark.parametrize("content", ['{"foo": 1}', "not json", '{"matches": []}'])
def test_unknown_image_report_is_an_input_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "r.json").write_text(content)
    with pytest.raises(InputError) as info:
        images.load_image_report(tmp_path / "r.json", "r.json")
    assert info.value.exit_code == 2


def test_sarif_cuts_runs_at_githubs_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS_PER_RUN", 3)
    judged = [
        policy.Judged(
            Finding("bandit", "B1", "low", "m", file="a.py", line=n, fingerprint=str(n)),
            "new",
            False,
        )
        for n in range(1, 6)
    ]
    log, cut = sarif.build_sarif(judged, ["bandit"])
    assert cut == {"bandit": 2}
    assert len(log["runs"][0]["results"]) == 3
    assert "2 result(s) left out" in log["runs"][0]["properties"]["truncated"]
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    import jsonschema

    jsonschema.Draft4Validator(schema).validate(log)


def test_a_scanner_that_is_not_installed_is_a_tool_error(tmp_path: Path) -> None:
    request = base.ScanRequest(root=tmp_path, work_dir=tmp_path)
    from ci_actions.scanners.tools import SCANNERS

    run = base.run_scanner(SCANNERS["bandit"], request, path=str(tmp_path / "empty-bin"))
    assert not run.ok and "not installed" in run.error


@pytest.mark.parametrize("count", ["-1", "two", "1.5", "true"])
def test_allowlist_count_must_be_a_whole_number(count: str) -> None:
    text = f"- {{id: B602, reason: r, expires: 2099-01-01, count: {count}}}\n"
    with pytest.raises(ConfigError, match="count"):
        policy.load_allowlist(text, "allow.yml")


def test_dependency_occurrences_get_their_own_fingerprints(tmp_path: Path) -> None:
    def pin(file: str, version: str) -> Finding:
        return Finding(
            "safety",
            "39611",
            "critical",
            "m",
            kind="dependency",
            package="PyYAML",
            version=version,
            file=file,
        )

    one = fingerprint_all([pin("requirements.txt", "5.3.1")], tmp_path)
    two = fingerprint_all([pin("requirements.txt", "5.3.1"), pin("tools.txt", "5.3")], tmp_path)
    assert one[0].fingerprint == two[0].fingerprint  # the first keeps its fingerprint
    assert two[1].fingerprint != two[0].fingerprint  # the second occurrence is its own


@pytest.mark.parametrize(
    ("printed", "complaint"),
    [
        ("Traceback (most recent call last):\n  File x\nKeyError: 'a'", True),
        ("[main]\tERROR\tFile a.py could not be read", True),
        ("[00.07][ERROR]: rule parse failed", True),
        ("ERROR:pip_audit._cli:missing dependency", True),
        ("error: unrecognized arguments", True),
        ("[00.07][WARNING]: !!! You're using one or more options starting with '--x-'", False),
        ("[main]\tINFO\tUsing ini file for skipped tests", False),
        ("scanned 12 files, no errors", False),
        ("", False),
    ],
)
def test_error_output_spots_tracebacks_and_error_lines(printed: str, complaint: bool) -> None:
    assert bool(base.error_output(printed)) is complaint
