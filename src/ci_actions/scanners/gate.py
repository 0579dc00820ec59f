"""The gate's core: run scanners in parallel, fingerprint, judge, count, report."""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ci_actions.fsutil import read_text_strict
from ci_actions.result import Annotation
from ci_actions.scanners.base import ScanRequest, ToolRun
from ci_actions.scanners.cache import ResultCache, run_cached
from ci_actions.scanners.findings import DEPENDENCY_KINDS, SEVERITIES, Finding
from ci_actions.scanners.policy import STATUSES, Judged, Verdict
from ci_actions.scanners.targets import is_test_file
from ci_actions.scanners.tools import SCANNERS

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Scope:
    """What the gate left out or let through, for the summary and the report."""

    excluded: tuple[str, ...] = ()  # anchored defaults, then the `exclude` input
    test_file_rules: tuple[str, ...] = ()
    skipped_in_tests: int = 0
    inline_honoured: bool = False
    repository_config: bool = False
    diff_base: str = ""  # the merge base a diff-aware scan compared with ("" = full scan)
    scanned_files: tuple[str, ...] = ()  # the Python files given to bandit and semgrep
    fallback: str = ""  # why a diff-aware scan was asked for and a full one ran
    not_run: tuple[str, ...] = ()  # dependency scanners not run: no requirements file changed


def drop_test_file_rules(
    findings: Sequence[Finding], rules: Sequence[str]
) -> tuple[list[Finding], list[Finding]]:
    """(kept, dropped): bandit findings of `rules` in test files are not applied."""
    kept: list[Finding] = []
    dropped: list[Finding] = []
    for f in findings:
        in_test = f.tool == "bandit" and f.rule_id in rules and is_test_file(f.file)
        (dropped if in_test else kept).append(f)
    return kept, dropped


def suppression_counts(verdict: Verdict) -> dict[str, int]:
    """Every suppression: allowlist hits, inline comments honoured and inline comments not honoured."""
    return {
        "allowlisted": len(verdict.with_status("allowlisted")),
        "inline-honoured": len(verdict.with_status("suppressed")),
        "inline-not-honoured": sum(
            1 for j in verdict.judged if j.finding.inline and j.status != "suppressed"
        ),
    }


def run_scanners(
    names: Sequence[str], request: ScanRequest, cache: ResultCache | None = None
) -> list[ToolRun]:
    """Every scanner at once, each in its own thread (each waits on its own process)."""
    return run_jobs([(name, request) for name in names], cache)


def run_jobs(
    jobs: Sequence[tuple[str, ScanRequest]], cache: ResultCache | None = None
) -> list[ToolRun]:
    """Each (scanner, request) at once, in its own thread; the runs in the order given."""
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="scanner") as pool:
        futures = [pool.submit(run_cached, SCANNERS[name], req, cache) for name, req in jobs]
        return [f.result() for f in futures]


def locate_dependencies(
    findings: Sequence[Finding], root: Path, requirements: Sequence[str]
) -> list[Finding]:
    """Point a dependency finding at the requirements line that pins its package."""
    if not requirements:
        return list(findings)
    from packaging.utils import canonicalize_name  # only when there are requirements

    where: dict[str, tuple[str, int]] = {}
    for req in requirements:
        try:
            lines = read_text_strict(root / req, f"requirements file {req}").splitlines()
        except OSError:
            continue
        for n, text in enumerate(lines, 1):
            match = _REQUIREMENT.match(text)
            if match and not text.lstrip().startswith(("#", "-")):
                where.setdefault(str(canonicalize_name(match.group(1))), (req, n))
    out = []
    for f in findings:
        hit = where.get(str(canonicalize_name(f.package))) if f.kind == "dependency" else None
        if hit and (not f.file or f.file == hit[0]):
            f = replace(f, file=hit[0], line=hit[1])
        out.append(f)
    return out


def counts(verdict: Verdict, tools: Sequence[str]) -> dict[str, dict[str, int]]:
    """{tool: {severity: every finding, and new/baselined/allowlisted/ignored}}."""
    table = {tool: dict.fromkeys((*SEVERITIES, *STATUSES), 0) for tool in tools}
    for j in verdict.judged:
        row = table.setdefault(j.finding.tool, dict.fromkeys((*SEVERITIES, *STATUSES), 0))
        row[j.finding.severity] += 1
        row[j.status] += 1
    return table


def failing_annotations(verdict: Verdict) -> list[Annotation]:
    out = []
    for j in verdict.judged:
        if not j.failing:
            continue
        f = j.finding
        text = f"{f.severity}: {f.message}"
        if f.kind in DEPENDENCY_KINDS:
            fix = f"fixed in {f.fixed_version}" if f.fixed_version else "no fixed version"
            text = f"{f.severity}: {f.package} {f.version} {f.rule_id} ({fix}): {f.message}"
        out.append(
            Annotation(
                text, "error", file=f.file, line=f.line or None, title=f"{f.tool} {f.rule_id}"
            )
        )
    return out


def report_json(
    verdict: Verdict, runs: Sequence[ToolRun], passed: bool, scope: Scope | None = None
) -> dict[str, Any]:
    """The normalised report (report-file)."""
    scope = scope or Scope()
    return {
        "passed": passed,
        "diff-aware": bool(scope.diff_base),
        "diff-base": scope.diff_base,
        "scanned-files": list(scope.scanned_files),
        "not-run": list(scope.not_run),
        "excluded": list(scope.excluded),
        "test-file-rules": {
            "rules": list(scope.test_file_rules),
            "skipped": scope.skipped_in_tests,
        },
        "suppressions": suppression_counts(verdict),
        "tools": [
            {
                "tool": r.tool,
                "ok": r.ok,
                "error": r.error,
                "seconds": round(r.seconds, 2),
                "command": r.command,
                "cli": r.cli,
                "note": r.note,
                "scanned": r.scanned,
            }
            for r in runs
        ],
        "findings": [_finding_json(j) for j in verdict.judged],
        "expired-allowlist": [
            {"id": e.id, "reason": e.reason, "expires": e.expires.isoformat()}
            for e in verdict.expired
        ],
    }


def _finding_json(j: Judged) -> dict[str, Any]:
    f = j.finding
    data: dict[str, Any] = {
        "tool": f.tool,
        "rule-id": f.rule_id,
        "severity": f.severity,
        "confidence": f.confidence,
        "kind": f.kind,
        "file": f.file,
        "line": f.line,
        "message": f.message,
        "fingerprint": f.fingerprint,
        "status": j.status,
        "failing": j.failing,
    }
    if f.inline:
        data["inline-suppression"] = f.inline
    if f.kind in DEPENDENCY_KINDS:
        data |= {
            "package": f.package,
            "version": f.version,
            "fixed-version": f.fixed_version,
            "aliases": list(f.aliases),
        }
    if j.note:
        data["note"] = j.note
    return data
