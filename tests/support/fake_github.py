"""A small fake of GitHub's REST API on 127.0.0.1: repository data and commits.

Serves `GET /repos/{owner}/{repo}` and `GET /repos/{owner}/{repo}/commits/{sha}`
as GitHub does (JSON, 404 with a message for unknown paths), records every
request, and can be told to fail with a status code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeGitHub:
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)  # "owner/name" -> repo JSON
    commit_dates: dict[str, str] = field(default_factory=dict)  # sha -> committer date
    fail_status: int = 0  # when set, every request answers with this status
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str) -> tuple[int, Any]:
        if self.fail_status:
            return self.fail_status, {"message": "Server Error"}
        parts = path.split("?", 1)[0].strip("/").split("/")
        if len(parts) >= 3 and parts[0] == "repos":
            full_name = f"{parts[1]}/{parts[2]}"
            if full_name in self.repos:
                if len(parts) == 3:
                    return 200, self.repos[full_name]
                if len(parts) == 5 and parts[3] == "commits" and parts[4] in self.commit_dates:
                    date = self.commit_dates[parts[4]]
                    return 200, {
                        "sha": parts[4],
                        "commit": {"committer": {"name": "t", "date": date}},
                    }
        return 404, {
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest",
        }


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            status, body = fake.answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def repo_json(
    full_name: str = "octocat/Hello-World",
    *,
    description: str | None = "This your first repo!",
    license_id: str | None = "MIT",
    default_branch: str = "master",
) -> dict[str, Any]:
    """Repository data as `GET /repos/{owner}/{repo}` returns it (the fields used)."""
    owner, name = full_name.split("/", 1)
    return {
        "id": 1296269,
        "name": name,
        "full_name": full_name,
        "owner": {"login": owner},
        "private": False,
        "html_url": f"https://github.com/{full_name}",
        "description": description,
        "default_branch": default_branch,
        "license": {"key": license_id.lower(), "spdx_id": license_id} if license_id else None,
    }
