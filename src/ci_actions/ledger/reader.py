"""Reading ledger files: one streaming pass that folds status changes into entries.

A line that is not valid schema-1 JSON, an entry filed under the wrong
service or environment, a duplicate id, a status change for an unknown
entry or an impossible transition: each is reported with its file and line
and skipped. The rest of the file still counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from ci_actions.ledger.schema import (
    BAD,
    TRANSITIONS,
    EntryLine,
    InvalidLine,
    Line,
    StatusLine,
    decode_line,
)

SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Corrupt:
    file: str
    line: int
    message: str


@dataclass(slots=True)
class Release:
    """An entry with its current status folded in."""

    entry: EntryLine
    seq: int  # position in the file: the ledger's own order
    status: str
    updated: str  # when the current status was set
    reason: str
    deployed: bool  # left `built` at some point
    failed_at: str  # when it became failed or rolled-back ("" when it did not)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self.entry)
        data.pop("type", None)
        data.update(status=self.status, updated=self.updated, reason=self.reason)
        return data


@dataclass
class LedgerFile:
    """Everything one file says, in file order."""

    environment: str
    service: str
    releases: list[Release]

    def find(self, entry_id: str) -> Release | None:
        for release in self.releases:
            if release.entry.id == entry_id:
                return release
        return None

    def newest(self) -> Release | None:
        return self.releases[-1] if self.releases else None


def ledger_path(root: Path, environment: str, service: str) -> Path:
    return root / environment / f"{service}{SUFFIX}"


def ledger_files(root: Path, service: str = "", environment: str = "") -> list[Path]:
    """`<root>/<environment>/<service>.jsonl` files, filtered, in a stable order."""
    if not root.is_dir():
        return []
    pattern = f"{environment or '*'}/{service or '*'}{SUFFIX}"
    return sorted(p for p in root.glob(pattern) if p.is_file())


def iter_lines(path: Path, display: str, corrupt: list[Corrupt]) -> Iterator[tuple[int, Line]]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                yield number, decode_line(raw, f"{display}:{number}")
            except InvalidLine as exc:
                corrupt.append(Corrupt(display, number, str(exc)))


def read_ledger(path: Path, display: str, corrupt: list[Corrupt]) -> LedgerFile:
    """Fold one file in a single pass; problems go to `corrupt`."""
    environment, service = path.parent.name, path.name[: -len(SUFFIX)]
    releases: list[Release] = []
    index: dict[str, Release] = {}

    def bad(number: int, message: str) -> None:
        corrupt.append(Corrupt(display, number, message))

    if not path.exists():
        return LedgerFile(environment, service, releases)
    for number, line in iter_lines(path, display, corrupt):
        if isinstance(line, StatusLine):
            release = index.get(line.id)
            if release is None:
                bad(number, f"status change for unknown entry {line.id!r}")
            elif line.status == release.status:
                continue  # a repeated status (a re-run step) changes nothing
            elif line.status not in TRANSITIONS[release.status]:
                bad(number, f"entry {line.id} is {release.status}: cannot become {line.status}")
            else:
                release.status, release.updated, release.reason = line.status, line.at, line.reason
                release.deployed = True
                if line.status in BAD and not release.failed_at:
                    release.failed_at = line.at
            continue
        if (line.environment, line.service) != (environment, service):
            bad(
                number,
                f"entry for {line.environment}/{line.service} filed under {environment}/{service}",
            )
        elif line.id in index:
            bad(number, f"duplicate entry id {line.id!r}")
        else:
            release = Release(
                entry=line,
                seq=len(releases),
                status=line.status,
                updated=line.created,
                reason="",
                deployed=line.status != "built",
                failed_at="",
            )
            releases.append(release)
            index[line.id] = release
    return LedgerFile(environment, service, releases)
