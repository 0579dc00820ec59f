"""Delivery metrics from folded ledgers: the four DORA keys, pure (the clock is passed in).

Over a window [since, until) of UTC times, per service and environment:

- deployment frequency: deployments that became healthy in the window, per day;
- lead time: median and p90 of (became healthy - committer time of the deployed
  commit) over those deployments that know their commit time;
- change failure rate: deployments made in the window that ended failed or
  rolled-back, over those judged (healthy, failed or rolled-back); the ones
  still `deployed` are pending, listed and left out;
- time to restore: median of (next healthy deployment - failure) over the
  failures in the window that were followed by a healthy deployment.

A re-deployment of an image this ledger already deployed (what `rollback`
records) is not a new change: it restores service (time to restore) but is
not counted in frequency, lead time or failure rate. An image is the same by
its digest, else by its name and tag. A window with no deployment at all
gives empty (None) values, never zeros.

Bands follow the 2023 Accelerate State of DevOps report (DORA): see BANDS.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ci_actions.ledger.reader import LedgerFile
from ci_actions.ledger.schema import BAD, GOOD, format_time

DEFAULT_DAYS = 30
DAY = 86_400.0
HOUR = 3_600.0
WEEK = 7 * DAY
MONTH = 30 * DAY
# (band, bound): the first band whose bound the value meets. From the 2023
# report's performance levels; where a level is a range, its better end is
# the bound, and a change failure rate level's value is its upper bound.
BANDS: dict[str, tuple[tuple[str, float], ...]] = {
    # deployments per day, at least
    "deployment-frequency": (("elite", 1.0), ("high", 1 / 7), ("medium", 1 / 30)),
    # median seconds, below
    "lead-time": (("elite", DAY), ("high", WEEK), ("medium", MONTH)),
    # rate, at most
    "change-failure-rate": (("elite", 0.05), ("high", 0.10), ("medium", 0.15)),
    # median seconds, below
    "time-to-restore": (("elite", HOUR), ("high", DAY), ("medium", WEEK)),
}
_DURATION = re.compile(r"^([0-9]{1,5})d\Z")


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / DAY

    def weeks(self) -> list[str]:
        """The Mondays (UTC) of the weeks the window touches, as dates."""
        day = self.since.date() - timedelta(days=self.since.weekday())
        out = []
        while datetime.combine(day, datetime.min.time(), timezone.utc) < self.until:
            out.append(day.isoformat())
            day += timedelta(days=7)
        return out

    @property
    def bounds(self) -> tuple[str, str]:
        """(since, until) as stored times: stored times compare as strings."""
        return format_time(self.since), format_time(self.until)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 time with Z or an offset, or a date (its 00:00 UTC); ValueError otherwise."""
    text = text.strip()
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), timezone.utc)
    # Python 3.10's fromisoformat does not take "Z" for UTC: spell it as the offset.
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add Z for UTC")
    return moment.astimezone(timezone.utc)


def _after(now: datetime) -> datetime:
    """The end of the window that holds everything written up to `now`: stored times
    are whole seconds and the end is excluded, so the next whole second."""
    whole = now.astimezone(timezone.utc).replace(microsecond=0)
    return whole + timedelta(seconds=1) if whole < now else whole


def parse_window(since: str, until: str, now: datetime) -> Window:
    """`since`: a time, a date or a number of days before `until` ("30d"); `until`: a time
    or a date, default `now`. ValueError names which one is wrong and why."""
    try:
        end = parse_moment(until) if until.strip() else _after(now)
    except ValueError as exc:
        raise ValueError(f"until: {exc}") from None
    end = end.replace(microsecond=0)
    text = since.strip() or f"{DEFAULT_DAYS}d"
    days = _DURATION.match(text)
    try:
        start = end - timedelta(days=int(days.group(1))) if days else parse_moment(text)
    except ValueError as exc:
        raise ValueError(f"since: {exc}") from None
    if start >= end:
        raise ValueError(f"since: {format_time(start)} is not before until {format_time(end)}")
    return Window(start, end)


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle ones when their number is even."""
    if not values:
        return None
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def p90(values: Sequence[float]) -> float | None:
    """Nearest rank: the smallest value that at least 90% of the values are at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def band(metric: str, value: float | None) -> str | None:
    if value is None:
        return None
    for name, bound in BANDS[metric]:
        if metric == "deployment-frequency" and value >= bound:
            return name
        if metric == "change-failure-rate" and value <= bound:
            return name
        if metric in ("lead-time", "time-to-restore") and value < bound:
            return name
    return "low"


@dataclass
class Samples:
    """What the metrics are computed from: kept so that sets of ledgers can be pooled."""

    deployments: int = 0  # deployed or became healthy in the window (any kind)
    healthy: int = 0  # new changes that became healthy in the window
    lead_times: list[float] = field(default_factory=list)
    failed: int = 0  # new changes deployed in the window that ended failed or rolled-back
    succeeded: int = 0  # ... that are healthy
    pending: list[str] = field(default_factory=list)  # ids still `deployed`
    restores: list[float] = field(default_factory=list)
    unrestored: int = 0  # failures in the window with no healthy deployment after them
    weeks: dict[str, dict[str, int]] = field(default_factory=dict)  # Monday -> outcome -> n

    def add(self, other: Samples) -> None:
        self.deployments += other.deployments
        self.healthy += other.healthy
        self.lead_times += other.lead_times
        self.failed += other.failed
        self.succeeded += other.succeeded
        self.pending += other.pending
        self.restores += other.restores
        self.unrestored += other.unrestored
        for week, outcomes in other.weeks.items():
            mine = self.weeks.setdefault(week, {})
            for outcome, n in outcomes.items():
                mine[outcome] = mine.get(outcome, 0) + n


@dataclass(frozen=True)
class Dora:
    service: str  # "" for a pooled set
    environment: str
    window: Window
    samples: Samples

    @property
    def frequency(self) -> float | None:
        return self.samples.healthy / self.window.days if self.samples.deployments else None

    @property
    def failure_rate(self) -> float | None:
        judged = self.samples.failed + self.samples.succeeded
        return self.samples.failed / judged if judged else None

    def as_json(self) -> dict[str, Any]:
        s = self.samples
        leads = sorted(s.lead_times)  # once: sorting a sorted list again is linear
        lead, restore, rate = median(leads), median(s.restores), self.failure_rate
        since, until = self.window.bounds
        return {
            "since": since,
            "until": until,
            "deployment-frequency": {
                "per-day": _round(self.frequency, 4),
                "count": s.healthy if s.deployments else None,
                "band": band("deployment-frequency", self.frequency),
            },
            "lead-time": {
                "median-seconds": _round(lead, 1),
                "p90-seconds": _round(p90(leads), 1),
                "count": len(s.lead_times) if s.deployments else None,
                "band": band("lead-time", lead),
            },
            "change-failure-rate": {
                "rate": _round(rate, 4),
                "failed": s.failed if s.deployments else None,
                "judged": s.failed + s.succeeded if s.deployments else None,
                "band": band("change-failure-rate", rate),
            },
            "time-to-restore": {
                "median-seconds": _round(restore, 1),
                "restored": len(s.restores) if s.deployments else None,
                "unrestored": s.unrestored if s.deployments else None,
                "band": band("time-to-restore", restore),
            },
            "pending-ids": list(s.pending),
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@functools.lru_cache(maxsize=4096)
def _monday(day_text: str) -> str:
    """The Monday of a YYYY-MM-DD's week (cached: a ledger has few days, many entries)."""
    day = date.fromisoformat(day_text)
    return (day - timedelta(days=day.weekday())).isoformat()


def samples(ledger: LedgerFile, window: Window) -> Samples:
    """One pass over one service in one environment (the hot loop: 100,000 entries a second
    is the budget, so names are bound locally and times are parsed after it)."""
    since, until = window.bounds
    out = Samples()
    seen: set[str] = set()
    healthy_times: list[str] = []  # every healthy deployment, to find what restored a failure
    failures: list[str] = []  # failures in the window
    made: list[tuple[str, str]] = []  # (day, status) of each deployment made in the window
    leads: list[tuple[str, str]] = []  # (commit time, healthy) of each change healthy in it
    pending = out.pending
    deployments = succeeded = failed = 0
    for release in ledger.releases:
        deployed_at = release.deployed_at
        if not deployed_at:
            continue  # never deployed: a build, or a build that failed
        head = release.head
        key = head.digest or f"{head.image}:{head.tag}"
        change = key not in seen
        if change:
            seen.add(key)
        healthy_at, failed_at, status = release.healthy_at, release.failed_at, release.status
        if healthy_at:
            healthy_times.append(healthy_at)
        if failed_at and since <= failed_at < until:
            failures.append(failed_at)
        deployed_in = since <= deployed_at < until
        healthy_in = since <= healthy_at < until
        if deployed_in:
            made.append((deployed_at[:10], status))
            if status == "deployed":
                pending.append(head.id)
            elif change and status == GOOD:
                succeeded += 1
            elif change and status in BAD:
                failed += 1
        if deployed_in or healthy_in:
            deployments += 1
        if change and healthy_in:
            leads.append((head.git_commit_time, healthy_at))
    out.deployments, out.succeeded, out.failed, out.healthy = (
        deployments,
        succeeded,
        failed,
        len(leads),
    )
    out.lead_times = _durations(pair for pair in leads if pair[0])
    out.weeks = _by_week(made)
    healthy_times.sort()
    restored: list[tuple[str, str]] = []
    for failed_at in failures:
        after = bisect.bisect_right(healthy_times, failed_at)
        if after < len(healthy_times):
            restored.append((failed_at, healthy_times[after]))
    out.restores = _durations(restored)
    out.unrestored = len(failures) - len(out.restores)
    return out


def _durations(pairs: Iterable[tuple[str, str]]) -> list[float]:
    """Seconds from each stored UTC time to the next; a pair that is not two such
    times is left out (a head-only read does not check times)."""
    parse = datetime.fromisoformat
    out: list[float] = []
    for earlier, later in pairs:
        if len(earlier) == 20 == len(later) and earlier[-1] == "Z" == later[-1]:
            try:
                # both UTC: drop the Z (Python 3.10 does not parse it) and subtract
                out.append((parse(later[:-1]) - parse(earlier[:-1])).total_seconds())
            except ValueError:
                continue
    return out


def _by_week(made: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    weeks: dict[str, dict[str, int]] = {}
    for (day, status), n in Counter(made).items():
        week = weeks.setdefault(_monday(day), {})
        outcome = "pending" if status == "deployed" else status
        week[outcome] = week.get(outcome, 0) + n
    return weeks


def per_ledger(ledgers: Iterable[LedgerFile], window: Window) -> list[Dora]:
    return [
        Dora(ledger.service, ledger.environment, window, samples(ledger, window))
        for ledger in ledgers
    ]


def pooled(items: Iterable[Dora], window: Window) -> Dora:
    """The filtered set as one: counts summed, medians over all the samples."""
    total = Samples()
    for item in items:
        total.add(item.samples)
    return Dora("", "", window, total)
