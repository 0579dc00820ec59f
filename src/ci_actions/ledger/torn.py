"""What a torn ledger line may mean, and whether that could change an answer.

A line that is not whole JSON was written by a writer that stopped mid-line
(killed, out of disk). Its meaning is unknown but bounded: it was one ledger
line, so either a new entry (which starts as `built` or `deployed`) or one
status change of one entry along the status machine; what survives of its
start (`Torn`) narrows that further. Reading it as nothing (skipping it) is
one guess among these; a question whose answer is the same under every
reading can be answered, any other cannot without guessing.

The readings are applied as if the line were the last of the file: exact for
a torn last line; for one that later lines were appended after, a status
change is tried against the entry's final status, which covers what it could
have led to (status changes only move forward).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import msgspec

from ci_actions.errors import EnvironmentFailure
from ci_actions.ledger.reader import Corrupt, LedgerFile, Release, Torn
from ci_actions.ledger.schema import BAD, INITIAL_STATUSES, STATUSES, TRANSITIONS, EntryHead

# Readings tried before giving up and calling the line ambiguous (fail closed).
MAX_READINGS = 2000
UNKNOWN = "?"


class TornLine(EnvironmentFailure):
    """An answer refused because a torn line could change it (exit 3)."""


@dataclass(frozen=True)
class Reading:
    ledger: LedgerFile
    says: str  # the reading, for the message


def _new_entry(ledger: LedgerFile, torn: Torn, line: int, status: str) -> Reading:
    releases = list(ledger.releases)
    at = sum(1 for r in releases if r.line < line)  # where the line sits in the file
    head = EntryHead(
        v=1,
        id=torn.id or UNKNOWN,
        service=ledger.service,
        environment=ledger.environment,
        image=UNKNOWN,
        created=UNKNOWN,
        status=status,  # type: ignore[arg-type]  # one of INITIAL_STATUSES
    )
    added = Release(head, at, status, UNKNOWN, "", status != "built", "", None, line)
    later = [msgspec.structs.replace(r, seq=r.seq + 1) for r in releases[at:]]
    return Reading(
        LedgerFile(ledger.environment, ledger.service, [*releases[:at], added, *later]),
        f"a new entry{f' {torn.id}' if torn.id else ''} ({status})",
    )


def _status_change(ledger: LedgerFile, release: Release, status: str) -> Reading:
    changed = msgspec.structs.replace(
        release,
        status=status,
        updated=UNKNOWN,
        deployed=True,
        failed_at=release.failed_at or (UNKNOWN if status in BAD else ""),
    )
    releases = list(ledger.releases)
    releases[release.seq] = changed
    return Reading(
        LedgerFile(ledger.environment, ledger.service, releases),
        f"{release.head.id} becoming {status}",
    )


def readings(ledger: LedgerFile, torn: Torn, line: int) -> Iterator[Reading]:
    """Every meaning the torn line may have had, newest entries first."""
    if torn.kind in ("", "entry") and not (torn.id and ledger.find(torn.id)):
        for status in [torn.status] if torn.status else INITIAL_STATUSES:
            if status in INITIAL_STATUSES:
                yield _new_entry(ledger, torn, line, status)
    if torn.kind in ("", "status"):
        for release in reversed(ledger.releases):
            if torn.id and release.head.id != torn.id:
                continue
            for status in [torn.status] if torn.status else STATUSES:
                if status in TRANSITIONS[release.status]:
                    yield _status_change(ledger, release, status)


def ambiguity(
    ledger: LedgerFile, torn: Torn, line: int, answer: Callable[[LedgerFile], object]
) -> str:
    """A reading of the torn line under which `answer` differs from skipping it, or ""."""
    expected = answer(ledger)
    for tried, reading in enumerate(readings(ledger, torn, line)):
        if tried >= MAX_READINGS:
            return f"any of more than {MAX_READINGS} lines"
        if answer(reading.ledger) != expected:
            return reading.says
    return ""


def settle(
    ledger: LedgerFile, corrupt: Sequence[Corrupt], answer: Callable[[LedgerFile], object]
) -> None:
    """Refuse (exit 3) to answer when a torn line could have changed the answer."""
    for problem in corrupt:
        if problem.torn is None:
            continue
        reading = ambiguity(ledger, problem.torn, problem.line, answer)
        if reading:
            raise TornLine(
                f"{problem.file}:{problem.line} is a torn line (its writer stopped mid-line);"
                f" read as {reading} it changes the answer, so none is given",
                hint="complete or delete that line (a rescue file may hold it whole), then run again",
            )


def ids(*releases: Release | None) -> tuple[object, ...]:
    """What an answer made of releases is, for `settle` to compare readings."""
    return tuple((r.head.id, r.status) if r else None for r in releases)
