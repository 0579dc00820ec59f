"""Questions asked of folded ledgers: history, last known good, statistics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ci_actions.ledger.reader import LedgerFile, Release
from ci_actions.ledger.schema import BAD, GOOD, parse_time


def history(
    files: Iterable[LedgerFile], statuses: Iterable[str] = (), limit: int = 0
) -> list[Release]:
    """Entries newest first (by creation time, then file order), optionally by status."""
    wanted = set(statuses)
    releases = [r for f in files for r in f.releases if not wanted or r.status in wanted]
    releases.sort(key=lambda r: (r.head.created, r.seq), reverse=True)
    return releases[:limit] if limit > 0 else releases


def by_service(ledgers: Sequence[LedgerFile]) -> list[tuple[str, list[LedgerFile]]]:
    """The ledgers grouped by service (sorted), each service's environments sorted."""
    grouped: dict[str, list[LedgerFile]] = {}
    for ledger in sorted(ledgers, key=lambda ledger: (ledger.service, ledger.environment)):
        grouped.setdefault(ledger.service, []).append(ledger)
    return list(grouped.items())


def current(ledger: LedgerFile) -> Release | None:
    """What runs now: the newest entry that was ever deployed."""
    for release in reversed(ledger.releases):
        if release.deployed:
            return release
    return None


def _same_image(a: Release, b: Release) -> bool:
    if a.head.digest and b.head.digest:
        return a.head.digest == b.head.digest
    return (a.head.image, a.head.tag) == (b.head.image, b.head.tag)


def last_good(ledger: LedgerFile, at: Release | None = None) -> Release | None:
    """The newest healthy entry: `at` itself or older (None: the whole ledger).

    "Last good" is the newest release known to be healthy, the one running
    now included; what to roll back to is `rollback_target`.
    """
    end = at.seq + 1 if at is not None else len(ledger.releases)
    for release in reversed(ledger.releases[:end]):
        if release.status == GOOD:
            return release
    return None


def rollback_target(ledger: LedgerFile, before: Release | None) -> Release | None:
    """The newest healthy entry older than `before` that is a different image.

    A restored version is recorded as a new entry of the same image; skipping
    the same image keeps a rollback from "restoring" what just failed.
    """
    end = before.seq if before is not None else len(ledger.releases)
    for release in reversed(ledger.releases[:end]):
        if release.status == GOOD and (before is None or not _same_image(release, before)):
            return release
    return None


@dataclass(frozen=True)
class Stats:
    service: str
    environment: str
    entries: int
    deployments: int  # entries that left `built`
    succeeded: int  # current status healthy
    failed: int  # current status failed or rolled-back
    pending: int  # deployed, not yet judged
    success_rate: float | None  # succeeded / (succeeded + failed), None when nothing was judged
    mtbf_seconds: float | None  # mean time between consecutive failures
    last_failure: dict[str, str] | None
    current: str  # id of what runs now

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "entries": self.entries,
            "deployments": self.deployments,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "pending": self.pending,
            "success-rate": None if self.success_rate is None else round(self.success_rate, 4),
            "mtbf-seconds": None if self.mtbf_seconds is None else round(self.mtbf_seconds, 1),
            "last-failure": self.last_failure,
            "current": self.current,
        }


def stats(ledger: LedgerFile) -> Stats:
    deployments = succeeded = failed = pending = 0
    failures: list[Release] = []
    for release in ledger.releases:
        if not release.deployed:
            continue
        deployments += 1
        if release.status == GOOD:
            succeeded += 1
        elif release.status in BAD:
            failed += 1
            failures.append(release)
        else:
            pending += 1
    judged = succeeded + failed
    failures.sort(key=lambda r: r.failed_at)
    mtbf = None
    if len(failures) >= 2:
        first, last = parse_time(failures[0].failed_at), parse_time(failures[-1].failed_at)
        mtbf = (last - first).total_seconds() / (len(failures) - 1)
    last_failure = None
    if failures:
        worst = failures[-1]
        last_failure = {
            "id": worst.head.id,
            "at": worst.failed_at,
            "status": worst.status,
            "reason": worst.reason,
        }
    now = current(ledger)
    return Stats(
        service=ledger.service,
        environment=ledger.environment,
        entries=len(ledger.releases),
        deployments=deployments,
        succeeded=succeeded,
        failed=failed,
        pending=pending,
        success_rate=succeeded / judged if judged else None,
        mtbf_seconds=mtbf,
        last_failure=last_failure,
        current=now.head.id if now else "",
    )


def overall_success_rate(all_stats: Iterable[Stats]) -> float | None:
    succeeded = failed = 0
    for item in all_stats:
        succeeded += item.succeeded
        failed += item.failed
    return succeeded / (succeeded + failed) if succeeded + failed else None
