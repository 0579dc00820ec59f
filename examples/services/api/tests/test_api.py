"""The blocklist API over WSGI and as a real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.web import application
from blockstore import store
from servicetest import call, get, running

SERVICE_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "blocklist.db"
    monkeypatch.setenv("BLOCKLIST_DATABASE", str(path))
    monkeypatch.setenv("APP_VERSION", "1.2.3")
    return path


def test_health_and_version(database: Path) -> None:
    assert call(application, "/health") == (
        200, {"status": "ok", "version": "1.2.3", "database": "ok"}
    )  # fmt: skip
    assert call(application, "/version") == (200, {"version": "1.2.3"})


def test_stats_counts_by_source(database: Path) -> None:
    assert call(application, "/api/stats") == (200, {"total": 0, "sources": {}})
    assert store.add(database, "regtech", ["10.0.0.1", "10.0.0.2", "10.0.0.1"]) == 2
    assert store.add(database, "secudium", ["10.0.0.1"]) == 1
    assert call(application, "/api/stats") == (
        200, {"total": 3, "sources": {"regtech": 2, "secudium": 1}}
    )  # fmt: skip


def test_a_database_that_cannot_be_opened_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The production failure: the database directory does not exist.
    monkeypatch.setenv("BLOCKLIST_DATABASE", str(tmp_path / "missing" / "blocklist.db"))
    status, body = call(application, "/api/stats")
    assert status == 500 and "cannot open database" in body["error"]
    status, body = call(application, "/health")
    assert status == 503 and body["status"] == "unhealthy"
    assert not (tmp_path / "missing").exists()


def test_a_corrupt_database_fails_loudly(database: Path) -> None:
    database.write_bytes(b"this is not sqlite" * 100)
    assert call(application, "/api/stats")[0] == 500
    assert call(application, "/health")[0] == 503


def test_version_from_file_when_no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_VERSION", raising=False)
    expected = (SERVICE_DIR / "api" / "VERSION").read_text().strip()
    assert call(application, "/version") == (200, {"version": expected})


def test_unknown_path_and_method(database: Path) -> None:
    assert call(application, "/nope")[0] == 404
    assert call(application, "/health", method="POST")[0] == 405


def test_serves_over_http(tmp_path: Path) -> None:
    (tmp_path / "instance").mkdir()
    with running("api", tmp_path, {"APP_VERSION": "9.9.9", "BLOCKLIST_DATABASE": ""}) as port:
        assert get(port, "/health") == (200, {"status": "ok", "version": "9.9.9", "database": "ok"})
    assert (tmp_path / "instance" / "blocklist.db").exists()
