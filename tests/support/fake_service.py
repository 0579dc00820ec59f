"""A small HTTP service on 127.0.0.1 with the faults a probe must survive.

Routes: `/health` (200 JSON `{"status": "ok", "version": V, "db": {...}}`,
header `X-Version: V`), `/flap` (500, 200, 500, … per request; `?code=503` for 503), `/fail`
(always 500), `/slow?ms=N` (answers after N ms), `/trickle` (a body sent one
byte every 300 ms), `/reset` (promises 100 bytes, sends 10, closes),
`/loop` (redirects to itself), `/redirect` (one redirect to /health),
`/status/N`. With `tls=True` it serves HTTPS with a fresh self-signed
certificate made by `openssl`. `version` can be changed while it runs.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeService:
    def __init__(self, *, version: str = "1.0.0", tls_dir: Path | None = None) -> None:
        self.version = version
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        service = self

        class Handler(_Handler):
            owner = service

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls_dir is not None:
            cert, key = self_signed(tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeService:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str = "/health") -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}{path}"

    def count(self, route: str) -> int:
        with self.lock:
            self.hits[route] = self.hits.get(route, 0) + 1
            return self.hits[route]


def self_signed(directory: Path) -> tuple[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _Handler(BaseHTTPRequestHandler):
    owner: FakeService
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, doc: Any) -> None:
        self._send(
            code,
            json.dumps(doc).encode(),
            {"Content-Type": "application/json", "X-Version": self.owner.version},
        )

    def do_POST(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        route = url.path
        n = self.owner.count(route)
        try:
            if route == "/health":
                self._json(
                    200,
                    {
                        "status": "ok",
                        "version": self.owner.version,
                        "db": {"connected": True, "items": 42},
                    },
                )
            elif route == "/flap":
                failing = int(query.get("code", "500"))
                self._json(
                    failing if n % 2 else 200, {"status": "flap", "version": self.owner.version}
                )
            elif route == "/fail":
                self._json(
                    500,
                    {
                        "status": "error",
                        "detail": "sqlite3.OperationalError: unable to open database file",
                    },
                )
            elif route.startswith("/status/"):
                self._json(int(route.rsplit("/", 1)[1]), {"status": "as asked"})
            elif route == "/slow":
                time.sleep(int(query.get("ms", "1000")) / 1000)
                self._json(200, {"status": "ok", "version": self.owner.version})
            elif route == "/trickle":
                body = b"x" * 40
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.3)
            elif route == "/reset":
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(b"0123456789")
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif route == "/loop":
                self._send(302, b"", {"Location": "/loop"})
            elif route == "/redirect":
                self._send(302, b"", {"Location": "/health"})
            else:
                self._json(404, {"status": "not found"})
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
