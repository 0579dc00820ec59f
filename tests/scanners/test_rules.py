"""The bundled semgrep ruleset against its annotated cases (real semgrep, one run).

tests/fixtures/security_gate/rules/python-security.py marks each case with a
`# ruleid: X` (the next line must match rule X) or `# ok: X` (it must not)
comment, the convention of `semgrep --test`.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from ci_actions.scanners.tools import BUNDLED_RULES
from tests.support.tools import require

CASES = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "security_gate"
    / "rules"
    / "python-security.py"
)
REQUIRED = {
    "sql-built-from-strings",
    "flask-debug-enabled",
    "open-redirect",
    "path-traversal-open",
    "unsafe-deserialisation",
    "subprocess-shell-with-variable",
    "weak-password-hash",
    "tls-verification-disabled",
    "hardcoded-secret",
}


def _annotations() -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    expected, ok = set(), set()
    for n, line in enumerate(CASES.read_text().splitlines(), 1):
        match = re.match(r"\s*# (ruleid|ok): (\S+)", line)
        if match:
            (expected if match[1] == "ruleid" else ok).add((match[2], n + 1))
    return expected, ok


def test_every_rule_matches_its_cases_and_nothing_else() -> None:
    semgrep = require("semgrep")
    done = subprocess.run(
        [
            str(semgrep),
            "scan",
            "--metrics",
            "off",
            "--disable-version-check",
            "--strict",
            "--json",
            "--no-rewrite-rule-ids",
            "--quiet",
            "--config",
            str(BUNDLED_RULES),
            str(CASES),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["errors"] == []
    found = {(r["check_id"], r["start"]["line"]) for r in report["results"]}
    expected, ok = _annotations()
    assert sorted(expected - found) == [], "missed"
    assert sorted(found & ok) == [], "false positives"
    assert sorted(found - expected) == [], "unannotated matches"


def test_the_ruleset_covers_the_required_classes_and_every_rule_has_cases() -> None:
    rules = {r["id"]: r for r in yaml.safe_load(BUNDLED_RULES.read_text())["rules"]}
    assert set(rules) >= REQUIRED
    expected, ok = _annotations()
    assert {rule for rule, _ in expected} == set(rules)
    assert {rule for rule, _ in ok} >= REQUIRED
    for rule in rules.values():
        assert rule["metadata"]["severity"] in {"low", "medium", "high", "critical"}
