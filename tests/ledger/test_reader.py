"""Folding a ledger file in one pass; corrupt lines reported with file and line, then skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ci_actions.ledger.reader import Corrupt, Torn, ledger_files, read_ledger, torn_reading
from ci_actions.ledger.schema import NewerSchema

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release-ledger" / ".ci-ledger"


def test_fixture_prod_api_folds_with_the_corrupt_line_reported() -> None:
    corrupt: list[Corrupt] = []
    ledger = read_ledger(FIXTURE / "prod" / "api.jsonl", "prod/api.jsonl", corrupt)
    assert [c.line for c in corrupt] == [12]
    assert corrupt[0].file == "prod/api.jsonl"
    assert [(r.entry.id[-6:], r.status) for r in ledger.releases] == [
        ("000001", "healthy"),
        ("000002", "rolled-back"),
        ("000003", "healthy"),
        ("000004", "failed"),
        ("000005", "built"),
    ]
    second = ledger.releases[1]
    assert second.failed_at == "2026-11-03T09:10:00Z"  # the first bad status, not the rollback
    assert second.reason == "GET /health returned 503"
    assert [r.deployed for r in ledger.releases] == [True, True, True, True, False]


def test_status_for_unknown_entry_is_reported() -> None:
    corrupt: list[Corrupt] = []
    ledger = read_ledger(FIXTURE / "dev" / "api.jsonl", "dev/api.jsonl", corrupt)
    assert corrupt == [
        Corrupt("dev/api.jsonl", 3, "status change for unknown entry 'api-20261104T100000Z-0000zz'")
    ]
    assert [r.status for r in ledger.releases] == ["healthy", "deployed"]


def _copy(tmp_path: Path, env: str, service: str, text: str) -> Path:
    path = tmp_path / env / f"{service}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_wrong_file_duplicate_and_bad_transition_are_skipped(tmp_path: Path) -> None:
    source = (FIXTURE / "prod" / "worker.jsonl").read_text().splitlines()
    lines = [
        source[0],
        source[0],  # duplicate id
        source[1],  # healthy
        source[1].replace('"healthy"', '"built"'),  # healthy -> built is impossible
        source[0]
        .replace('"environment":"prod"', '"environment":"dev"')
        .replace("0000w1", "0000w2"),
        "",
        "not json at all",
    ]
    path = _copy(tmp_path, "prod", "worker", "\n".join(lines) + "\n")
    corrupt: list[Corrupt] = []
    ledger = read_ledger(path, "x", corrupt)
    assert [(c.line, c.message.split(" ")[0]) for c in corrupt] == [
        (2, "duplicate"),
        (4, "entry"),
        (5, "entry"),
        (7, "JSON"),
    ]
    assert "cannot become built" in corrupt[1].message
    assert "filed under prod/worker" in corrupt[2].message
    assert [r.status for r in ledger.releases] == ["healthy"]


def test_repeated_status_is_not_corrupt(tmp_path: Path) -> None:
    source = (FIXTURE / "prod" / "worker.jsonl").read_text()
    path = _copy(tmp_path, "prod", "worker", source + source.splitlines()[1] + "\n")
    corrupt: list[Corrupt] = []
    assert read_ledger(path, "x", corrupt).releases[0].status == "healthy"
    assert corrupt == []


def test_newer_schema_stops_the_read(tmp_path: Path) -> None:
    source = (FIXTURE / "prod" / "worker.jsonl").read_text()
    path = _copy(tmp_path, "prod", "worker", source + '{"type":"entry","v":2,"id":"n"}\n')
    with pytest.raises(NewerSchema, match=r"x:3 .*schema v2"):
        read_ledger(path, "x", [])


def test_missing_file_is_an_empty_ledger(tmp_path: Path) -> None:
    ledger = read_ledger(tmp_path / "prod" / "api.jsonl", "x", [])
    assert ledger.releases == [] and (ledger.environment, ledger.service) == ("prod", "api")


def test_ledger_files_filters(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "l")
    (tmp_path / "l" / "prod" / "notes.txt").write_text("x")

    def names(**kw: str) -> list[str]:
        return [
            p.relative_to(tmp_path / "l").as_posix() for p in ledger_files(tmp_path / "l", **kw)
        ]

    assert names() == ["dev/api.jsonl", "prod/api.jsonl", "prod/worker.jsonl"]
    assert names(service="api") == ["dev/api.jsonl", "prod/api.jsonl"]
    assert names(environment="prod", service="worker") == ["prod/worker.jsonl"]
    assert ledger_files(tmp_path / "missing") == []


@pytest.mark.parametrize("block", [64, 301, 4096])
def test_small_blocks_give_the_same_fold(
    tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks that cut lines anywhere, a corrupt line inside a block, no final newline."""
    import ci_actions.ledger.reader as reader

    text = (FIXTURE / "prod" / "api.jsonl").read_text()
    path = _copy(tmp_path, "prod", "api", text.rstrip("\n"))
    expected_corrupt: list[Corrupt] = []
    expected = read_ledger(FIXTURE / "prod" / "api.jsonl", "x", expected_corrupt)
    monkeypatch.setattr(reader, "BLOCK_BYTES", block)
    corrupt: list[Corrupt] = []
    got = read_ledger(path, "x", corrupt)
    assert [(r.entry.id, r.status, r.updated) for r in got.releases] == [
        (r.entry.id, r.status, r.updated) for r in expected.releases
    ]
    # Line 12 is torn (cut inside its status): what it still says is kept.
    torn = Torn("status", "api-20261105T120000Z-000004", "")
    assert corrupt == expected_corrupt == [Corrupt("x", 12, corrupt[0].message, torn)]


@pytest.mark.parametrize("block", [97, 1 << 20])
def test_head_only_read_folds_the_same_and_reads_whole_entries_on_demand(
    tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ci_actions.ledger.reader as reader
    from ci_actions.ledger.schema import EntryLine

    monkeypatch.setattr(reader, "BLOCK_BYTES", block)
    path = FIXTURE / "prod" / "api.jsonl"
    whole = read_ledger(path, "x", [])
    corrupt: list[Corrupt] = []
    heads = read_ledger(path, "x", corrupt, full=False)
    assert [c.line for c in corrupt] == [12]
    assert [(r.head.id, r.status, r.updated, r.failed_at) for r in heads.releases] == [
        (r.head.id, r.status, r.updated, r.failed_at) for r in whole.releases
    ]
    assert not any(isinstance(r.head, EntryLine) for r in heads.releases)
    for mine, expected in zip(reversed(heads.releases), reversed(whole.releases), strict=True):
        assert mine.entry == expected.entry
        assert mine.as_json() == expected.as_json()


def test_a_line_wrong_beyond_its_head_is_caught_when_read_whole(tmp_path: Path) -> None:
    from ci_actions.errors import ConfigError

    source = (FIXTURE / "prod" / "worker.jsonl").read_text().splitlines()
    broken = source[0].replace('"metadata":{}', '"metadata":"oops"')
    path = _copy(tmp_path, "prod", "worker", "\n".join([broken, source[1]]) + "\n")
    heads = read_ledger(path, "prod/worker.jsonl", [], full=False)
    assert heads.releases[0].status == "healthy"
    with pytest.raises(ConfigError, match=r"prod/worker.jsonl:1: the entry worker-.* is not valid"):
        heads.releases[0].entry  # noqa: B018
    corrupt: list[Corrupt] = []
    assert read_ledger(path, "prod/worker.jsonl", corrupt).releases == []
    assert [(c.line, "metadata" in c.message) for c in corrupt] == [(1, True), (2, False)]


def test_torn_reading_keeps_only_what_the_cut_line_still_says() -> None:
    lines = (FIXTURE / "prod" / "api.jsonl").read_bytes().splitlines()
    entry, status = lines[0], lines[1]  # a whole entry line and a whole status line
    entry_id = b"api-20261101T100000Z-000001"
    assert entry_id in entry and entry_id in status
    table = [
        (status[:5], Torn("", "", "")),
        (status[: status.index(entry_id) + 4], Torn("status", "", "")),
        (status[: status.index(b'"status":"') + 12], Torn("status", entry_id.decode(), "")),
        (status[:-2], Torn("status", entry_id.decode(), "deployed")),
        (entry[: entry.index(b'"status":"') + 14], Torn("entry", entry_id.decode(), "")),
        (entry[:-2], Torn("entry", entry_id.decode(), "built")),
        (b"{oops", Torn("", "", "")),
    ]
    for raw, expected in table:
        assert torn_reading(raw) == expected, raw
    # Whole JSON that is not a ledger line has a known (wrong) meaning: not torn.
    assert torn_reading(b'{"type":"status","v":1,"id":"x"}') is None
    assert torn_reading(status) is None
