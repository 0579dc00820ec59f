"""Golden files: generated output compared with a reviewed file under tests/golden/.

Every golden comparison goes through this module, and one variable refreshes
them all: `UPDATE_GOLDEN=1 .venv/bin/pytest tests/...` rewrites the files
the selected tests compare with (then review `git diff tests/golden`).

    assert_golden("health-probe/summary-crashloop.md", text)     # text, byte for byte
    assert_golden_data("security-gate/x.sarif", sarif)           # JSON (.json/.sarif) or YAML
    assert_golden_entry("image-build/argv.json", "docker-full", argv)  # one key of a mapping
    assert_golden_tree("kustomize-bump/markers/after", repo)     # every file of a folder

A golden file is written only by a refresh and reviewed like code; the
expected values never come from the code under test in any other way.
"""

from __future__ import annotations

import difflib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ci_actions.fsutil import write_atomic

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
VARIABLE = "UPDATE_GOLDEN"
_DIFF_LINES = 60


def updating() -> bool:
    """True when this run refreshes the golden files (UPDATE_GOLDEN=1)."""
    return os.environ.get(VARIABLE) == "1"


def path_of(name: str) -> Path:
    return GOLDEN / name


def load(name: str) -> Any:
    """A golden JSON or YAML file, for tests that read expected values from it."""
    return _parse(name, path_of(name).read_text(encoding="utf-8"))


def assert_golden(name: str, text: str) -> None:
    """`text` equals tests/golden/<name> byte for byte."""
    path = path_of(name)
    if updating():
        _write(path, text)
    _compare(path, text)


def assert_golden_data(name: str, data: Any) -> None:
    """`data` serialised as the file's suffix says (.json/.sarif: JSON, .yaml/.yml: YAML)."""
    assert_golden(name, dump(name, data))


def assert_golden_entry(name: str, key: str, value: Any) -> None:
    """One entry of a golden JSON/YAML mapping; a refresh rewrites only that entry."""
    path = path_of(name)
    if updating():
        with _locked(path):
            table = load(name) if path.exists() else {}
            table[key] = value
            _write(path, dump(name, table))
    _exists(path)
    table = load(name)
    assert key in table, f"{path} has no entry {key!r}; {_refresh()}"
    if table[key] != value:
        raise AssertionError(
            f"entry {key!r} of {path} differs from what the code produces:\n"
            + _diff(dump(name, {key: table[key]}), dump(name, {key: value}), path)
            + f"\n{_refresh()}"
        )


def assert_golden_tree(name: str, root: Path) -> None:
    """Every file under `root` equals the file of the same path under tests/golden/<name>/."""
    path = path_of(name)
    if updating():
        shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(root, path)
    _exists(path)
    got, want = _files(root), _files(path)
    problems = [f"missing {rel}" for rel in sorted(want.keys() - got.keys())]
    problems += [f"unexpected {rel}" for rel in sorted(got.keys() - want.keys())]
    for rel in sorted(got.keys() & want.keys()):
        if got[rel] != want[rel]:
            problems.append(_diff(_text(want[rel]), _text(got[rel]), path / rel))
    if problems:
        raise AssertionError(
            f"{path} differs from what the code produces:\n"
            + "\n".join(problems)
            + "\n"
            + _refresh()
        )


def dump(name: str, data: Any) -> str:
    """The text a golden file of this name holds for `data` (one format per suffix)."""
    suffix = Path(name).suffix
    if suffix in (".json", ".sarif"):
        return json.dumps(data, indent=2) + "\n"  # non-ASCII as \uXXXX, as the files have it
    if suffix in (".yaml", ".yml"):
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    raise ValueError(f"no data format for golden file {name!r} (use .json, .sarif, .yaml)")


def _parse(name: str, text: str) -> Any:
    if Path(name).suffix in (".yaml", ".yml"):
        return yaml.safe_load(text)
    return json.loads(text)


def _refresh() -> str:
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0] or "tests/..."
    return (
        f"if the change is intended: {VARIABLE}=1 .venv/bin/pytest -n 0 '{test}' "
        "and review `git diff tests/golden`"
    )


def _exists(path: Path) -> None:
    assert path.exists(), f"no golden file {path}; {_refresh()}"


def _compare(path: Path, text: str) -> None:
    _exists(path)
    golden = path.read_text(encoding="utf-8")
    if text != golden:
        raise AssertionError(
            f"{path} differs from what the code produces:\n"
            + _diff(golden, text, path)
            + f"\n{_refresh()}"
        )


def _diff(golden: str, got: str, path: Path) -> str:
    lines = list(
        difflib.unified_diff(
            golden.splitlines(),
            got.splitlines(),
            f"{path} (golden)",
            "produced now",
            lineterm="",
        )
    )
    if len(lines) > _DIFF_LINES:
        lines = [*lines[:_DIFF_LINES], f"... {len(lines) - _DIFF_LINES} more diff lines"]
    return "\n".join(lines) or "(they differ only in line endings or a final newline)"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)  # a parallel worker never reads half a file


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Parallel workers refreshing entries of one file take turns (a lock on its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
