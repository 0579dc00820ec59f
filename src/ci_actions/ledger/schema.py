"""The ledger's line format, schema version 1, and the status machine.

A ledger file holds two kinds of lines, each one JSON object:

- an entry (`"type": "entry"`): one build of one image for one service and
  environment, with its initial status;
- a status change (`"type": "status"`): a later status of an entry, by id.

Lines are only ever appended; an entry's current status is the last one.
Both kinds carry `"v": 1`. A reader that meets a higher version stops and
names it rather than guessing at fields it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from ci_actions import grammar
from ci_actions.errors import ConfigError

SCHEMA_VERSION = 1
STATUSES = ("built", "deployed", "healthy", "failed", "rolled-back")
Status = Literal["built", "deployed", "healthy", "failed", "rolled-back"]
# Which status may follow which. `rolled-back` is final: the restored version
# is a new entry of its own.
TRANSITIONS: dict[str, frozenset[str]] = {
    "built": frozenset({"deployed", "failed"}),
    "deployed": frozenset({"healthy", "failed", "rolled-back"}),
    "healthy": frozenset({"failed", "rolled-back"}),
    "failed": frozenset({"rolled-back"}),
    "rolled-back": frozenset(),
}
INITIAL_STATUSES = ("built", "deployed")  # what `record` may start an entry with
GOOD = "healthy"
BAD = frozenset({"failed", "rolled-back"})
NAME_RE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z"
)  # service / environment: one path segment
# Ledger data is never trusted: every field that reaches git, a registry or
# kustomize-bump is checked against its grammar when a whole line is decoded,
# so a line that breaks it is reported and skipped, never used (`\Z`: no newline).
_Name = Annotated[str, msgspec.Meta(pattern=NAME_RE.pattern)]
_Image = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}\Z")]
_Tag = Annotated[str, msgspec.Meta(pattern=r"^(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?\Z")]
_Digest = Annotated[
    str, msgspec.Meta(pattern=r"^(?:[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-f0-9]{32,128})?\Z")
]
_Sha = Annotated[str, msgspec.Meta(pattern=r"^(?:[0-9a-f]{7,64})?\Z")]
_Branch = Annotated[
    str, msgspec.Meta(pattern=r"^(?:[^\x00-\x20\x7f~^:?*\[\\-][^\x00-\x20\x7f~^:?*\[\\]{0,254})?\Z")
]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_Time = Annotated[
    str, msgspec.Meta(pattern=r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?\Z")
]


# gc=False: decoded from JSON, these hold no reference cycles, and a read makes
# hundreds of thousands of them; the cyclic GC need not track them.
class EntryHead(
    msgspec.Struct, kw_only=True, rename="kebab", tag_field="type", tag="entry", gc=False
):
    """What the queries need of an entry. `last-good` and `stats` decode only
    this; the whole entry is read for the few entries they answer with."""

    v: Literal[1]  # another version fails validation, then _check_version names it
    id: str
    service: str
    environment: str
    image: str
    tag: str = ""
    digest: str = ""
    created: str
    status: Status
    # The deployed commit's committer time (UTC), for lead time; "" in lines
    # written before it was kept, and then no lead time is known for them.
    # Checked against its grammar in EntryLine: a head read only measures with it.
    git_commit_time: str = ""

    @property
    def reference(self) -> str:
        """NAME[:TAG][@DIGEST], as kustomize-bump and registries take it."""
        return (
            self.image
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )


class EntryLine(EntryHead, kw_only=True, tag="entry", gc=False):
    # The head's fields again, with their grammar (they keep their place in the line):
    # an entry is checked in full where it is used, the heads of a query stay fast.
    service: _Name
    environment: _Name
    image: _Image
    tag: _Tag = ""
    digest: _Digest = ""
    git_commit_time: _Time = ""
    git_commit: _Sha = ""
    git_branch: _Branch = ""
    workflow_run: str = ""
    actor: str = ""
    scan: dict[str, Any] | None = None
    vulnerabilities: int | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class StatusHead(
    msgspec.Struct, kw_only=True, rename="kebab", tag_field="type", tag="status", gc=False
):
    v: Literal[1]
    id: str
    status: Status
    at: str
    reason: str = ""


class StatusLine(StatusHead, kw_only=True, tag="status", gc=False):
    actor: str = ""
    workflow_run: str = ""


Line = EntryLine | StatusLine
Head = EntryHead | StatusHead  # a Line is a Head too


class _Version(msgspec.Struct):
    v: Any = None


T = TypeVar("T")
_decoder: msgspec.json.Decoder[Line] = msgspec.json.Decoder(Line)
_head_decoder: msgspec.json.Decoder[Head] = msgspec.json.Decoder(Head)
_lines_decoder = msgspec.json.Decoder(list[Line])
_heads_decoder = msgspec.json.Decoder(list[Head])
_version_decoder = msgspec.json.Decoder(_Version)
_encoder = msgspec.json.Encoder()


class NewerSchema(ConfigError):
    """A ledger line written by a newer ci-actions: never guess at it (exit 2)."""


class InvalidLine(ValueError):
    """A line that is not a valid schema-1 ledger line (reported, then skipped)."""


def decode_line(data: bytes, where: str) -> Line:
    """One line to a typed record; InvalidLine or NewerSchema when it is not one."""
    return _decode(_decoder, data, where)


def decode_head(data: bytes, where: str) -> Head:
    """decode_line for queries: only the fields they read are decoded and checked."""
    return _decode(_head_decoder, data, where)


def _decode(decoder: msgspec.json.Decoder[T], data: bytes, where: str) -> T:
    try:
        return decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        _check_version(data, where)
        raise InvalidLine(str(exc)) from None


def decode_block(block: bytes, count: int, full: bool) -> Sequence[Head] | None:
    """`count` newline-terminated lines in one call (the fast path): whole Lines,
    or Heads only when `full` is false. None when any of them is not a plain
    schema-1 line, so the caller decodes them one by one for the details."""
    text = b"[" + block[:-1].replace(b"\n", b",") + b"]"
    try:
        lines: Sequence[Head] = _lines_decoder.decode(text) if full else _heads_decoder.decode(text)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        return None
    # A line holding two objects (`{..},{..}`) would shift every later one.
    return lines if len(lines) == count else None


def _check_version(data: bytes, where: str) -> None:
    try:
        version = _version_decoder.decode(data).v
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        return
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise NewerSchema(
            f"{where} was written with ledger schema v{version}; this ci-actions reads v{SCHEMA_VERSION}",
            hint="upgrade ci-actions to a version that knows that schema",
        )


def encode_line(line: Line) -> str:
    """The line as written: compact JSON, keys in declaration order, `type` first."""
    return _encoder.encode(line).decode("utf-8")


def format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=timezone.utc)


def check_entry(entry: EntryLine) -> None:
    """Validate an entry before it is written; ValueError says what is wrong."""
    for field, value in (("service", entry.service), ("environment", entry.environment)):
        if not NAME_RE.match(value):
            raise ValueError(
                f"{field} {value!r} must be one path segment of letters, digits, '.', '_' or '-'"
            )
    if not entry.image:
        raise ValueError("image is empty")
    if entry.git_commit and (error := grammar.sha_error(entry.git_commit)):
        raise ValueError(f"git-commit {entry.git_commit!r} {error}")
    if entry.git_branch and (error := grammar.ref_error(entry.git_branch)):
        raise ValueError(f"git-branch {entry.git_branch!r} {error}")
    if not (entry.tag or entry.digest):
        raise ValueError("an entry needs a tag or a digest to identify the image")
    if entry.status not in INITIAL_STATUSES:
        raise ValueError(f"a new entry starts as {' or '.join(INITIAL_STATUSES)}")
    if entry.vulnerabilities is not None and entry.vulnerabilities < 0:
        raise ValueError("vulnerabilities is negative")
    parse_time(entry.created)
    decode_line(encode_line(entry).encode(), "the new entry")  # round-trips as schema 1


def check_transition(current: str, new: str, entry_id: str) -> None:
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (it is final)"
        raise ValueError(
            f"entry {entry_id} is {current}: it cannot become {new} (allowed: {allowed})"
        )


def scan_failed(scan: dict[str, Any] | None, vulnerabilities: int | None) -> bool:
    """The scan verdict: its own `passed` when it says, else any vulnerability counted."""
    if scan is not None and isinstance(scan.get("passed"), bool):
        return not scan["passed"]
    return bool(vulnerabilities)


SCAN_SEVERITIES = ("critical", "high", "medium", "low")


def count_findings(scan: Any) -> int:
    """How many findings a scan result reports: security-gate's own numbers, never summed twice.

    A security-gate `counts` row ({severity: n, new: n, baselined: n, ...})
    counts its severities only: the statuses split the same findings again.
    A row without severities counts its numbers; `passed` is not a number.
    """
    if isinstance(scan, dict):
        return sum(scan_summary(scan)["severity"].values())
    return _number(scan)


def scan_summary(scan: dict[str, Any]) -> dict[str, Any]:
    """What the gate decided: {passed: bool | None, severity: {sev: n}, new: n | None}.

    Reads security-gate's `counts` ({tool: row}), the same wrapped with its
    verdict ({passed, counts}), or a single row.
    """
    severity = dict.fromkeys(SCAN_SEVERITIES, 0)
    other = 0
    new: int | None = None
    for row in _rows(scan):
        if any(k in row for k in SCAN_SEVERITIES):
            for k in SCAN_SEVERITIES:
                severity[k] += _number(row.get(k))
        else:
            other += sum(_number(v) for k, v in row.items() if k != "new")
        if "new" in row:
            new = (new or 0) + _number(row["new"])
    if other:
        severity["unrated"] = other
    passed = scan.get("passed")
    return {
        "passed": passed if isinstance(passed, bool) else None,
        "severity": severity,
        "new": new,
    }


def _rows(scan: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of numbers in a scan result, however deep."""
    numbers = {k: v for k, v in scan.items() if k != "passed" and _is_number(v)}
    rows = [numbers] if numbers else []
    for key, value in scan.items():
        if key != "passed" and isinstance(value, dict):
            rows += _rows(value)
    return rows


def _is_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> int:
    return value if _is_number(value) else 0
