"""tests/support/golden.py: one helper, one variable (UPDATE_GOLDEN=1), a mismatch says how to refresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import golden


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(golden, "GOLDEN", tmp_path / "golden")
    monkeypatch.delenv("UPDATE_GOLDEN", raising=False)
    return tmp_path / "golden"


def _failure(check: object, *args: object) -> str:
    assert callable(check)
    with pytest.raises(AssertionError) as err:
        check(*args)
    return str(err.value)


def test_text_mismatch_shows_the_diff_and_the_refresh_command(root: Path) -> None:
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.md").write_text("one\ntwo\n")
    text = _failure(golden.assert_golden, "a/x.md", "one\nTWO\n")
    assert "-two" in text and "+TWO" in text
    assert "UPDATE_GOLDEN=1 .venv/bin/pytest" in text
    assert "test_text_mismatch_shows_the_diff_and_the_refresh_command" in text
    golden.assert_golden("a/x.md", "one\ntwo\n")


def test_a_missing_golden_file_fails_and_says_how_to_write_it(root: Path) -> None:
    assert "UPDATE_GOLDEN=1" in _failure(golden.assert_golden, "new.md", "x\n")


@pytest.mark.parametrize(
    ("name", "data", "text"),
    [
        ("d.json", {"b": [1, "é"]}, '{\n  "b": [\n    1,\n    "\\u00e9"\n  ]\n}\n'),
        ("d.sarif", {"runs": []}, '{\n  "runs": []\n}\n'),
        ("d.yaml", {"b": [1, "é"], "a": 2}, "b:\n- 1\n- é\na: 2\n"),
    ],
)
def test_refresh_writes_data_in_the_format_of_its_suffix(
    root: Path, monkeypatch: pytest.MonkeyPatch, name: str, data: object, text: str
) -> None:
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    golden.assert_golden_data(name, data)
    assert (root / name).read_text(encoding="utf-8") == text
    monkeypatch.delenv("UPDATE_GOLDEN")
    golden.assert_golden_data(name, data)
    assert golden.load(name) == data


def test_entry_refresh_rewrites_only_its_entry(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root.mkdir()
    (root / "t.json").write_text('{\n  "a": [\n    "x"\n  ],\n  "b": 1\n}\n')
    assert "'a'" in _failure(golden.assert_golden_entry, "t.json", "a", ["y"])
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    golden.assert_golden_entry("t.json", "a", ["y"])
    assert golden.load("t.json") == {"a": ["y"], "b": 1}


def test_tree_mismatch_names_each_file(root: Path, tmp_path: Path) -> None:
    want, got = root / "case", tmp_path / "got"
    for folder, files in (
        (want, {"same": "s", "changed": "old", "gone": "g"}),
        (got, {"same": "s", "changed": "new", "extra": "e"}),
    ):
        folder.mkdir(parents=True)
        for name, content in files.items():
            (folder / name).write_text(content + "\n")
    text = _failure(golden.assert_golden_tree, "case", got)
    assert "missing gone" in text and "unexpected extra" in text
    assert "-old" in text and "+new" in text and "/same" not in text
