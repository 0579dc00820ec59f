"""Inline suppression comments (`# nosec`, `# nosemgrep`): found by the gate, not the scanners.

The scanners run with their own comment handling off (bandit `--ignore-nosec`,
semgrep `--disable-nosem`), so a comment the scanned change adds can never
make a finding disappear unseen. Each finding whose line carries such a
comment is marked with it; the gate honours it only when the workflow sets
`allow-inline-suppressions: true`, and counts it either way.

A comment covers a finding the way the scanner reads it: bandit's `# nosec`
on the flagged line, optionally naming rule ids or test names
(`# nosec B602, B603`); semgrep's `# nosemgrep` / `# nosem` on the flagged
line or alone on the line before, optionally naming rule ids
(`# nosemgrep: rule-id`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from ci_actions.scanners.findings import Finding

_NOSEC = re.compile(r"#\s*(nosec)\b:?\s*([\w\s,.-]*)", re.IGNORECASE)
_NOSEM = re.compile(r"(?:#|//)\s*(nosem(?:grep)?)\b:?\s*([\w\s,.-]*)", re.IGNORECASE)


def mark_inline(findings: Iterable[Finding], root: Path) -> list[Finding]:
    """Each finding with `inline` set to the suppression comment that covers it, if any."""
    cache: dict[str, list[str]] = {}
    out = []
    for f in findings:
        comment = _covering(f, _lines(root, f.file, cache)) if f.file and f.line else ""
        out.append(replace(f, inline=comment) if comment else f)
    return out


def _covering(f: Finding, lines: list[str]) -> str:
    if not 0 < f.line <= len(lines):
        return ""
    line = lines[f.line - 1]
    if f.tool == "bandit":
        return _match(_NOSEC, line, (f.rule_id, f.extra.get("name", "")), _BANDIT_ID)
    if f.tool == "semgrep":
        names = (f.rule_id, f.rule_id.rsplit(".", 1)[-1])
        found = _match(_NOSEM, line, names, _ANY_ID)
        if not found and f.line > 1 and lines[f.line - 2].lstrip().startswith(("#", "//")):
            found = _match(_NOSEM, lines[f.line - 2], names, _ANY_ID)
        return found
    return ""


# bandit takes the words that name a test (B602, subprocess_popen_with_shell_equals_true)
# and treats a comment without one as covering every test; semgrep takes any id.
_BANDIT_ID = re.compile(r"^(B\d{3}|[a-z0-9]+(_[a-z0-9]+)+)$")
_ANY_ID = re.compile(r"^[\w.-]+$")


def _match(
    pattern: re.Pattern[str], line: str, names: tuple[str, ...], idform: re.Pattern[str]
) -> str:
    match = pattern.search(line)
    if match is None:
        return ""
    ids = [i for i in re.split(r"[\s,]+", match.group(2).strip()) if idform.match(i)]
    if ids and not any(i in names for i in ids):
        return ""
    return match.group(0).strip()


def _lines(root: Path, rel: str, cache: dict[str, list[str]]) -> list[str]:
    if rel not in cache:
        try:
            cache[rel] = (root / rel).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[rel] = []
    return cache[rel]
