"""All-or-nothing file writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ci_actions import fsutil
from ci_actions.errors import ConfigError


@pytest.mark.parametrize("sync", [True, False])
def test_write_atomic_many_writes_changed_files_only_and_keeps_modes(
    tmp_path: Path, sync: bool
) -> None:
    same, changed, new = tmp_path / "same", tmp_path / "changed", tmp_path / "new"
    same.write_text("a")
    changed.write_text("old")
    changed.chmod(0o640)
    before = same.stat().st_mtime_ns
    written = fsutil.write_atomic_many([(same, "a"), (changed, "new"), (new, b"\x00")], sync=sync)
    assert written == [changed, new]
    assert (same.read_text(), changed.read_text(), new.read_bytes()) == ("a", "new", b"\x00")
    assert same.stat().st_mtime_ns == before
    assert changed.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changed", "new", "same"]


def test_write_atomic_many_touches_nothing_when_one_write_fails(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_text("old")
    nowhere = tmp_path / "missing-dir" / "file"  # no temp file can be made there
    with pytest.raises(FileNotFoundError):
        fsutil.write_atomic_many([(good, "new"), (nowhere, "new")])
    assert good.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["good"]  # no temp file left behind


def test_write_atomic_many_nothing_to_do(tmp_path: Path) -> None:
    assert fsutil.write_atomic_many([]) == []


def test_escape_reason_refuses_links_and_paths_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "plain/dir").mkdir(parents=True)
    (root / "plain/file").write_text("x")
    (tmp_path / "outside").mkdir()
    (root / "out").symlink_to(tmp_path / "outside")
    (root / "in").symlink_to("plain")
    (root / "plain/link").symlink_to("file")
    table = [
        # path, allow_links, the reason's start ("" = allowed)
        ("plain/file", False, ""),
        ("plain/not-yet/new", False, ""),
        ("../repo/plain/file", False, ""),
        ("../elsewhere", False, "is outside the repository"),
        ("out/x", False, "is a symlink (out -> "),
        ("out/x", True, "leads outside the repository"),
        ("in/file", False, "is a symlink (in -> plain)"),
        ("in/file", True, ""),
        ("plain/link", False, "is a symlink (plain/link -> file)"),
    ]
    for rel, allow, says in table:
        why = fsutil.escape_reason(root, root / rel, allow_links=allow)
        assert why.startswith(says) and bool(why) == bool(says), (rel, allow, why)
    assert fsutil.escape_reason(root, Path("/etc/passwd")) == "is outside the repository"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"plain\n", ""),
        ("caf\u00e9 \u2713\n".encode(), ""),
        (b"a: 1\nb: caf\xe9\n", "byte 0xe9 at offset 11 (line 2)"),
        (b"\xff", "byte 0xff at offset 0 (line 1)"),
        (b"cut \xe2\x9c", "byte 0xe2 at offset 4 (line 1)"),  # a character cut short at the end
    ],
)
def test_read_text_strict_names_the_file_and_the_first_bad_byte(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "baseline"
    path.write_bytes(data)
    if not problem:
        assert fsutil.read_text_strict(path, "baseline x") == data.decode("utf-8")
        return
    expected = re.escape(f"baseline x is not UTF-8 text: {problem}")
    with pytest.raises(ConfigError, match=expected) as err:
        fsutil.read_text_strict(path, "baseline x")
    assert err.value.exit_code == 2
