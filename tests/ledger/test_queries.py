"""History, last known good and statistics over the fixture ledger (expected values worked out by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_actions.ledger import queries
from ci_actions.ledger.reader import LedgerFile, ledger_files, read_ledger

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release-ledger" / ".ci-ledger"


def _read(env: str, service: str) -> LedgerFile:
    return read_ledger(FIXTURE / env / f"{service}.jsonl", "x", [])


def test_history_newest_first_across_files() -> None:
    ledgers = [read_ledger(p, "x", []) for p in ledger_files(FIXTURE)]
    ids = [r.entry.id for r in queries.history(ledgers)]
    assert ids == [
        "api-20261106T080000Z-000005",
        "api-20261106T070000Z-0000d2",
        "api-20261105T120000Z-000004",
        "api-20261104T100000Z-0000d1",
        "api-20261103T091200Z-000003",
        "api-20261103T090000Z-000002",
        "worker-20261102T150000Z-0000w1",
        "api-20261101T100000Z-000001",
    ]
    healthy = queries.history(ledgers, ["healthy"], limit=2)
    assert [r.entry.id for r in healthy] == [
        "api-20261104T100000Z-0000d1",
        "api-20261103T091200Z-000003",
    ]


def test_current_and_rollback_target() -> None:
    ledger = _read("prod", "api")
    now = queries.current(ledger)
    assert now is not None and now.entry.id.endswith("000004")  # 000005 was only built
    good = queries.rollback_target(ledger, now)
    assert good is not None and good.entry.id.endswith("000003")
    assert good.entry.reference == "registry.acme.test:5000/acme/api:1.0.0@sha256:" + "a1" * 32


def test_rollback_target_skips_the_same_image() -> None:
    ledger = _read("prod", "api")
    restored = ledger.find("api-20261103T091200Z-000003")
    # Before the restored 1.0.0 entry: 000001 is healthy but is the same image.
    assert queries.rollback_target(ledger, restored) is None
    second = ledger.find("api-20261103T090000Z-000002")
    found = queries.rollback_target(ledger, second)
    assert found is not None and found.entry.id.endswith("000001")


def test_rollback_target_of_an_empty_or_unjudged_ledger() -> None:
    assert queries.rollback_target(LedgerFile("prod", "x", []), None) is None
    dev = _read("dev", "api")
    now = queries.current(dev)
    assert now is not None and now.entry.id.endswith("d2")
    good = queries.rollback_target(dev, now)
    assert good is not None and good.entry.id.endswith("d1")


# (ledger, looked at from (None: the whole ledger), the newest healthy entry), by hand
# from the fixture: prod 000001 healthy, 000002 rolled-back, 000003 healthy (1.0.0
# restored), 000004 failed, 000005 built; dev d1 healthy, d2 deployed.
LAST_GOOD = [
    ("prod", None, "000003"),
    ("prod", "api-20261103T091200Z-000003", "000003"),  # itself: it is healthy
    ("prod", "api-20261103T090000Z-000002", "000001"),
    ("prod", "api-20261101T100000Z-000001", "000001"),
    ("prod", "api-20261106T080000Z-000005", "000003"),
    ("dev", None, "d1"),
]


@pytest.mark.parametrize(("env", "at", "expected"), LAST_GOOD)
def test_last_good_is_the_newest_healthy_entry(env: str, at: str | None, expected: str) -> None:
    ledger = _read(env, "api")
    found = queries.last_good(ledger, ledger.find(at) if at else None)
    assert found is not None and found.entry.id.endswith(expected)


def test_last_good_of_an_empty_ledger() -> None:
    assert queries.last_good(LedgerFile("prod", "x", [])) is None


def test_stats_prod_api() -> None:
    s = queries.stats(_read("prod", "api"))
    assert s.as_json() == {
        "service": "api",
        "environment": "prod",
        "entries": 5,
        "deployments": 4,
        "succeeded": 2,
        "failed": 2,
        "pending": 0,
        "success-rate": 0.5,
        # 2026-11-03T09:10 -> 2026-11-05T12:15 is 2 days 3 h 5 min
        "mtbf-seconds": 183900.0,
        "last-failure": {
            "id": "api-20261105T120000Z-000004",
            "at": "2026-11-05T12:15:00Z",
            "status": "failed",
            "reason": "pods in CrashLoopBackOff",
        },
        "current": "api-20261105T120000Z-000004",
    }


def test_stats_without_failures() -> None:
    s = queries.stats(_read("dev", "api"))
    assert (s.deployments, s.succeeded, s.failed, s.pending) == (2, 1, 0, 1)
    assert s.success_rate == 1.0 and s.mtbf_seconds is None and s.last_failure is None
    assert queries.overall_success_rate([s, queries.stats(_read("prod", "api"))]) == 3 / 5
    assert queries.overall_success_rate([]) is None
