"""The shared package: the store and the settings both services read."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockstore import settings, store


def test_add_ignores_an_address_a_source_already_has(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    assert store.add(db, "a", ["192.0.2.1", "192.0.2.2", "192.0.2.1"]) == 2
    assert store.add(db, "a", ["192.0.2.1"]) == 0
    assert store.add(db, "b", ["192.0.2.1"]) == 1
    assert store.stats(db) == {"total": 3, "sources": {"a": 2, "b": 1}}


def test_opening_never_creates_a_folder(tmp_path: Path) -> None:
    with pytest.raises(store.StoreUnavailable, match="cannot open database"):
        store.check(tmp_path / "missing" / "x.db")
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "instance/x.db"), ("", "instance/x.db"), ("/d/y.db", "/d/y.db")]
)
def test_database_path(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str) -> None:
    if value is None:
        monkeypatch.delenv("X_DATABASE", raising=False)
    else:
        monkeypatch.setenv("X_DATABASE", value)
    assert settings.database_path("X_DATABASE", "instance/x.db") == Path(expected)


def test_version_env_then_file_then_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_VERSION", " 2.0.0 ")
    assert settings.version(tmp_path) == "2.0.0"
    monkeypatch.delenv("APP_VERSION")
    assert settings.version(tmp_path) == "unknown"
    (tmp_path / "VERSION").write_text("1.0.0\n")
    assert settings.version(tmp_path) == "1.0.0"
