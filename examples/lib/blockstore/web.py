"""The JSON WSGI application of a blocklist service (served by wsgiref in `serve`).

GET /health     200 {"status": "ok", "version": ...}, 503 when the database cannot be opened
GET /version    200 {"version": ...}
plus the service's own routes (each returns (status, body) or raises StoreUnavailable: 500).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from blockstore import settings, store

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Route = Callable[[Path], tuple[int, dict[str, object]]]
STATUS_TEXT = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def respond(start: StartResponse, code: int, body: Mapping[str, object]) -> Iterable[bytes]:
    data = json.dumps(body, sort_keys=True).encode()
    start(
        f"{code} {STATUS_TEXT[code]}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


@dataclass(frozen=True)
class Service:
    """One service: its name (for logs), where its version and database come from, its routes."""

    name: str
    version: Callable[[], str]
    database: Callable[[], Path]
    routes: Mapping[str, Route]

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(self.name)

    def health(self) -> tuple[int, dict[str, object]]:
        try:
            store.check(self.database())
        except store.StoreUnavailable as exc:
            self.log.error("health check failed: %s", exc)
            return 503, {"status": "unhealthy", "version": self.version(), "database": str(exc)}
        return 200, {"status": "ok", "version": self.version(), "database": "ok"}

    def route(self, path: str) -> tuple[int, dict[str, object]]:
        if path == "/health":
            return self.health()
        if path == "/version":
            return 200, {"version": self.version()}
        handler = self.routes.get(path)
        if handler is None:
            return 404, {"error": "not found"}
        try:
            return handler(self.database())
        except store.StoreUnavailable as exc:
            self.log.error("%s failed: %s", path, exc)
            return 500, {"error": str(exc)}

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return respond(start, 405, {"error": "method not allowed"})
        return respond(start, *self.route(str(environ.get("PATH_INFO", ""))))


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        logging.getLogger("access").info(format, *args)


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


def serve(service: Service, default_port: int) -> None:
    """Serve on $HOST:$PORT until stopped."""
    setup_logging()
    host, port = settings.host(), settings.port(default_port)
    with make_server(host, port, service, handler_class=QuietHandler) as server:
        service.log.info("%s %s listening on %s:%d", service.name, service.version(), host, port)
        server.serve_forever()
