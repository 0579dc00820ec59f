"""A fake Argo CD API on 127.0.0.1: `GET /api/v1/applications/{name}[?refresh=normal|hard]`.

The application's state is a dict the test changes while the probe reads it
(`set_state`, or `play([(delay, mutation), ...])`); bearer token checked;
every request recorded with its query.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def app_state(
    revision: str,
    *,
    sync: str = "Synced",
    health: str = "Healthy",
    phase: str = "Succeeded",
    operation: bool = False,
    message: str = "",
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {"source": {"repoURL": "https://git.example/gitops.git", "path": "envs/prod"}},
        "status": {
            "sync": {"status": sync, "revision": revision},
            "health": {"status": health, **({"message": message} if message else {})},
            "operationState": {
                "phase": phase,
                "message": message or "successfully synced",
                "syncResult": {"revision": revision},
            },
        },
    }
    if operation:
        state["operation"] = {"sync": {"revision": revision}}
    return state


class FakeArgoCD:
    def __init__(self, token: str = "argo-token") -> None:
        self.token = token
        self.apps: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                fake.requests.append((url.path, query))
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(401, {"error": "invalid session", "code": 16})
                prefix = "/api/v1/applications/"
                name = url.path[len(prefix) :] if url.path.startswith(prefix) else ""
                app = fake.apps.get(name)
                if app is None:
                    return self._send(
                        404, {"error": f'applications.argoproj.io "{name}" not found', "code": 5}
                    )
                self._send(200, app)

            def _send(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def __enter__(self) -> FakeArgoCD:
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def set_state(self, name: str, state: dict[str, Any]) -> None:
        self.apps[name] = copy.deepcopy(state)

    def play(self, steps: list[tuple[float, Callable[[FakeArgoCD], object]]]) -> None:
        def run() -> None:
            for delay, step in steps:
                time.sleep(delay)
                step(self)

        threading.Thread(target=run, daemon=True).start()
