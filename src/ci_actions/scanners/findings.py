"""Normalised findings: one shape and one severity scale for every scanner.

A fingerprint identifies one OCCURRENCE of a finding across runs without its
line number, so a finding that only moved keeps its fingerprint. Code findings
hash tool, rule, relative path and the normalised source line (whitespace
collapsed); dependency and image findings hash tool, package (lower-cased) and
vulnerability id (not the version or the file). Findings with the same hash are
numbered in file and line order and the number is hashed in too: the n-th
occurrence has its own fingerprint, so a baseline (a set of fingerprints)
holds a COUNT per finding. More occurrences than the baseline holds are new;
fewer are fine.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

SEVERITIES = ("low", "medium", "high", "critical")
CONFIDENCES = ("low", "medium", "high")
# Findings of these kinds concern a package version, not a line of code.
DEPENDENCY_KINDS = ("dependency", "image")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def confidence_rank(confidence: str) -> int:
    """A finding without a confidence counts as high: nothing to doubt it by."""
    return CONFIDENCES.index(confidence) if confidence else len(CONFIDENCES) - 1


def cvss_severity(score: float) -> str:
    """CVSS v3 qualitative rating (FIRST): 9.0+ critical, 7.0+ high, 4.0+ medium, else low."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


@dataclass(frozen=True)
class Finding:
    tool: str
    rule_id: str
    severity: str  # one of SEVERITIES ("" until rated by unknown-severity)
    message: str
    kind: str = "code"  # code | dependency | image
    confidence: str = ""  # one of CONFIDENCES, "" when the tool has none
    file: str = ""  # relative to the workspace, `/` separators
    line: int = 0
    package: str = ""
    version: str = ""
    fixed_version: str = ""
    aliases: tuple[str, ...] = ()
    help_uri: str = ""
    fingerprint: str = ""
    inline: str = ""  # the `# nosec` / `# nosemgrep` comment on its line, if any
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ids(self) -> tuple[str, ...]:
        """Every id an allowlist entry may name this finding by."""
        return (self.rule_id, *self.aliases, self.fingerprint)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def normalise_line(text: str) -> str:
    return " ".join(text.split())


def fingerprint_all(findings: Iterable[Finding], root: Path) -> list[Finding]:
    """Give each finding its stable fingerprint (see the module docstring)."""
    lines_cache: dict[str, list[str]] = {}
    seen: Counter[tuple[str, ...]] = Counter()
    out = []
    for f in sorted(findings, key=sort_key):
        if f.kind in DEPENDENCY_KINDS:
            key: tuple[str, ...] = (f.tool, f.package.lower(), f.rule_id)
            # the first occurrence keeps the fingerprint of releases before counting
            fp = _digest(*key) if not seen[key] else _digest(*key, str(seen[key]))
        else:
            source = normalise_line(_source_line(root, f.file, f.line, lines_cache))
            key = (f.tool, f.rule_id, f.file, _digest(source))
            fp = _digest(*key, str(seen[key]))
        seen[key] += 1
        out.append(replace(f, fingerprint=fp))
    return out


def _source_line(root: Path, rel: str, line: int, cache: dict[str, list[str]]) -> str:
    if rel not in cache:
        try:
            cache[rel] = (root / rel).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[rel] = []
    lines = cache[rel]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def sort_key(f: Finding) -> tuple[str, str, int, str, str, str]:
    return (f.tool, f.file, f.line, f.rule_id, f.package, f.message)


def relative_path(path: str, root: Path) -> str:
    """A tool's path (absolute, `./x`, or relative to root) as a workspace-relative posix path."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(root.resolve())
        except ValueError:
            return p.as_posix()
    return Path(*[part for part in p.parts if part != "."]).as_posix() if p.parts else ""
