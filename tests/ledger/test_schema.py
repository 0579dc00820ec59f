"""The line format: encode/decode, validation on write, versions, the status machine."""

from __future__ import annotations

import json

import pytest

from ci_actions.ledger.schema import (
    EntryLine,
    InvalidLine,
    NewerSchema,
    StatusLine,
    check_entry,
    check_transition,
    count_findings,
    decode_line,
    encode_line,
    scan_failed,
)

DIGEST = "sha256:" + "ab" * 32


def _entry(**changes: object) -> EntryLine:
    fields: dict[str, object] = {
        "v": 1,
        "id": "api-1",
        "service": "api",
        "environment": "prod",
        "image": "registry:5000/team/api",
        "tag": "1.0",
        "digest": DIGEST,
        "created": "2026-11-22T03:00:00Z",
        "status": "built",
    } | changes
    return EntryLine(**fields)  # type: ignore[arg-type]


def test_entry_round_trips_with_kebab_keys_and_type_first() -> None:
    text = encode_line(_entry(git_commit="c" * 40, metadata={"k": "v"}))
    data = json.loads(text)
    assert next(iter(data)) == "type" and data["type"] == "entry"
    assert data["git-commit"] == "c" * 40 and data["metadata"] == {"k": "v"}
    assert "\n" not in text
    assert decode_line(text.encode(), "f:1") == _entry(git_commit="c" * 40, metadata={"k": "v"})


def test_status_line_round_trips() -> None:
    line = StatusLine(v=1, id="api-1", status="healthy", at="2026-11-22T03:00:00Z", reason="ok")
    assert decode_line(encode_line(line).encode(), "f:1") == line


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"type":"entry","v":1,"id":"x"', "truncated"),
        (b"[1, 2]", "Expected `object`"),
        (b'{"type":"note","v":1,"id":"x"}', "Invalid value 'note'"),
        (b'{"type":"status","v":1,"id":"x","status":"great","at":"t"}', "status"),
        (b'{"type":"status","v":"1","id":"x","status":"failed","at":"t"}', "Expected `int`"),
        (
            b'{"type":"status","v":0,"id":"x","status":"failed","at":"t"}',
            r"Invalid enum value 0|Expected `1`",
        ),
        (b'{"type":"status","id":"x","status":"failed","at":"t"}', "missing required field `v`"),
    ],
)
def test_invalid_lines(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidLine, match=message):
        decode_line(raw, "f:1")


def test_newer_schema_is_named_not_skipped() -> None:
    raw = b'{"type":"entry","v":2,"id":"x","whatever":{"new":"shape"}}'
    with pytest.raises(NewerSchema, match=r"f\.jsonl:7 was written with ledger schema v2") as info:
        decode_line(raw, "f.jsonl:7")
    assert info.value.exit_code == 2
    # Even a line that would otherwise parse as v1 fields.
    with pytest.raises(NewerSchema, match="v3"):
        decode_line(b'{"type":"status","v":3,"id":"x","status":"failed","at":"t"}', "f:1")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"service": "../etc"}, "service"),
        ({"environment": "prod env"}, "environment"),
        ({"image": ""}, "image is empty"),
        ({"tag": "", "digest": ""}, "tag or a digest"),
        ({"status": "healthy"}, "starts as"),
        ({"vulnerabilities": -1}, "negative"),
        ({"created": "yesterday"}, "does not match"),
    ],
)
def test_entries_are_validated_before_writing(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_entry(_entry(**changes))


def test_a_valid_entry_passes() -> None:
    check_entry(_entry(status="deployed", tag="", vulnerabilities=0))


ALLOWED = {
    ("built", "deployed"),
    ("built", "failed"),
    ("deployed", "healthy"),
    ("deployed", "failed"),
    ("deployed", "rolled-back"),
    ("healthy", "failed"),
    ("healthy", "rolled-back"),
    ("failed", "rolled-back"),
}
STATUSES = ("built", "deployed", "healthy", "failed", "rolled-back")


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("new", STATUSES)
def test_transitions(current: str, new: str) -> None:
    if (current, new) in ALLOWED:
        check_transition(current, new, "x")
    else:
        with pytest.raises(ValueError, match=f"x is {current}: it cannot become {new}"):
            check_transition(current, new, "x")


def test_scan_verdict_and_counts() -> None:
    counts = {"bandit": {"high": 2, "low": 1}, "pip-audit": {"critical": 1}}
    assert count_findings(counts) == 4
    assert count_findings({"passed": True, "counts": counts}) == 4
    assert scan_failed({"passed": False}, 0)
    assert not scan_failed({"passed": True}, 9)
    assert scan_failed(counts, 4)
    assert not scan_failed(None, 0) and not scan_failed(None, None)
