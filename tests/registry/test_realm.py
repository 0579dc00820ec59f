"""Credentials go to a token server only over https, or over plain http on the
registry's own host when that registry is an allowed insecure one.

A fake registry on 127.0.0.1 answers with a bearer challenge naming a realm
of the test's choice; it also serves `/token` itself. A second server on
another port plays a token server elsewhere. Both log every request's headers.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ci_actions.registry.auth import Credentials, may_send_credentials
from ci_actions.registry.client import AuthFailed, RegistryClient
from tests.support.cli import invoke

USER, PASSWORD = "ci", "realm-pa55word"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
TOKEN = "tok-1"


class LoggingRegistry:
    """`/token` hands out TOKEN; `/v2/...` wants `Bearer TOKEN` (or basic, in basic mode)."""

    def __init__(self, challenge: str = "") -> None:
        self.challenge = challenge  # `{port}` is this server's port
        self.seen: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.seen.append((self.path, dict(self.headers.items())))
                auth = self.headers.get("Authorization", "")
                if self.path.startswith("/token"):
                    self._reply(200, {"token": TOKEN})
                elif auth in (f"Bearer {TOKEN}", BASIC):
                    self._reply(200, {})
                else:
                    self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "no"}]})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                if status == 401:
                    challenge = outer.challenge.format(port=outer.port)
                    self.send_header("WWW-Authenticate", challenge)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def token_requests(self) -> list[dict[str, str]]:
        return [headers for path, headers in self.seen if path.startswith("/token")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[LoggingRegistry]:
    server = LoggingRegistry()
    yield server
    server.close()


@pytest.fixture
def make_registry() -> Iterator[Any]:
    made: list[LoggingRegistry] = []

    def make(challenge: str) -> LoggingRegistry:
        made.append(LoggingRegistry(challenge))
        return made[-1]

    yield make
    for server in made:
        server.close()


def _client(registry: LoggingRegistry, *, credentials: bool = True) -> RegistryClient:
    creds = Credentials(USER, PASSWORD) if credentials else None
    return RegistryClient(registry.host, credentials=creds, insecure=True)


def _bearer(realm: str) -> str:
    return f'Bearer realm="{realm}",service="svc"'


# realms that would get the credentials in clear text, away from the registry
@pytest.mark.parametrize(
    "realm",
    [
        "http://127.0.0.1:{elsewhere}/token",  # another port
        "http://localhost:{port}/token",  # another host name, the registry's own port
        "HTTP://127.0.0.1:{elsewhere}/token",
    ],
)
def test_plain_http_realm_elsewhere_gets_no_credentials(
    make_registry: Any, elsewhere: LoggingRegistry, realm: str
) -> None:
    registry = make_registry(_bearer(realm.replace("{elsewhere}", str(elsewhere.port))))
    named = realm.replace("{elsewhere}", str(elsewhere.port)).replace("{port}", str(registry.port))
    with pytest.raises(AuthFailed) as failed:
        _client(registry).ping()
    assert named in str(failed.value)
    assert elsewhere.token_requests() == []
    assert registry.token_requests() == []  # `localhost` reaches it too: still nothing sent
    assert not any(BASIC in h.values() for _, h in registry.seen + elsewhere.seen)


def test_plain_http_realm_on_the_insecure_registrys_own_host_gets_them(make_registry: Any) -> None:
    registry = make_registry(_bearer("http://127.0.0.1:{port}/token"))
    _client(registry).ping()
    assert [h.get("Authorization") for h in registry.token_requests()] == [BASIC]


def test_anonymous_token_from_a_plain_http_realm_is_still_fetched(
    make_registry: Any, elsewhere: LoggingRegistry
) -> None:
    registry = make_registry(_bearer(f"http://127.0.0.1:{elsewhere.port}/token"))
    _client(registry, credentials=False).ping()
    assert [h.get("Authorization") for h in elsewhere.token_requests()] == [None]


def test_credentials_never_follow_an_absolute_url_to_another_host(
    make_registry: Any, elsewhere: LoggingRegistry
) -> None:
    # e.g. an upload Location the registry points at another host
    registry = make_registry('Basic realm="registry"')
    client = _client(registry)
    client.ping()
    assert registry.seen[-1][1].get("Authorization") == BASIC
    client.request("GET", f"http://127.0.0.1:{elsewhere.port}/v2/upload", scopes=())
    assert [h.get("Authorization") for _, h in elsewhere.seen] == [None]


def test_image_promote_exits_3_naming_the_realm(
    tmp_path: Path, make_registry: Any, elsewhere: LoggingRegistry
) -> None:
    realm = f"http://127.0.0.1:{elsewhere.port}/token"
    registry = make_registry(_bearer(realm))
    run = invoke(
        tmp_path,
        "image-promote",
        [
            "--source", f"{registry.host}/app:sha-1",
            "--tags", "stable",
            "--username", USER,
            "--password", PASSWORD,
            "--insecure", "true",
        ],
    )  # fmt: skip
    assert run.code == 3, run.log
    assert realm in run.log
    assert elsewhere.seen == []


# (realm, registry host, registry is insecure, may get the credentials)
RULES = [
    ("https://auth.docker.io/token", "docker.io", False, True),
    ("https://auth.example.com/token", "10.0.0.5:5000", True, True),
    ("http://auth.example.com/token", "registry.example.com", False, False),
    ("http://auth.example.com/token", "registry.example.com", True, False),
    ("http://registry.example.com/token", "registry.example.com", False, False),
    ("http://registry.example.com/token", "registry.example.com", True, True),
    ("http://registry.example.com:80/token", "registry.example.com", True, True),
    ("http://REGISTRY.example.com/token", "registry.example.com", True, True),
    ("http://10.0.0.5:5001/token", "10.0.0.5:5000", True, False),
    ("http://10.0.0.5:5000/token", "10.0.0.5:5000", True, True),
    ("http://10.0.0.5/token", "10.0.0.5:5000", True, False),
    ("ftp://10.0.0.5:5000/token", "10.0.0.5:5000", True, False),
    ("/token", "10.0.0.5:5000", True, False),
]


@pytest.mark.parametrize(("realm", "host", "insecure", "allowed"), RULES)
def test_realm_rule(realm: str, host: str, insecure: bool, allowed: bool) -> None:
    assert may_send_credentials(realm, host, insecure=insecure) is allowed
