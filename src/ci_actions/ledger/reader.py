"""Reading ledger files: one streaming pass that folds status changes into entries.

A line that is not valid schema-1 JSON, an entry filed under the wrong
service or environment, a duplicate id, a status change for an unknown
entry or an impossible transition: each is reported with its file and line
and skipped. The rest of the file still counts.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from ci_actions.errors import ConfigError
from ci_actions.ledger.schema import (
    BAD,
    STATUSES,
    TRANSITIONS,
    EntryHead,
    EntryLine,
    Head,
    InvalidLine,
    StatusHead,
    decode_block,
    decode_head,
    decode_line,
)

SUFFIX = ".jsonl"
BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class Torn:
    """A line that is not even whole JSON (a writer stopped mid-line): what its
    start still says for sure; "" where it was cut before saying it."""

    kind: str  # "entry" or "status"
    id: str
    status: str


@dataclass(frozen=True)
class Corrupt:
    file: str
    line: int
    message: str
    torn: Torn | None = None  # set when the line's meaning is unknown, not just wrong


_KIND = re.compile(rb'^\s*\{"type":"(entry|status)","v":1,')
_ID = re.compile(rb'^\s*\{"type":"(?:entry|status)","v":1,"id":"([^"\\]*)",')
_STATUS = re.compile(rb'"status":"([a-z-]+)"')


def torn_reading(raw: bytes) -> Torn | None:
    """None for a line that is whole JSON (its meaning is known, if wrong); else a Torn."""
    try:
        msgspec.json.decode(raw)
        return None
    except msgspec.DecodeError:
        pass
    kind = _KIND.match(raw)
    ident = _ID.match(raw)
    # The first `"status":"…"` is the top-level key: in a line as written, no
    # nested object comes before it (and quotes inside strings are escaped).
    status = _STATUS.search(raw) if kind else None
    found = status.group(1).decode() if status else ""
    return Torn(
        kind.group(1).decode() if kind else "",
        ident.group(1).decode() if ident else "",
        found if found in STATUSES else "",
    )


@dataclass(frozen=True)
class Source:
    """The file a release was read from, to read its whole entry later."""

    path: Path
    display: str


class Release(msgspec.Struct, gc=False):
    """An entry with its current status folded in (a Struct: made 100,000 times per read)."""

    head: EntryHead  # the whole EntryLine when the read decoded whole entries
    seq: int  # position in the file: the ledger's own order
    status: str
    updated: str  # when the current status was set
    reason: str
    deployed: bool  # left `built` at some point
    failed_at: str  # when it became failed or rolled-back ("" when it did not)
    source: Source | None = None
    line: int = 0  # its line number, and the byte offset and first line of its block
    block_start: int = 0
    block_line: int = 0
    deployed_at: str = ""  # when it became deployed ("" when it never did)
    healthy_at: str = ""  # when it became healthy ("" when it never did)

    @property
    def entry(self) -> EntryLine:
        """The whole entry; after a head-only read, its one line is read again."""
        if not isinstance(self.head, EntryLine):
            self.head = _load_entry(self)
        return self.head

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self.entry)
        data.pop("type", None)
        data.update(status=self.status, updated=self.updated, reason=self.reason)
        return data


def release_of(entry: EntryLine) -> Release:
    """A release for an entry being written: its own status, not yet in any file."""
    return Release(entry, 0, entry.status, entry.created, "", entry.status != "built", "")


def _load_entry(release: Release) -> EntryLine:
    source = release.source
    assert source is not None, "a head-only release always knows its file"
    where = f"{source.display}:{release.line}"
    with source.path.open("rb") as fh:
        fh.seek(release.block_start)
        for _ in range(release.line - release.block_line):
            fh.readline()
        line_start = fh.tell()
        raw = fh.readline()
    try:
        line = decode_line(raw, where)
    except InvalidLine as exc:
        check_utf8(raw.rstrip(b"\n"), where, line_start)
        raise ConfigError(f"{where}: the entry {release.head.id} is not valid: {exc}") from None
    if not isinstance(line, EntryLine) or line.id != release.head.id:
        raise ConfigError(f"{where} changed while it was read", hint="run the command again")
    return line


@dataclass
class LedgerFile:
    """Everything one file says, in file order."""

    environment: str
    service: str
    releases: list[Release]

    def find(self, entry_id: str) -> Release | None:
        for release in self.releases:
            if release.head.id == entry_id:
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


class Chunk(NamedTuple):
    numbers: Sequence[int]  # line number of each record
    lines: Sequence[Head]
    start: int  # byte offset of the block's first line
    first: int  # its line number


def iter_chunks(path: Path, display: str, corrupt: list[Corrupt], full: bool) -> Iterator[Chunk]:
    """The valid lines, streamed a block at a time.

    A block of whole lines is decoded in one call; only a block with a problem
    in it is decoded again line by line, to report exactly which line and why.
    """
    number = 0
    offset = 0
    rest = b""
    with path.open("rb") as fh:
        while data := fh.read(BLOCK_BYTES):
            data = rest + data
            cut = data.rfind(b"\n") + 1
            block, rest = data[:cut], data[cut:]
            if block:
                count = block.count(b"\n")
                yield _decode(block, count, number, offset, display, corrupt, full)
                number += count
                offset += len(block)
    if rest:  # a last line without its newline
        yield _decode(rest + b"\n", 1, number, offset, display, corrupt, full)


def _decode(
    block: bytes,
    count: int,
    number: int,
    offset: int,
    display: str,
    corrupt: list[Corrupt],
    full: bool,
) -> Chunk:
    lines = decode_block(block, count, full)
    if lines is not None:
        return Chunk(range(number + 1, number + 1 + count), lines, offset, number + 1)
    decode = decode_line if full else decode_head
    numbers: list[int] = []
    heads: list[Head] = []
    start = offset
    for at, raw in enumerate(block.split(b"\n")[:count], number + 1):
        line_start, start = start, start + len(raw) + 1
        if not raw.strip():
            continue
        try:
            heads.append(decode(raw, f"{display}:{at}"))
            numbers.append(at)
        except InvalidLine as exc:
            check_utf8(raw, f"{display}:{at}", line_start)
            corrupt.append(Corrupt(display, at, str(exc), torn_reading(raw)))
    return Chunk(numbers, heads, offset, number + 1)


def check_utf8(raw: bytes, where: str, line_start: int) -> None:
    """A line with bytes that are not UTF-8 was edited by hand, not written by
    record: exit 2 naming it. A character cut at the very end is a torn line."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":  # a killed writer: the torn-line rules apply
            return
        raise ConfigError(
            f"{where}: is not UTF-8 text: byte 0x{raw[exc.start]:02x}"
            f" at offset {line_start + exc.start} of the file",
            hint="the ledger is UTF-8 JSON lines; restore the line from the repository's history",
        ) from None


def read_ledger(
    path: Path, display: str, corrupt: list[Corrupt], *, full: bool = True
) -> LedgerFile:
    """Fold one file in a single pass; problems go to `corrupt`.

    `full=False` decodes only what the queries read (EntryHead, StatusHead):
    a line whose other fields are wrong is then caught when its entry is
    read whole, as an error naming its file and line.
    """
    environment, service = path.parent.name, path.name[: -len(SUFFIX)]
    releases: list[Release] = []
    if not path.exists():
        return LedgerFile(environment, service, releases)
    index: dict[str, Release] = {}
    first_problem = len(corrupt)
    with _gc_paused():
        _fold(path, display, corrupt, environment, service, releases, index, full)
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
    full: bool,
) -> None:
    # The hot loop of every query: names bound locally, one dict lookup per line.
    find, allowed, bad, add = index.get, TRANSITIONS, BAD, releases.append
    source = Source(path, display)
    for numbers, lines, start, first in iter_chunks(path, display, corrupt, full):
        for i, line in enumerate(lines):
            if isinstance(line, StatusHead):
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
                    elif status == "deployed":
                        release.deployed_at = line.at
                    elif status == "healthy":
                        release.healthy_at = line.at
                    continue
            elif line.environment != environment or line.service != service:
                problem = f"entry for {line.environment}/{line.service} filed under {environment}/{service}"
            elif line.id in index:
                problem = f"duplicate entry id {line.id!r}"
            else:
                release = Release(
                    line,
                    len(releases),
                    line.status,
                    line.created,
                    "",
                    line.status != "built",
                    "",
                    source,
                    numbers[i],
                    start,
                    first,
                    line.created if line.status == "deployed" else "",
                )
                add(release)
                index[line.id] = release
                continue
            corrupt.append(Corrupt(display, numbers[i], problem))
