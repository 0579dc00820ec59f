"""SARIF 2.1.0: one run per tool, relative paths, GitHub code scanning's limits.

Rules carry `security-severity` as a string (GitHub ranks by it: 9.0+
critical, 7.0+ high, 4.0+ medium, else low); results carry
`partialFingerprints`, `baselineState`, and a `suppressions` entry when an
allowlist entry (`external`) or an honoured inline comment (`inSource`)
accepted them; an inline comment the gate did not honour is in the result's
properties (`inlineSuppression`) and the result stays unsuppressed. A run is cut at 25,000 results (GitHub's
limit); what was cut is said in the run's properties.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ci_actions import __version__
from ci_actions.scanners.findings import DEPENDENCY_KINDS
from ci_actions.scanners.policy import Judged

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS_PER_RUN = 25_000
MAX_RUNS = 20
FINGERPRINT_KEY = "ciActionsFingerprint/v1"
SECURITY_SEVERITY = {"low": "2.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}
LEVEL = {"low": "note", "medium": "warning", "high": "error", "critical": "error"}
TOOL_URIS = {
    "bandit": "https://github.com/PyCQA/bandit",
    "semgrep": "https://semgrep.dev",
    "safety": "https://github.com/pyupio/safety",
    "pip-audit": "https://github.com/pypa/pip-audit",
    "trivy": "https://github.com/aquasecurity/trivy",
    "grype": "https://github.com/anchore/grype",
}


def build_sarif(
    judged: Sequence[Judged], tools: Sequence[str], versions: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, int]]:
    """(the SARIF log, {tool: results cut}) with a run for every tool that ran, in order."""
    runs, cut = [], {}
    for tool in tools[:MAX_RUNS]:
        mine = [j for j in judged if j.finding.tool == tool]
        kept = mine[:MAX_RESULTS_PER_RUN]
        if len(mine) > len(kept):
            cut[tool] = len(mine) - len(kept)
        runs.append(_run(tool, kept, cut.get(tool, 0), (versions or {}).get(tool, "")))
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": runs}, cut


def _run(tool: str, judged: Sequence[Judged], cut: int, version: str) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for j in judged:
        f = j.finding
        rule = rules.get(f.rule_id)
        if rule is None:
            rule = rules[f.rule_id] = _rule(j)
        elif float(SECURITY_SEVERITY[f.severity]) > float(rule["properties"]["security-severity"]):
            rule["properties"]["security-severity"] = SECURITY_SEVERITY[f.severity]
        results.append(_result(j, list(rules).index(f.rule_id)))
    driver: dict[str, Any] = {
        "name": tool,
        "informationUri": TOOL_URIS.get(tool, "https://github.com"),
        "rules": list(rules.values()),
    }
    if version:
        driver["version"] = version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"security-gate/{tool}/"},
        "originalUriBaseIds": {
            "%SRCROOT%": {"description": {"text": "The checked-out repository."}}
        },
        "results": results,
        "properties": {"generator": f"ci-actions {__version__}"},
    }
    if cut:
        run["properties"]["truncated"] = (
            f"{cut} result(s) left out: GitHub accepts at most {MAX_RESULTS_PER_RUN} per run"
        )
    return run


def _rule(j: Judged) -> dict[str, Any]:
    f = j.finding
    rule: dict[str, Any] = {
        "id": f.rule_id,
        "shortDescription": {"text": _short(f.message) or f.rule_id},
        "properties": {"security-severity": SECURITY_SEVERITY[f.severity], "tags": ["security"]},
    }
    if f.help_uri:
        rule["helpUri"] = f.help_uri
    return rule


def _result(j: Judged, rule_index: int) -> dict[str, Any]:
    f = j.finding
    message = f.message or f.rule_id
    if f.kind in DEPENDENCY_KINDS:
        fix = f"fixed in {f.fixed_version}" if f.fixed_version else "no fixed version"
        message = f"{f.package} {f.version} ({fix}): {message}"
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": message},
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "baselineState": "unchanged" if j.status == "baselined" else "new",
        "properties": {"severity": f.severity, "status": j.status},
    }
    if f.file:
        location: dict[str, Any] = {"artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"}}
        location["region"] = {"startLine": max(f.line, 1)}
        result["locations"] = [{"physicalLocation": location}]
    if f.confidence:
        result["properties"]["confidence"] = f.confidence
    if j.status == "allowlisted":
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": j.note}
        ]
    elif j.status == "suppressed":
        result["suppressions"] = [
            {"kind": "inSource", "status": "accepted", "justification": j.note}
        ]
    if f.inline:
        result["properties"]["inlineSuppression"] = f.inline
    return result


def _short(text: str, limit: int = 120) -> str:
    first = text.split(". ")[0].strip()
    return first if len(first) <= limit else first[: limit - 1] + "…"
