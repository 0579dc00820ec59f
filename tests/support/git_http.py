"""Bare git repositories over smart HTTP on 127.0.0.1, behind the Basic auth GitHub asks for.

`git http-backend` (the CGI that ships with git) serves every bare repository
under `root`; a request without `Authorization: Basic x-access-token:<token>`
is answered 401 with `WWW-Authenticate: Basic`, as github.com answers a push
(and a fetch of a private repository). `anonymous_read=True` lets fetches
through without credentials (a public repository); pushes always need them.

    with GitHttpServer(tmp / "remotes", token="t0k") as server:
        url = server.url_for("app.git")       # http://127.0.0.1:PORT/app.git
        ... git push with ci_actions.git.token_env("t0k") ...
        server.requests                        # (method, path, status) of each
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

BACKEND = Path("/usr/lib/git-core/git-http-backend")
USER = "x-access-token"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    status: int

    @property
    def is_push(self) -> bool:
        return "git-receive-pack" in self.path


def basic(token: str, user: str = USER) -> str:
    """The Authorization header value a client sends for `token`."""
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


def credentials(header: str) -> tuple[str, str] | None:
    """(user, password) of a Basic Authorization header (the scheme in any case), else None."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _backend() -> str:
    if BACKEND.exists():
        return str(BACKEND)
    exec_path = subprocess.run(
        ["git", "--exec-path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return str(Path(exec_path) / "git-http-backend")


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, de-chunked when git streams it (large packs)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class GitHttpServer:
    def __init__(self, root: Path, token: str, *, anonymous_read: bool = False) -> None:
        self.root = root
        self.token = token
        self.anonymous_read = anonymous_read
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._backend = _backend()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url_for(self, name: str) -> str:
        return f"{self.url}/{name}"

    def start(self) -> GitHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> GitHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refused(self, *, push: bool | None = None) -> list[Request]:
        """Requests answered 401 (only pushes, only fetches, or all)."""
        with self._lock:
            return [
                r for r in self.requests if r.status == 401 and (push is None or r.is_push == push)
            ]

    # -- HTTP ------------------------------------------------------------------
    def _allowed(self, header: str, push: bool) -> bool:
        if credentials(header) == (USER, self.token):
            return True
        return self.anonymous_read and not push and not header

    def _cgi_env(self, handler: BaseHTTPRequestHandler, method: str) -> dict[str, str]:
        split = urlsplit(handler.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": method,
            "PATH_INFO": split.path,
            "QUERY_STRING": split.query,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "REMOTE_USER": USER,
            "REMOTE_ADDR": "127.0.0.1",
        }
        for header, name in (
            ("Git-Protocol", "GIT_PROTOCOL"),
            ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
        ):
            if handler.headers.get(header):
                env[name] = handler.headers[header]
        return env

    def _record(self, handler: BaseHTTPRequestHandler, method: str, status: int) -> None:
        with self._lock:
            self.requests.append(Request(method, handler.path, status))

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        push = "git-receive-pack" in handler.path
        body = _read_body(handler) if method == "POST" else b""
        if not self._allowed(handler.headers.get("Authorization", ""), push):
            self._record(handler, method, 401)
            handler.send_response(401)
            handler.send_header("WWW-Authenticate", 'Basic realm="git"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        env = self._cgi_env(handler, method)
        env["CONTENT_LENGTH"] = str(len(body))
        done = subprocess.run(
            [self._backend], input=body, env=env, capture_output=True, timeout=300
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        headers = _parse_head(head.decode("latin-1"))
        status = int(headers.pop("Status", "200").split()[0])
        self._record(handler, method, status)
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server._serve(self, "GET")

            def do_POST(self) -> None:
                server._serve(self, "POST")

        return Handler


def _parse_head(head: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    return headers
