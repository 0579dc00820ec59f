"""What the tests of every service use: a WSGI call, and a service run as a real process."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
# what the images ship side by side in their working directory
PYTHONPATH = (ROOT / "lib", ROOT / "services" / "api", ROOT / "services" / "collector")


def call(application: Callable[..., Any], path: str, method: str = "GET") -> tuple[int, Any]:
    """One request to a WSGI application: (status, parsed JSON body)."""
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(headers)

    body = b"".join(application({"PATH_INFO": path, "REQUEST_METHOD": method}, start))
    assert seen["headers"]["Content-Type"] == "application/json"
    assert int(seen["headers"]["Content-Length"]) == len(body)
    return seen["status"], json.loads(body)


def get(port: int, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, json.load(resp)
    finally:
        conn.close()


@contextmanager
def running(module: str, workdir: Path, env: dict[str, str]) -> Iterator[int]:
    """`python -m module` in `workdir` on a free port, as the deployment starts it; yields
    the port once /health answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    full = {**os.environ, **env, "PORT": str(port)}
    full["PYTHONPATH"] = os.pathsep.join(map(str, PYTHONPATH))
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=workdir, env=full)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                get(port, "/health")
                break
            except (OSError, http.client.HTTPException):
                assert proc.poll() is None, f"{module} exited {proc.returncode}"
                assert time.monotonic() < deadline, f"{module} did not start"
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
