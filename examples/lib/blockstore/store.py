"""The SQLite store of collected addresses.

Opening never creates directories: a database that cannot be opened is an
error the service reports (500 on data endpoints, 503 on /health), not
something papered over with an empty in-memory database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

# How long a writer waits for a locked database (the collector writes while the API reads).
BUSY_TIMEOUT_SECONDS = 5
SCHEMA = """
CREATE TABLE IF NOT EXISTS addresses (
    ip TEXT NOT NULL,
    source TEXT NOT NULL,
    collected TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (ip, source)
)
"""


class StoreUnavailable(Exception):
    """The database file cannot be opened or read."""


def connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
        conn.execute(SCHEMA)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot open database {path}: {exc}") from exc
    return conn


def add(path: Path, source: str, ips: Iterable[str]) -> int:
    with connect(path) as conn:
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO addresses (ip, source) VALUES (?, ?)",
            [(ip, source) for ip in ips],
        )
        return conn.total_changes - before


def stats(path: Path) -> dict[str, object]:
    conn = connect(path)
    try:
        rows = conn.execute(
            "SELECT source, COUNT(*) FROM addresses GROUP BY source ORDER BY source"
        ).fetchall()
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot read database {path}: {exc}") from exc
    finally:
        conn.close()
    by_source = {source: count for source, count in rows}
    return {"total": sum(by_source.values()), "sources": by_source}


def check(path: Path) -> None:
    """Raise StoreUnavailable unless the database opens and answers a query."""
    conn = connect(path)
    try:
        conn.execute("SELECT 1 FROM addresses LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot read database {path}: {exc}") from exc
    finally:
        conn.close()
