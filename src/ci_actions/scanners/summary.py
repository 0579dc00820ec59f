"""The step summary: tool x severity, new vs baselined vs allowlisted, what fails, what broke."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ci_actions.scanners.base import ToolRun
from ci_actions.scanners.findings import DEPENDENCY_KINDS, SEVERITIES, severity_rank
from ci_actions.scanners.gate import Scope, suppression_counts
from ci_actions.scanners.policy import STATUSES, Verdict

MAX_LISTED = 50
_STDERR_LINES = 30


def render_summary(
    verdict: Verdict | None,
    runs: Sequence[ToolRun],
    table: Mapping[str, Mapping[str, int]],
    cut: Mapping[str, int],
    scope: Scope | None = None,
) -> str:
    broken = [r for r in runs if not r.ok]
    if broken:
        head = "### Security gate: scanner error (not a pass)"
    elif verdict is not None and verdict.passed:
        head = "### Security gate: passed"
    else:
        head = "### Security gate: failed"
    lines = [head, ""]
    if table:
        lines += _table(table)
    if verdict is not None:
        lines += _failing(verdict)
        lines += _expired(verdict)
        lines += _suppressions(verdict, scope or Scope())
    if scope is not None:
        lines += _scope(scope)
    lines += _command_lines(runs)
    for tool, n in cut.items():
        lines += [
            f"> SARIF: {n} {tool} result(s) left out (GitHub accepts at most 25,000 per run).",
            "",
        ]
    for run in broken:
        lines += _broken(run)
    return "\n".join(lines).rstrip() + "\n"


def _table(table: Mapping[str, Mapping[str, int]]) -> list[str]:
    cols = [*reversed(SEVERITIES), *STATUSES]
    lines = ["| tool | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for tool, row in table.items():
        lines.append(f"| {tool} | " + " | ".join(str(row.get(c, 0)) for c in cols) + " |")
    total = {c: sum(row.get(c, 0) for row in table.values()) for c in cols}
    lines.append("| **total** | " + " | ".join(f"**{total[c]}**" for c in cols) + " |")
    return [*lines, ""]


def _failing(verdict: Verdict) -> list[str]:
    failing = sorted(
        (j for j in verdict.judged if j.failing),
        key=lambda j: (
            -severity_rank(j.finding.severity),
            j.finding.tool,
            j.finding.file,
            j.finding.line,
        ),
    )
    if not failing:
        return []
    lines = [f"#### {len(failing)} new finding(s) at or above the threshold", ""]
    lines += ["| severity | tool | rule | where | finding |", "|---|---|---|---|---|"]
    for j in failing[:MAX_LISTED]:
        f = j.finding
        what = f.message
        if f.kind in DEPENDENCY_KINDS:
            what = f"{f.package} {f.version} ({'fixed in ' + f.fixed_version if f.fixed_version else 'no fix'}): {f.message}"
        lines.append(
            f"| {f.severity} | {f.tool} | `{f.rule_id}` | `{f.location}` | {_cell(what)} |"
        )
    if len(failing) > MAX_LISTED:
        lines.append(f"\n…and {len(failing) - MAX_LISTED} more in the report file.")
    return [*lines, ""]


def _expired(verdict: Verdict) -> list[str]:
    if not verdict.expired:
        return []
    lines = ["#### Expired allowlist entries (they suppress nothing now)", ""]
    lines += [f"- `{e.id}` expired {e.expires}: {e.reason}" for e in verdict.expired]
    return [*lines, ""]


def _suppressions(verdict: Verdict, scope: Scope) -> list[str]:
    n = suppression_counts(verdict)
    if not any(n.values()):
        return []
    inline = (
        f"{n['inline-honoured']} by an inline comment (allow-inline-suppressions: true)"
        if scope.inline_honoured
        else f"{n['inline-not-honoured']} inline comment(s) not honoured"
        " (allow-inline-suppressions: false; those findings are judged as usual)"
    )
    return [f"**Suppressions:** {n['allowlisted']} by the allowlist; {inline}.", ""]


def _scope(scope: Scope) -> list[str]:
    lines = _diff(scope)
    lines += ["**Not scanned:** " + ", ".join(f"`{e}`" for e in scope.excluded) + ".", ""]
    if scope.test_file_rules:
        lines += [
            f"**Not applied to test files:** {', '.join(scope.test_file_rules)}"
            f" ({scope.skipped_in_tests} finding(s) left out).",
            "",
        ]
    if scope.repository_config:
        lines += ["**Repository scanner settings read:** `.bandit`, `.semgrepignore`.", ""]
    return lines


def _diff(scope: Scope) -> list[str]:
    if scope.fallback:
        return [f"**Full scan** (diff-aware scan not possible: {scope.fallback}).", ""]
    if not scope.diff_base:
        return []
    files = scope.scanned_files
    shown = ", ".join(f"`{f}`" for f in files[:MAX_LISTED])
    more = f" and {len(files) - MAX_LISTED} more" if len(files) > MAX_LISTED else ""
    what = (
        f"{len(files)} changed Python file(s): {shown}{more}" if files else "no changed Python file"
    )
    lines = [
        f"**Diff-aware scan** against the merge base `{scope.diff_base[:12]}`: {what};"
        " only findings new relative to the base fail the gate.",
        "",
    ]
    if scope.not_run:
        lines += [
            f"**Not run:** {', '.join(scope.not_run)}: no requirements file changed since the"
            " base, so none of their findings could be new (and the result cache held none).",
            "",
        ]
    return lines


_CLI = {
    "osemgrep": "osemgrep, the OCaml command line (`semgrep scan --experimental`)",
    "pysemgrep": "pysemgrep, the Python command line (`semgrep --legacy scan`)",
}


def _command_lines(runs: Sequence[ToolRun]) -> list[str]:
    """Which command line ran, for a tool that has more than one, and why when not the first."""
    lines = []
    for run in runs:
        if run.cli:
            why = f" ({run.note})" if run.note else ""
            lines += [f"**{run.tool} ran as** {_CLI.get(run.cli, run.cli)}{why}.", ""]
    return lines


def _broken(run: ToolRun) -> list[str]:
    lines = [f"#### {run.tool} {run.error}", ""]
    if run.command:
        lines += [f"`{run.command}`", ""]
    if run.stderr:
        tail = "\n".join(run.stderr.splitlines()[-_STDERR_LINES:])
        lines += ["```", tail.replace("```", "'''"), "```", ""]
    return lines


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"
