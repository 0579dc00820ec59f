"""An HTTP proxy on 127.0.0.1 in front of a registry that misbehaves on request.

Every request is forwarded to `upstream` ("127.0.0.1:PORT") and answered
with what came back, except:

- `drop(method, path)` true: a PUT is answered 201 with the digest of what
  was sent, and never forwarded (a registry that says yes and keeps nothing);
- `faults[n]` for the n-th request (1-based, in arrival order), or
  `faults(n, method, path)` when a function: `Fault(500, body)` answers
  that status and body instead of forwarding, `Fault(0)` resets the
  connection (RST) without an answer.

    with FaultyProxy(registry.host, drop=drop_manifest_puts({"v2"})) as proxy:
        proxy.host       # "127.0.0.1:PORT" to talk to
        proxy.requests   # [("PUT", "/v2/app/manifests/v2"), ...] in arrival order
        proxy.dropped    # paths of the PUTs answered and not forwarded
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

Drop = Callable[[str, str], bool]
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Fault:
    status: int = 0  # 0: reset the connection instead of answering
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


def drop_manifest_puts(tags: set[str]) -> Drop:
    """Drop the manifest PUTs of these tags (any repository)."""
    return lambda method, path: method == "PUT" and path.rsplit("/manifests/", 1)[-1] in tags


class FaultyProxy:
    def __init__(
        self,
        upstream: str,
        *,
        drop: Drop | None = None,
        faults: Mapping[int, Fault] | Callable[[int, str, str], Fault | None] | None = None,
    ) -> None:
        self.upstream = upstream
        self.drop = drop
        self.faults = faults or {}
        self.requests: list[tuple[str, str]] = []
        self.dropped: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.port = int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> FaultyProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fault(self, number: int, method: str, path: str) -> Fault | None:
        if callable(self.faults):
            return self.faults(number, method, path)
        return self.faults.get(number)

    def _count(self, method: str, path: str) -> int:
        with self._lock:
            self.requests.append((method, path))
            return len(self.requests)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _any(self) -> None:
                number = proxy._count(self.command, self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.fault(number, self.command, self.path)
                if fault is not None and fault.status == 0:
                    self._reset()
                elif fault is not None:
                    self._answer(fault.status, dict(fault.headers), fault.body)
                elif proxy.drop is not None and proxy.drop(self.command, self.path):
                    with proxy._lock:
                        proxy.dropped.append(self.path)
                    digest = "sha256:" + hashlib.sha256(body).hexdigest()
                    headers = {"Docker-Content-Digest": digest, "Location": self.path}
                    self._answer(201, headers, b"")
                else:
                    self._forward(body)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _any

            def _forward(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    sent = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP}
                    if self.command == "HEAD":
                        sent["Content-Length"] = resp.getheader("Content-Length") or "0"
                    self._answer(resp.status, sent, data)
                finally:
                    conn.close()

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and body:
                    self.wfile.write(body)

            def _reset(self) -> None:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                with contextlib.suppress(OSError):
                    self.connection.close()
                self.close_connection = True

        return Handler
