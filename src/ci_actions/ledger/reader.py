"""Reading ledger files: one streaming pass that folds status changes into entries.

A line that is not valid schema-1 JSON, an entry filed under the wrong
service or environment, a duplicate id, a status change for an unknown
entry or an impossible transition: each is reported with its file and line
and skipped. The rest of the file still counts.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
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
    decode_block,
    decode_line,
)

SUFFIX = ".jsonl"
BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class Corrupt:
    file: str
    line: int
    message: str


class Release(msgspec.Struct, gc=False):
    """An entry with its current status folded in (a Struct: made 100,000 times per read)."""

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


def iter_chunks(
    path: Path, display: str, corrupt: list[Corrupt]
) -> Iterator[tuple[Sequence[int], list[Line]]]:
    """(line numbers, records) of the valid lines, streamed a block at a time.

    A block of whole lines is decoded in one call; only a block with a problem
    in it is decoded again line by line, to report exactly which line and why.
    """
    number = 0
    rest = b""
    with path.open("rb") as fh:
        while data := fh.read(BLOCK_BYTES):
            data = rest + data
            cut = data.rfind(b"\n") + 1
            block, rest = data[:cut], data[cut:]
            if block:
                count = block.count(b"\n")
                yield _decode(block, count, number, display, corrupt)
                number += count
    if rest:  # a last line without its newline
        yield _decode(rest + b"\n", 1, number, display, corrupt)


def _decode(
    block: bytes, count: int, number: int, display: str, corrupt: list[Corrupt]
) -> tuple[Sequence[int], list[Line]]:
    lines = decode_block(block, count)
    if lines is not None:
        return range(number + 1, number + 1 + count), lines
    numbers: list[int] = []
    lines = []
    for offset, raw in enumerate(block.split(b"\n")[:count], number + 1):
        if not raw.strip():
            continue
        try:
            lines.append(decode_line(raw, f"{display}:{offset}"))
            numbers.append(offset)
        except InvalidLine as exc:
            corrupt.append(Corrupt(display, offset, str(exc)))
    return numbers, lines


def read_ledger(path: Path, display: str, corrupt: list[Corrupt]) -> LedgerFile:
    """Fold one file in a single pass; problems go to `corrupt`."""
    environment, service = path.parent.name, path.name[: -len(SUFFIX)]
    releases: list[Release] = []
    if not path.exists():
        return LedgerFile(environment, service, releases)
    index: dict[str, Release] = {}
    first_problem = len(corrupt)
    with _gc_paused():
        _fold(path, display, corrupt, environment, service, releases, index)
    corrupt[first_problem:] = sorted(corrupt[first_problem:], key=lambda c: c.line)
    return LedgerFile(environment, service, releases)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic GC passes while a read allocates its (acyclic) records:
    they would rescan the growing heap again and again and double the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fold(
    path: Path,
    display: str,
    corrupt: list[Corrupt],
    environment: str,
    service: str,
    releases: list[Release],
    index: dict[str, Release],
) -> None:
    # The hot loop of every query: names bound locally, one dict lookup per line.
    find, allowed, bad, add = index.get, TRANSITIONS, BAD, releases.append
    for numbers, lines in iter_chunks(path, display, corrupt):
        for i, line in enumerate(lines):
            if isinstance(line, StatusLine):
                release = find(line.id)
                status = line.status
                if release is None:
                    problem = f"status change for unknown entry {line.id!r}"
                elif status == release.status:
                    continue  # a repeated status (a re-run step) changes nothing
                elif status not in allowed[release.status]:
                    problem = f"entry {line.id} is {release.status}: cannot become {status}"
                else:
                    release.status = status
                    release.updated = line.at
                    release.reason = line.reason
                    release.deployed = True
                    if status in bad and not release.failed_at:
                        release.failed_at = line.at
                    continue
            elif line.environment != environment or line.service != service:
                problem = f"entry for {line.environment}/{line.service} filed under {environment}/{service}"
            elif line.id in index:
                problem = f"duplicate entry id {line.id!r}"
            else:
                release = Release(
                    line, len(releases), line.status, line.created, "", line.status != "built", ""
                )
                add(release)
                index[line.id] = release
                continue
            corrupt.append(Corrupt(display, numbers[i], problem))
