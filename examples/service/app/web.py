"""The HTTP interface, a plain WSGI application (served by wsgiref in __main__).

GET /health     200 {"status": "ok", "version": ...}, 503 when the database cannot be opened
GET /version    200 {"version": ...}
GET /api/stats  200 {"total": n, "sources": {...}}, 500 when the database cannot be opened
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from app import settings, store

log = logging.getLogger("blocklist")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
STATUS_TEXT = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _json(start: StartResponse, code: int, body: dict[str, object]) -> Iterable[bytes]:
    data = json.dumps(body, sort_keys=True).encode()
    start(
        f"{code} {STATUS_TEXT[code]}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


def health(start: StartResponse) -> Iterable[bytes]:
    try:
        store.check(settings.database_path())
    except store.StoreUnavailable as exc:
        log.error("health check failed: %s", exc)
        return _json(
            start,
            503,
            {"status": "unhealthy", "version": settings.version(), "database": str(exc)},
        )
    return _json(start, 200, {"status": "ok", "version": settings.version(), "database": "ok"})


def version(start: StartResponse) -> Iterable[bytes]:
    return _json(start, 200, {"version": settings.version()})


def api_stats(start: StartResponse) -> Iterable[bytes]:
    try:
        body = store.stats(settings.database_path())
    except store.StoreUnavailable as exc:
        log.error("/api/stats failed: %s", exc)
        return _json(start, 500, {"error": str(exc)})
    return _json(start, 200, body)


ROUTES = {"/health": health, "/version": version, "/api/stats": api_stats}


def application(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
    handler = ROUTES.get(environ.get("PATH_INFO", ""))
    if handler is None:
        return _json(start, 404, {"error": "not found"})
    if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
        return _json(start, 405, {"error": "method not allowed"})
    return handler(start)
