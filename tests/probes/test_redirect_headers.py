"""A redirect to another origin never carries the check's headers or cookies.

Two real HTTP servers on 127.0.0.1 (two ports) log the headers each request
brought; `/hop?to=URL` answers with a redirect there, `/login` sets a cookie
and then redirects, anything else is a healthy JSON answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from ci_actions.probes.checks import Check, Timing, redirect_keeps_headers
from ci_actions.probes.http import Prober
from tests.support.cli import invoke

SECRETS = {
    "Authorization": "Bearer auth-secret",
    "X-Api-Key": "api-key-secret",
    "PRIVATE-TOKEN": "gitlab-secret",
    "X-Team-Secret": "custom-secret",
    "Cookie": "session=cookie-secret",
}


class LoggingServer:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        log = self.seen

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                log.append((self.path, dict(self.headers.items())))
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if url.path == "/hop":
                    self.send_response(int(query.get("code", ["302"])[0]))
                    self.send_header("Location", query["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if url.path == "/login":
                    self.send_response(302)
                    self.send_header("Set-Cookie", "issued=cookie-from-server; Path=/")
                    self.send_header("Location", query["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"version": "2.0.0"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[LoggingServer, LoggingServer]]:
    a, b = LoggingServer(), LoggingServer()
    yield a, b
    a.close()
    b.close()


def _hop(start: LoggingServer, to: str, code: int = 302) -> str:
    return start.url(f"/hop?code={code}&to={quote(to, safe='')}")


def _probe(url: str, headers: dict[str, str], allowed: tuple[str, ...] = ()) -> None:
    timing = Timing(
        timeout=5,
        interval=0.1,
        attempt_timeout=2,
        redirect_allowed_hosts=allowed,
        success_threshold=1,  # one redirected request per check: what each hop saw is exact
    )
    [result] = Prober(timing).run([Check(url=url, headers=headers)])
    assert result.healthy, result.reason


def _secrets_in(seen: list[tuple[str, dict[str, str]]]) -> set[str]:
    values = {v for _, headers in seen for v in headers.values()}
    return {v for v in values if "secret" in v or "cookie-from-server" in v}


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_to_another_port_drops_every_header_the_check_set(
    servers: tuple[LoggingServer, LoggingServer], code: int
) -> None:
    a, b = servers
    _probe(_hop(a, b.url("/health"), code), SECRETS)
    assert _secrets_in(a.seen) == set(SECRETS.values())  # the first hop had them all
    assert [path for path, _ in b.seen] == ["/health"]
    assert _secrets_in(b.seen) == set()


def test_redirect_to_another_host_name_drops_them(
    servers: tuple[LoggingServer, LoggingServer],
) -> None:
    a, _ = servers
    _probe(_hop(a, a.url("/health", host="localhost")), SECRETS)
    assert [path for path, _ in a.seen] == [a.seen[0][0], "/health"]
    assert _secrets_in(a.seen[1:]) == set()


def test_headers_stay_dropped_when_a_chain_comes_back(
    servers: tuple[LoggingServer, LoggingServer],
) -> None:
    a, b = servers
    _probe(_hop(a, _hop(b, a.url("/health"))), SECRETS)
    assert _secrets_in(b.seen) == set()
    assert a.seen[-1][0] == "/health"
    assert _secrets_in([a.seen[-1]]) == set()


def test_cookie_set_by_one_port_is_not_sent_to_another(
    servers: tuple[LoggingServer, LoggingServer],
) -> None:
    a, b = servers
    _probe(a.url(f"/login?to={quote(b.url('/health'), safe='')}"), {})
    assert _secrets_in(b.seen) == set()


def test_same_origin_redirect_keeps_the_headers(
    servers: tuple[LoggingServer, LoggingServer],
) -> None:
    a, _ = servers
    headers = {k: v for k, v in SECRETS.items() if k != "Cookie"}
    _probe(_hop(a, a.url("/health")), headers)
    assert _secrets_in(a.seen[1:]) == set(headers.values())


@pytest.mark.parametrize("entry", ["127.0.0.1:{port}", "127.0.0.1"])
def test_allowed_host_receives_the_headers(
    servers: tuple[LoggingServer, LoggingServer], entry: str
) -> None:
    a, b = servers
    headers = {k: v for k, v in SECRETS.items() if k != "Cookie"}
    _probe(_hop(a, b.url("/health")), headers, allowed=(entry.format(port=b.port),))
    assert _secrets_in(b.seen) == set(headers.values())


def test_allowing_another_port_does_not_allow_this_one(
    servers: tuple[LoggingServer, LoggingServer],
) -> None:
    a, b = servers
    _probe(_hop(a, b.url("/health")), SECRETS, allowed=(f"127.0.0.1:{a.port}",))
    assert _secrets_in(b.seen) == set()


# (from, to, allowed hosts, may keep the headers)
RULES = [
    ("https://api.example.com/a", "https://api.example.com/b", (), True),
    ("https://api.example.com/a", "https://api.example.com:443/b", (), True),
    ("http://api.example.com/a", "http://api.example.com:80/b", (), True),
    ("https://api.example.com/a", "http://api.example.com/b", (), False),
    ("https://api.example.com/a", "http://api.example.com/b", ("api.example.com",), False),
    ("http://api.example.com/a", "https://api.example.com/b", (), False),
    ("http://api.example.com/a", "https://api.example.com/b", ("api.example.com",), True),
    ("https://api.example.com/a", "https://api.example.com:8443/b", (), False),
    ("https://api.example.com/a", "https://API.example.com/b", (), True),
    ("https://api.example.com/a", "https://evil.example.net/b", (), False),
    ("https://api.example.com/a", "https://evil.example.net/b", ("api.example.com",), False),
    ("https://api.example.com/a", "https://cdn.example.com/b", ("CDN.example.com",), True),
    ("https://api.example.com/a", "https://cdn.example.com/b", ("cdn.example.com:443",), True),
    ("https://api.example.com/a", "https://cdn.example.com/b", ("cdn.example.com:8443",), False),
    ("http://[::1]:8080/a", "http://[::1]:9090/b", ("[::1]:9090",), True),
]


@pytest.mark.parametrize(("old", "new", "allowed", "keeps"), RULES)
def test_redirect_rule(old: str, new: str, allowed: tuple[str, ...], keeps: bool) -> None:
    assert redirect_keeps_headers(old, new, allowed) is keeps


def test_action_input_reaches_the_probe(
    tmp_path: Any, servers: tuple[LoggingServer, LoggingServer]
) -> None:
    a, b = servers
    checks = f"- url: {_hop(a, b.url('/health'))}\n  headers: {{X-Api-Key: api-key-secret}}\n"
    run = invoke(
        tmp_path,
        "health-probe",
        ["--checks", checks, "--timeout", "5s", "--redirect-allowed-hosts", f"127.0.0.1:{b.port}"],
    )
    assert run.code == 0, run.log
    assert _secrets_in(b.seen) == {"api-key-secret"}


def test_action_input_refuses_a_url(tmp_path: Any) -> None:
    run = invoke(
        tmp_path,
        "health-probe",
        ["--url", "http://127.0.0.1:1/", "--redirect-allowed-hosts", "https://cdn.example.com/"],
    )
    assert run.code == 2, run.log
    assert "redirect-allowed-hosts" in run.log
