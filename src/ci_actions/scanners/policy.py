"""What fails the gate: thresholds, per-scanner overrides, baseline and allowlist.

Each finding gets one status, in this order: `allowlisted` (a live allowlist
entry names it: an entry by rule or vulnerability id covers every occurrence,
or only the first `count` of them when it has one; an entry by fingerprint
covers that one occurrence), `baselined` (its fingerprint, which numbers
occurrences, is in the baseline), `suppressed` (an inline `# nosec` /
`# nosemgrep` covers it and the workflow allows inline suppressions and the comment is not one a
diff-aware scan saw the change add; otherwise the comment is only noted), `ignored`
(ignore-unfixed and no fixed version, or below min-confidence), else `new`.
The gate fails when a `new` finding is at or above its scanner's fail-on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ci_actions.errors import ConfigError
from ci_actions.fsutil import read_text_strict
from ci_actions.scanners.findings import (
    CONFIDENCES,
    DEPENDENCY_KINDS,
    SEVERITIES,
    Finding,
    confidence_rank,
    severity_rank,
)

STATUSES = ("new", "baselined", "allowlisted", "suppressed", "ignored")
_POLICY_KEYS = ("fail-on", "min-confidence", "ignore-unfixed", "unknown-severity")


@dataclass(frozen=True)
class Thresholds:
    fail_on: str = "high"
    min_confidence: str = "low"
    ignore_unfixed: bool = False
    unknown_severity: str = "high"


@dataclass(frozen=True)
class Policy:
    default: Thresholds = field(default_factory=Thresholds)
    per_tool: Mapping[str, Thresholds] = field(default_factory=dict)

    def for_tool(self, tool: str) -> Thresholds:
        return self.per_tool.get(tool, self.default)


def _yaml(text: str, what: str) -> Any:
    """The YAML document in `text` (yaml is imported only when a file is given)."""
    import yaml

    from ci_actions import yamlsafe

    try:
        return yamlsafe.load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} is not valid YAML: {exc}") from None


def load_policy(text: str, shown: str, default: Thresholds, tools: Iterable[str]) -> Policy:
    """`scanners: {bandit: {fail-on: medium, min-confidence: high}, ...}` over the inputs."""
    data = _yaml(text, f"policy file {shown}") or {}
    if not isinstance(data, dict) or set(data) - {"scanners"}:
        raise ConfigError(
            f"policy file {shown}: expected one key `scanners` (a mapping of scanner name to settings)"
        )
    per_tool: dict[str, Thresholds] = {}
    known = set(tools)
    for tool, settings in (data.get("scanners") or {}).items():
        if tool not in known:
            raise ConfigError(
                f"policy file {shown}: unknown scanner {tool!r}",
                hint=f"one of {', '.join(sorted(known))}",
            )
        if not isinstance(settings, dict) or set(settings) - set(_POLICY_KEYS):
            raise ConfigError(
                f"policy file {shown}: scanners.{tool} takes only {', '.join(_POLICY_KEYS)}"
            )
        per_tool[tool] = _thresholds(settings, default, f"{shown}: scanners.{tool}")
    return Policy(default, per_tool)


def _thresholds(settings: Mapping[str, Any], base: Thresholds, where: str) -> Thresholds:
    def pick(key: str, allowed: Sequence[str], current: str) -> str:
        value = str(settings.get(key, current)).lower()
        if value not in allowed:
            raise ConfigError(f"{where}.{key}: {value!r} is not one of {', '.join(allowed)}")
        return value

    unfixed = settings.get("ignore-unfixed", base.ignore_unfixed)
    if not isinstance(unfixed, bool):
        raise ConfigError(f"{where}.ignore-unfixed: use true or false")
    return Thresholds(
        fail_on=pick("fail-on", SEVERITIES, base.fail_on),
        min_confidence=pick("min-confidence", CONFIDENCES, base.min_confidence),
        ignore_unfixed=unfixed,
        unknown_severity=pick("unknown-severity", SEVERITIES, base.unknown_severity),
    )


# --- baseline ---------------------------------------------------------------


def read_baseline(text: str) -> set[str]:
    """Fingerprints, one a line; `#` starts a comment."""
    return {line.split("#", 1)[0].strip() for line in text.splitlines()} - {""}


def render_baseline(findings: Iterable[Finding]) -> str:
    lines = [
        "# security-gate baseline: fingerprints of accepted findings (ci-actions security-gate update-baseline)"
    ]
    rows = sorted({(f.fingerprint, _describe(f)) for f in findings})
    lines += [f"{fp}  # {what}" for fp, what in rows]
    return "\n".join(lines) + "\n"


def _describe(f: Finding) -> str:
    where = f"{f.package} {f.version}" if f.kind in DEPENDENCY_KINDS else f.file
    return f"{f.tool} {f.rule_id} {where}".strip()


# --- allowlist --------------------------------------------------------------


@dataclass(frozen=True)
class AllowEntry:
    id: str  # rule id, vulnerability id or alias, or fingerprint
    reason: str
    expires: dt.date
    tool: str = ""  # optional: only this scanner's findings
    count: int = 0  # optional: at most this many findings; 0 = every occurrence

    def matches(self, f: Finding) -> bool:
        return (not self.tool or self.tool == f.tool) and self.id in f.ids


def load_allowlist(text: str, shown: str) -> list[AllowEntry]:
    """A YAML list of {id | fingerprint, reason, expires: YYYY-MM-DD[, tool][, count]}."""
    data = _yaml(text, f"allowlist {shown}") or []
    if isinstance(data, dict) and "allow" in data:
        data = data["allow"] or []
    if not isinstance(data, list):
        raise ConfigError(f"allowlist {shown}: expected a list of entries")
    entries = []
    for n, item in enumerate(data, 1):
        where = f"allowlist {shown} entry {n}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping with id, reason and expires")
        ident = str(item.get("id") or item.get("fingerprint") or "").strip()
        reason = str(item.get("reason") or "").strip()
        expires = item.get("expires")
        if not ident:
            raise ConfigError(f"{where}: needs `id` (rule or vulnerability id) or `fingerprint`")
        if not reason:
            raise ConfigError(
                f"{where} ({ident}): needs a `reason`", hint="say why this finding is accepted"
            )
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                expires = None
        if not isinstance(expires, dt.date):
            raise ConfigError(
                f"{where} ({ident}): needs `expires` as a date YYYY-MM-DD",
                hint="every exception must end",
            )
        count = item.get("count", 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(
                f"{where} ({ident}): `count` must be a whole number of occurrences",
                hint="leave it out to cover every occurrence",
            )
        entries.append(AllowEntry(ident, reason, expires, str(item.get("tool") or ""), count))
    return entries


# --- evaluation ---------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    finding: Finding
    status: str  # one of STATUSES
    failing: bool  # new and at or above fail-on
    note: str = ""  # allowlist reason, or why it is ignored


@dataclass(frozen=True)
class Verdict:
    judged: tuple[Judged, ...]
    expired: tuple[AllowEntry, ...]  # entries past their date: they suppress nothing

    @property
    def passed(self) -> bool:
        return not any(j.failing for j in self.judged)

    def with_status(self, status: str) -> list[Judged]:
        return [j for j in self.judged if j.status == status]


def judge(
    findings: Sequence[Finding],
    policy: Policy,
    baseline: set[str],
    allowlist: Sequence[AllowEntry],
    today: dt.date,
    *,
    honour_inline: bool = False,
    added_inline: Collection[str] = (),
) -> Verdict:
    """Each finding's status; `added_inline` are fingerprints whose inline comment the change
    added: never honoured (allow-new-suppressions: false)."""
    live = [e for e in allowlist if e.expires >= today]
    expired = tuple(e for e in allowlist if e.expires < today)
    used = [0] * len(live)  # findings each live entry has covered so far
    judged = []
    for f in findings:  # in fingerprint_all's order: `count` covers the first ones
        limits = policy.for_tool(f.tool)
        n = next(
            (i for i, e in enumerate(live) if e.matches(f) and (not e.count or used[i] < e.count)),
            None,
        )
        if n is not None:
            used[n] += 1
            entry = live[n]
            judged.append(
                Judged(f, "allowlisted", False, f"{entry.reason} (until {entry.expires})")
            )
        elif f.inline and honour_inline and f.fingerprint not in added_inline:
            judged.append(Judged(f, "suppressed", False, f"inline `{f.inline}`"))
        elif f.fingerprint in baseline:
            judged.append(Judged(f, "baselined", False))
        elif limits.ignore_unfixed and f.kind in DEPENDENCY_KINDS and not f.fixed_version:
            judged.append(Judged(f, "ignored", False, "no fixed version (ignore-unfixed)"))
        elif confidence_rank(f.confidence) < confidence_rank(limits.min_confidence):
            judged.append(
                Judged(
                    f, "ignored", False, f"confidence {f.confidence} below {limits.min_confidence}"
                )
            )
        else:
            failing = severity_rank(f.severity) >= severity_rank(limits.fail_on)
            note = f"inline `{f.inline}` not honoured" if f.inline else ""
            if f.inline and honour_inline:
                note = f"inline `{f.inline}` added by this change: not honoured (allow-new-suppressions)"
            judged.append(Judged(f, "new", failing, note))
    return Verdict(tuple(judged), expired)


def rated(findings: Iterable[Finding], policy: Policy) -> list[Finding]:
    """Give findings without a severity their scanner's unknown-severity."""
    return [
        f if f.severity else replace(f, severity=policy.for_tool(f.tool).unknown_severity)
        for f in findings
    ]


def load_file(path: Path, shown: str, what: str) -> str:
    try:
        return read_text_strict(path, f"{what} {shown}")
    except FileNotFoundError:
        raise ConfigError(f"{what} {shown} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"{what} {shown} cannot be read: {exc}") from None
