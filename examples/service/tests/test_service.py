"""The blocklist service over WSGI and as a real process."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app import store
from app.web import application

SERVICE_DIR = Path(__file__).resolve().parents[1]


def call(path: str, method: str = "GET") -> tuple[int, dict[str, Any]]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(headers)

    body = b"".join(application({"PATH_INFO": path, "REQUEST_METHOD": method}, start))
    assert seen["headers"]["Content-Type"] == "application/json"
    assert int(seen["headers"]["Content-Length"]) == len(body)
    return seen["status"], json.loads(body)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "blocklist.db"
    monkeypatch.setenv("BLOCKLIST_DATABASE", str(path))
    monkeypatch.setenv("APP_VERSION", "1.2.3")
    return path


def test_health_and_version(database: Path) -> None:
    assert call("/health") == (200, {"status": "ok", "version": "1.2.3", "database": "ok"})
    assert call("/version") == (200, {"version": "1.2.3"})


def test_stats_counts_by_source(database: Path) -> None:
    assert call("/api/stats") == (200, {"total": 0, "sources": {}})
    assert store.add(database, "regtech", ["10.0.0.1", "10.0.0.2", "10.0.0.1"]) == 2
    assert store.add(database, "secudium", ["10.0.0.1"]) == 1
    assert call("/api/stats") == (200, {"total": 3, "sources": {"regtech": 2, "secudium": 1}})


def test_a_database_that_cannot_be_opened_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The production failure: the database directory does not exist.
    monkeypatch.setenv("BLOCKLIST_DATABASE", str(tmp_path / "missing" / "blocklist.db"))
    status, body = call("/api/stats")
    assert status == 500 and "cannot open database" in body["error"]
    status, body = call("/health")
    assert status == 503 and body["status"] == "unhealthy"
    assert not (tmp_path / "missing").exists()


def test_a_corrupt_database_fails_loudly(database: Path) -> None:
    database.write_bytes(b"this is not sqlite" * 100)
    assert call("/api/stats")[0] == 500
    assert call("/health")[0] == 503


def test_version_from_file_when_no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_VERSION", raising=False)
    expected = (SERVICE_DIR / "app" / "VERSION").read_text().strip()
    assert call("/version") == (200, {"version": expected})


def test_unknown_path_and_method(database: Path) -> None:
    assert call("/nope")[0] == 404
    assert call("/health", method="POST")[0] == 405


def test_serves_over_http(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "instance").mkdir()
    env = {**os.environ, "PORT": str(port), "APP_VERSION": "9.9.9", "PYTHONPATH": str(SERVICE_DIR)}
    env.pop("BLOCKLIST_DATABASE", None)
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                try:
                    conn.request("GET", "/health")
                    assert json.load(conn.getresponse())["version"] == "9.9.9"
                    break
                finally:
                    conn.close()
            except (OSError, http.client.HTTPException):
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.1)
        assert (tmp_path / "instance" / "blocklist.db").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
