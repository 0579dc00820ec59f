"""DORA delivery metrics over fixture ledgers: every expected number is worked out by hand
from the definitions (README "Delivery metrics"), in the comments beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ci_actions.ledger import metrics
from ci_actions.ledger.reader import Corrupt, read_ledger

NOW = datetime(2026, 11, 8, 0, 0, tzinfo=timezone.utc)
WEEK = metrics.parse_window("2026-11-01", "2026-11-08", NOW)  # 7 days


@dataclass(frozen=True)
class E:
    """One entry of a fixture ledger and its status changes, in ledger order."""

    id: str
    tag: str
    created: str
    statuses: tuple[tuple[str, str], ...] = ()  # (status, at)
    commit_time: str | None = None  # None: a line written before git-commit-time existed
    digest: str = ""
    initial: str = "built"


def _write(path: Path, entries: list[E]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for e in entries:
        line: dict[str, Any] = {
            "type": "entry",
            "v": 1,
            "id": e.id,
            "service": "api",
            "environment": "prod",
            "image": "registry.local:5000/team/api",
            "tag": e.tag,
            "digest": e.digest,
            "git-commit": "c" * 40,
            "created": e.created,
            "status": e.initial,
        }
        if e.commit_time is not None:
            line["git-commit-time"] = e.commit_time
        out.append(line)
    # status lines after their entries, in time order, as pipelines append them
    changes = sorted(((at, e.id, s) for e in entries for s, at in e.statuses), key=lambda c: c[0])
    out += [{"type": "status", "v": 1, "id": i, "status": s, "at": at} for at, i, s in changes]
    path.write_text("".join(json.dumps(x) + "\n" for x in out))
    return path


def _dora(tmp: Path, entries: list[E], window: metrics.Window = WEEK) -> dict[str, Any]:
    corrupt: list[Corrupt] = []
    ledger = read_ledger(_write(tmp / "prod" / "api.jsonl", entries), "t", corrupt, full=False)
    assert corrupt == []
    (item,) = metrics.per_ledger([ledger], window)
    return item.as_json()


def _ok(i: str, tag: str, commit: str, deployed: str, healthy: str) -> E:
    return E(i, tag, deployed, (("deployed", deployed), ("healthy", healthy)), commit)


# A week of one service: two changes healthy, one failed and rolled back, the
# rollback's re-deployment of 1.1 healthy, one change still deployed, one only built.
BASIC = [
    _ok("e1", "1.0", "2026-11-01T08:00:00Z", "2026-11-01T10:00:00Z", "2026-11-01T10:30:00Z"),
    _ok("e2", "1.1", "2026-11-02T00:00:00Z", "2026-11-02T12:00:00Z", "2026-11-03T00:00:00Z"),
    E(
        "e3",
        "1.2",
        "2026-11-04T00:00:00Z",
        (("deployed", "2026-11-04T00:00:00Z"), ("failed", "2026-11-04T01:00:00Z")),
        "2026-11-03T12:00:00Z",
    ),
    E(  # what `rollback` writes: e3 rolled-back, then 1.1 again, as a new deployed entry
        "e4",
        "1.1",
        "2026-11-04T01:10:00Z",
        (("healthy", "2026-11-04T01:40:00Z"),),
        "2026-11-02T00:00:00Z",
        initial="deployed",
    ),
    E(
        "e5",
        "1.3",
        "2026-11-06T00:00:00Z",
        (("deployed", "2026-11-06T00:00:00Z"),),
        "2026-11-05T00:00:00Z",
    ),
    E("e6", "1.4", "2026-11-07T00:00:00Z", (), "2026-11-06T00:00:00Z"),
]


def _with_rollback(entries: list[E]) -> list[E]:
    """e3 also becomes rolled-back when e4 restores 1.1 (failed_at stays 01:00)."""
    out = []
    for e in entries:
        if e.id == "e3":
            e = E(
                e.id,
                e.tag,
                e.created,
                (*e.statuses, ("rolled-back", "2026-11-04T01:10:00Z")),
                e.commit_time,
            )
        out.append(e)
    return out


CASES: list[tuple[str, list[E], metrics.Window, dict[str, Any]]] = [
    (
        "a week: changes, a failure restored by a rollback, one pending, one only built",
        _with_rollback(BASIC),
        WEEK,
        {
            # e1 and e2 became healthy in the window; e4 re-deploys 1.1: not a change
            "deployment-frequency": {"per-day": round(2 / 7, 4), "count": 2, "band": "high"},
            # e1: 10:30 - 08:00 = 9000 s; e2: 11-03T00:00 - 11-02T00:00 = 86400 s
            # median (9000 + 86400) / 2 = 47700 (under a day: elite); p90: rank ceil(1.8) = 2
            "lead-time": {
                "median-seconds": 47700.0,
                "p90-seconds": 86400.0,
                "count": 2,
                "band": "elite",
            },
            # deployed in the window: e1, e2 healthy; e3 rolled-back; e5 pending (left out);
            # e4 is a re-deployment (left out) -> 1 / 3 (over 15%: low)
            "change-failure-rate": {"rate": 0.3333, "failed": 1, "judged": 3, "band": "low"},
            # e3 failed 01:00, e4 (1.1 again) healthy 01:40 -> 2400 s (under an hour: elite)
            "time-to-restore": {
                "median-seconds": 2400.0,
                "restored": 1,
                "unrestored": 0,
                "band": "elite",
            },
            "pending-ids": ["e5"],
        },
    ),
    (
        "lines written before git-commit-time: no lead time, the rest counts",
        [
            _ok("o1", "1.0", None, "2026-11-01T10:00:00Z", "2026-11-01T10:30:00Z"),  # type: ignore[arg-type]
        ],
        WEEK,
        {
            "deployment-frequency": {"per-day": round(1 / 7, 4), "count": 1, "band": "high"},
            "lead-time": {"median-seconds": None, "p90-seconds": None, "count": 0, "band": None},
            "change-failure-rate": {"rate": 0.0, "failed": 0, "judged": 1, "band": "elite"},
            "time-to-restore": {
                "median-seconds": None,
                "restored": 0,
                "unrestored": 0,
                "band": None,
            },
            "pending-ids": [],
        },
    ),
    (
        "a window with no deployment: empty values, not zeros",
        _with_rollback(BASIC),
        metrics.parse_window("2026-10-01", "2026-10-31", NOW),
        {
            "deployment-frequency": {"per-day": None, "count": None, "band": None},
            "lead-time": {"median-seconds": None, "p90-seconds": None, "count": None, "band": None},
            "change-failure-rate": {"rate": None, "failed": None, "judged": None, "band": None},
            "time-to-restore": {
                "median-seconds": None,
                "restored": None,
                "unrestored": None,
                "band": None,
            },
            "pending-ids": [],
        },
    ),
    (
        "only built entries: no deployment, empty values",
        [
            E("b1", "1.0", "2026-11-02T00:00:00Z"),
            E("b2", "1.1", "2026-11-03T00:00:00Z", (("failed", "2026-11-03T00:10:00Z"),)),
        ],
        WEEK,
        {
            "deployment-frequency": {"per-day": None, "count": None, "band": None},
            "lead-time": {"median-seconds": None, "p90-seconds": None, "count": None, "band": None},
            "change-failure-rate": {"rate": None, "failed": None, "judged": None, "band": None},
            "time-to-restore": {
                "median-seconds": None,
                "restored": None,
                "unrestored": None,
                "band": None,
            },
            "pending-ids": [],
        },
    ),
    (
        "deployed in the window, healthy after it: a deployment with zero frequency",
        [_ok("l1", "1.0", "2026-11-07T20:00:00Z", "2026-11-07T23:00:00Z", "2026-11-08T01:00:00Z")],
        WEEK,
        {
            "deployment-frequency": {"per-day": 0.0, "count": 0, "band": "low"},
            "lead-time": {"median-seconds": None, "p90-seconds": None, "count": 0, "band": None},
            # judged by what is known now: healthy
            "change-failure-rate": {"rate": 0.0, "failed": 0, "judged": 1, "band": "elite"},
            "time-to-restore": {
                "median-seconds": None,
                "restored": 0,
                "unrestored": 0,
                "band": None,
            },
            "pending-ids": [],
        },
    ),
    (
        "two failures, then a fix: each failure restored by the next healthy deployment",
        [
            E(
                "f1",
                "2.0",
                "2026-11-01T23:00:00Z",
                (("deployed", "2026-11-01T23:00:00Z"), ("failed", "2026-11-02T00:00:00Z")),
                "2026-11-01T22:00:00Z",
            ),
            E(
                "f2",
                "2.1",
                "2026-11-02T06:00:00Z",
                (("deployed", "2026-11-02T06:00:00Z"), ("failed", "2026-11-02T07:00:00Z")),
                "2026-11-02T05:00:00Z",
            ),
            _ok("g", "2.2", "2026-11-02T08:00:00Z", "2026-11-02T08:00:00Z", "2026-11-02T09:00:00Z"),
        ],
        WEEK,
        {
            "deployment-frequency": {"per-day": round(1 / 7, 4), "count": 1, "band": "high"},
            # g: 09:00 - 08:00 = 3600 s
            "lead-time": {
                "median-seconds": 3600.0,
                "p90-seconds": 3600.0,
                "count": 1,
                "band": "elite",
            },
            # f1, f2 failed, g healthy: 2 / 3
            "change-failure-rate": {"rate": 0.6667, "failed": 2, "judged": 3, "band": "low"},
            # f1: 00:00 -> 09:00 = 32400 s; f2: 07:00 -> 09:00 = 7200 s; median 19800 (under a day)
            "time-to-restore": {
                "median-seconds": 19800.0,
                "restored": 2,
                "unrestored": 0,
                "band": "high",
            },
            "pending-ids": [],
        },
    ),
    (
        "a failure with no healthy deployment after it: not restored, no median",
        [
            _ok("h", "3.0", "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z"),
            E(
                "x",
                "3.1",
                "2026-11-05T00:00:00Z",
                (("deployed", "2026-11-05T00:00:00Z"), ("failed", "2026-11-05T00:30:00Z")),
                "2026-11-04T00:00:00Z",
            ),
        ],
        WEEK,
        {
            "deployment-frequency": {"per-day": round(1 / 7, 4), "count": 1, "band": "high"},
            # h: 02:00 - 00:00 = 7200 s
            "lead-time": {
                "median-seconds": 7200.0,
                "p90-seconds": 7200.0,
                "count": 1,
                "band": "elite",
            },
            "change-failure-rate": {"rate": 0.5, "failed": 1, "judged": 2, "band": "low"},
            "time-to-restore": {
                "median-seconds": None,
                "restored": 0,
                "unrestored": 1,
                "band": None,
            },
            "pending-ids": [],
        },
    ),
    (
        "the same image by digest under another tag is a re-deployment, not a change",
        [
            E(
                "d1",
                "4.0",
                "2026-11-02T00:00:00Z",
                (("deployed", "2026-11-02T00:00:00Z"), ("healthy", "2026-11-02T00:10:00Z")),
                "2026-11-01T23:00:00Z",
                digest="sha256:" + "d" * 64,
            ),
            E(
                "d2",
                "stable",
                "2026-11-03T00:00:00Z",
                (("deployed", "2026-11-03T00:00:00Z"), ("healthy", "2026-11-03T00:10:00Z")),
                "2026-11-01T23:00:00Z",
                digest="sha256:" + "d" * 64,
            ),
        ],
        WEEK,
        {
            "deployment-frequency": {"per-day": round(1 / 7, 4), "count": 1, "band": "high"},
            # d1 only: 00:10 - 23:00 the day before = 4200 s
            "lead-time": {
                "median-seconds": 4200.0,
                "p90-seconds": 4200.0,
                "count": 1,
                "band": "elite",
            },
            "change-failure-rate": {"rate": 0.0, "failed": 0, "judged": 1, "band": "elite"},
            "time-to-restore": {
                "median-seconds": None,
                "restored": 0,
                "unrestored": 0,
                "band": None,
            },
            "pending-ids": [],
        },
    ),
]


@pytest.mark.parametrize(
    ("name", "entries", "window", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_dora_over_fixture_ledgers(
    tmp_path: Path, name: str, entries: list[E], window: metrics.Window, expected: dict[str, Any]
) -> None:
    got = _dora(tmp_path, entries, window)
    since, until = window.bounds
    assert got == {"since": since, "until": until, **expected}


def test_pooled_over_two_ledgers(tmp_path: Path) -> None:
    """The set as one: counts summed, medians over all samples (each restore measured in its
    own service and environment)."""
    first = read_ledger(_write(tmp_path / "prod" / "api.jsonl", _with_rollback(BASIC)), "a", [])
    second_entries = CASES[5][1]  # f1, f2, g
    # its entries say prod/api too: another ledger root
    other = tmp_path / "x" / "prod" / "api.jsonl"
    second = read_ledger(_write(other, second_entries), "b", [])
    got = metrics.pooled(metrics.per_ledger([first, second], WEEK), WEEK).as_json()
    # healthy changes: e1, e2 + g = 3 over 7 days
    assert got["deployment-frequency"] == {"per-day": round(3 / 7, 4), "count": 3, "band": "high"}
    # lead times 9000, 86400, 3600 -> sorted 3600, 9000, 86400: median 9000; p90 rank ceil(2.7) = 3
    assert got["lead-time"] == {
        "median-seconds": 9000.0,
        "p90-seconds": 86400.0,
        "count": 3,
        "band": "elite",
    }
    # failed 1 + 2 over judged 3 + 3
    assert got["change-failure-rate"] == {"rate": 0.5, "failed": 3, "judged": 6, "band": "low"}
    # restores 2400, 32400, 7200 -> median 7200 (under a day)
    assert got["time-to-restore"] == {
        "median-seconds": 7200.0,
        "restored": 3,
        "unrestored": 0,
        "band": "high",
    }
    assert got["pending-ids"] == ["e5"]


BAND_CASES = [
    ("deployment-frequency", 3.0, "elite"),
    ("deployment-frequency", 1.0, "elite"),  # once a day
    ("deployment-frequency", 0.99, "high"),
    ("deployment-frequency", 1 / 7, "high"),  # once a week
    ("deployment-frequency", 0.14, "medium"),
    ("deployment-frequency", 1 / 30, "medium"),  # once a month
    ("deployment-frequency", 0.033, "low"),
    ("lead-time", 86_399, "elite"),
    ("lead-time", 86_400, "high"),  # a day is no longer under a day
    ("lead-time", 604_800, "medium"),
    ("lead-time", 2_592_000, "low"),  # 30 days
    ("change-failure-rate", 0.0, "elite"),
    ("change-failure-rate", 0.05, "elite"),
    ("change-failure-rate", 0.0501, "high"),
    ("change-failure-rate", 0.10, "high"),
    ("change-failure-rate", 0.15, "medium"),
    ("change-failure-rate", 0.16, "low"),
    ("time-to-restore", 3_599, "elite"),
    ("time-to-restore", 3_600, "high"),
    ("time-to-restore", 86_400, "medium"),
    ("time-to-restore", 604_800, "low"),
    ("time-to-restore", None, None),
]


@pytest.mark.parametrize(("metric", "value", "expected"), BAND_CASES)
def test_bands(metric: str, value: float | None, expected: str | None) -> None:
    assert metrics.band(metric, value) == expected


WINDOW_CASES = [
    # (since, until, expected since, expected until): now is 2026-11-08T00:00:00Z
    ("", "", "2026-10-09T00:00:00Z", "2026-11-08T00:00:00Z"),  # default: 30 days to now
    ("7d", "", "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"),
    ("2026-11-01", "2026-11-03", "2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z"),
    # offsets are turned into UTC: 02:00+02:00 is 00:00Z, 20:00-05:00 is 01:00Z next day
    (
        "2026-11-01T02:00:00+02:00",
        "2026-11-02T20:00:00-05:00",
        "2026-11-01T00:00:00Z",
        "2026-11-03T01:00:00Z",
    ),
    ("1d", "2026-11-03T12:00:00Z", "2026-11-02T12:00:00Z", "2026-11-03T12:00:00Z"),
]


@pytest.mark.parametrize(("since", "until", "want_since", "want_until"), WINDOW_CASES)
def test_window(since: str, until: str, want_since: str, want_until: str) -> None:
    assert metrics.parse_window(since, until, NOW).bounds == (want_since, want_until)


@pytest.mark.parametrize(
    ("since", "until", "names"),
    [
        ("2026-11-01T00:00:00", "", "since"),  # no time zone: never guessed
        ("", "2026-11-08T00:00", "until"),
        ("yesterday", "", "since"),
        ("2026-11-09", "2026-11-08", "since"),  # not before until
        ("0d", "", "since"),
    ],
)
def test_bad_window_names_the_input(since: str, until: str, names: str) -> None:
    with pytest.raises(ValueError, match=rf"^{names}: "):
        metrics.parse_window(since, until, NOW)


def test_old_line_without_commit_time_still_reads(tmp_path: Path) -> None:
    path = _write(tmp_path / "prod" / "api.jsonl", [E("o", "1.0", "2026-11-01T00:00:00Z")])
    corrupt: list[Corrupt] = []
    for full in (True, False):
        ledger = read_ledger(path, "t", corrupt, full=full)
        assert ledger.releases[0].head.git_commit_time == "" and corrupt == []


def test_a_bad_commit_time_is_a_corrupt_line_and_never_a_lead_time(tmp_path: Path) -> None:
    bad = [
        _ok("o", "1.0", "2026-11-01 00:00", "2026-11-01T10:00:00Z", "2026-11-01T10:30:00Z"),
    ]
    path = _write(tmp_path / "prod" / "api.jsonl", bad)
    corrupt: list[Corrupt] = []
    assert read_ledger(path, "t", corrupt, full=True).releases == []
    assert "git-commit-time" in corrupt[0].message  # then its status lines name an unknown entry
    assert [c.line for c in corrupt] == [1, 2, 3]
    # a head-only read (stats) keeps the entry but measures no lead time with it
    got = _dora(tmp_path, bad)
    assert got["deployment-frequency"]["count"] == 1
    assert got["lead-time"] == {
        "median-seconds": None,
        "p90-seconds": None,
        "count": 0,
        "band": None,
    }


def test_the_default_end_holds_what_was_written_this_second(tmp_path: Path) -> None:
    """Stored times are whole seconds and the end is excluded: a change made healthy at
    12:00:05 is in the window when stats runs at 12:00:05.4."""
    now = datetime(2026, 11, 3, 12, 0, 5, 400_000, tzinfo=timezone.utc)
    window = metrics.parse_window("1d", "", now)
    assert window.bounds == ("2026-11-02T12:00:06Z", "2026-11-03T12:00:06Z")
    entries = [
        _ok("s", "1.0", "2026-11-03T11:00:05Z", "2026-11-03T12:00:00Z", "2026-11-03T12:00:05Z")
    ]
    got = _dora(tmp_path, entries, window)
    assert got["deployment-frequency"]["count"] == 1
    assert got["lead-time"]["median-seconds"] == 3600.0  # 12:00:05 - 11:00:05
