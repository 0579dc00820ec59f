"""The collector: its feeds, its HTTP interface, and as a real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.collect import addresses, collect
from collector.web import FEEDS, application
from servicetest import call, get, running

SERVICE_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "collector.db"
    monkeypatch.setenv("COLLECTOR_DATABASE", str(path))
    monkeypatch.setenv("APP_VERSION", "1.2.3")
    return path


def test_collects_the_bundled_feeds_once(database: Path) -> None:
    # regtech.txt: 3 addresses, secudium.txt: 2 (one of them also in regtech)
    assert collect(FEEDS, database) == {"regtech": 3, "secudium": 2}
    assert collect(FEEDS, database) == {"regtech": 0, "secudium": 0}
    assert call(application, "/api/stats") == (
        200, {"total": 5, "sources": {"regtech": 3, "secudium": 2}}
    )  # fmt: skip


def test_a_feed_line_that_is_not_an_address_names_its_line(tmp_path: Path) -> None:
    feed = tmp_path / "bad.txt"
    feed.write_text("# comment\n192.0.2.1\n\n192.0.2.300\n")
    with pytest.raises(ValueError, match=r"bad.txt:4: '192.0.2.300'"):
        addresses(feed)
    feed.write_text("2001:DB8::1  # upper case\n")
    assert addresses(feed) == ["2001:db8::1"]


def test_health_and_version(database: Path) -> None:
    assert call(application, "/health") == (
        200, {"status": "ok", "version": "1.2.3", "database": "ok"}
    )  # fmt: skip
    assert call(application, "/version") == (200, {"version": "1.2.3"})


def test_a_missing_database_folder_is_unhealthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLLECTOR_DATABASE", str(tmp_path / "var" / "data" / "collector.db"))
    status, body = call(application, "/health")
    assert status == 503 and "cannot open database" in body["database"]


def test_serves_over_http_after_collecting(tmp_path: Path) -> None:
    (tmp_path / "instance").mkdir()
    with running("collector", tmp_path, {"APP_VERSION": "9.9.9"}) as port:
        assert get(port, "/health") == (200, {"status": "ok", "version": "9.9.9", "database": "ok"})
        assert get(port, "/api/stats")[1]["total"] == 5


def test_a_process_without_its_database_folder_stays_up_and_says_so(tmp_path: Path) -> None:
    """The broken deployment of the demo: the probe sees 503, not a crash loop."""
    env = {"APP_VERSION": "9.9.9", "COLLECTOR_DATABASE": "var/data/collector.db"}
    with running("collector", tmp_path, env) as port:
        status, body = get(port, "/health")
        assert status == 503 and body["status"] == "unhealthy"
