"""get_json: one REST call with the standard library, over real HTTP on 127.0.0.1.

Each case is a small server that answers one way; the client must behave as
the requests-based client did: headers, timeouts, errors, and the token kept
within its origin across redirects.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ci_actions.github.rest import API_VERSION, GitHubApiError, get_json

Reply = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def serve(reply: Reply) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """(base URL, the headers of every request received) of a server answering with `reply`."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
            reply(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def answer(status: int, body: bytes, **headers: str) -> Reply:
    def reply(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k.replace("_", "-"), v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return reply


def test_a_get_sends_githubs_headers_and_the_token() -> None:
    with serve(answer(200, b'{"name": "app"}')) as (url, seen):
        assert get_json(f"{url}/repos/a/b", "tok", timeout=5, user_agent="ua") == {"name": "app"}
    assert seen[0]["authorization"] == "Bearer tok"
    assert seen[0]["accept"] == "application/vnd.github+json"
    assert seen[0]["x-github-api-version"] == API_VERSION
    assert seen[0]["user-agent"] == "ua"


def test_no_token_no_authorization_header() -> None:
    with serve(answer(200, b"{}")) as (url, seen):
        get_json(url + "/x", "", timeout=5)
    assert "authorization" not in seen[0]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, b'{"message": "Not Found"}', "HTTP 404 Not Found"),
        (500, b"oops", "HTTP 500"),
        (200, b"<html>", "not JSON"),
    ],
)
def test_failures_are_github_api_errors(status: int, body: bytes, expected: str) -> None:
    with serve(answer(status, body)) as (url, _), pytest.raises(GitHubApiError) as caught:
        get_json(url + "/x", "tok", timeout=5)
    assert expected in str(caught.value)
    assert caught.value.status == (status if status >= 400 else 0)


def test_an_unreachable_api_is_a_github_api_error() -> None:
    with pytest.raises(GitHubApiError):
        get_json("http://127.0.0.1:9/x", "tok", timeout=5)


def test_a_server_that_never_answers_times_out() -> None:
    def slow(h: BaseHTTPRequestHandler) -> None:
        time.sleep(3)
        with contextlib.suppress(OSError):  # the client has given up
            answer(200, b"{}")(h)

    with serve(slow) as (url, _):
        started = time.monotonic()
        with pytest.raises(GitHubApiError):
            get_json(url + "/x", "tok", timeout=0.5)
        assert time.monotonic() - started < 2.5


def test_the_token_follows_a_redirect_within_the_origin_only() -> None:
    with serve(answer(200, b'{"ok": true}')) as (other, other_seen):
        moved = answer(301, b"", Location=f"{other}/elsewhere")
        with serve(moved) as (url, seen):
            assert get_json(url + "/x", "tok", timeout=5) == {"ok": True}
    assert seen[0]["authorization"] == "Bearer tok"
    assert other_seen[0]["path"] == "/elsewhere"
    assert "authorization" not in other_seen[0]  # another port: another origin

    def same_origin(h: BaseHTTPRequestHandler) -> None:
        if h.path == "/x":
            answer(301, b"", Location="/moved")(h)
        else:
            answer(200, b"{}")(h)

    with serve(same_origin) as (url, seen):
        get_json(url + "/x", "tok", timeout=5)
    assert [s["path"] for s in seen] == ["/x", "/moved"]
    assert seen[1]["authorization"] == "Bearer tok"


def test_image_tags_makes_its_api_call_without_importing_requests(tmp_path: Path) -> None:
    """The action's import set is what it uses: one REST call needs no HTTP library."""
    from tests.actions.test_image_tags import _push
    from tests.support.anchor import fake_api

    code = (
        "import json, os, sys\n"
        "from ci_actions.cli import main\n"
        "code = main(['image-tags'], dict(os.environ))\n"
        "print(code, json.dumps(sorted(m for m in ('requests', 'urllib3') if m in sys.modules)))\n"
    )
    with fake_api() as api:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **_push(api)}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        calls = [c.path for c in api.calls]
    assert calls, done.stdout + done.stderr  # the repository data came over HTTP
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stdout + done.stderr
