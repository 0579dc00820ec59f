"""A fake Docker token server for docker-registry's `auth: token` mode.

The registry only verifies tokens; issuing them is another service's job
(Docker Hub's auth.docker.io, GitLab, Harbor). This one issues RS256 JWTs
signed by a throwaway self-signed certificate (made with `openssl`), which
the real registry trusts through `rootcertbundle`. It speaks the token
protocol over real HTTPS (the same self-signed certificate; token servers are
https, and credentials go to no plain-http one): `GET /token?service=S&scope=repository:NAME:pull,push`
with optional basic auth, answering `{"token": ..., "access_token": ...}`.

`registry_token` is a registry in that mode (`.token_server.requests`
records what was asked; seeding and `tags()`/`digest()` mint tokens directly).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tests.support.registry import Registry

SERVICE = "ci-actions-registry"
ISSUER = "ci-actions-test-issuer"
_REPO_IN_PATH = re.compile(r"^/v2/(.+?)/(?:manifests|blobs|tags)/")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenServer:
    root: Path
    username: str
    password: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    x5c: str = ""  # the certificate, base64 DER, as the JWT header carries it
    _server: ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        return f"https://127.0.0.1:{self.port}/token"

    @property
    def cert(self) -> Path:
        return self.root / "token.crt"

    def make_keys(self) -> None:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=ci-actions-test-token",
                "-keyout", str(self.root / "token.key"), "-out", str(self.cert),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        der = subprocess.run(
            ["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
            check=True,
            capture_output=True,
        ).stdout
        self.x5c = base64.b64encode(der).decode()

    def mint(self, scopes: list[str], subject: str = "") -> str:
        access = []
        for scope in scopes:
            kind, name, actions = (
                scope.split(":")[0],
                ":".join(scope.split(":")[1:-1]),
                scope.rsplit(":", 1)[-1],
            )
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        der = subprocess.run(
            ["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
            check=True,
            capture_output=True,
        ).stdout
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {
            "iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300, "nbf": now - 10,
            "iat": now, "jti": uuid.uuid4().hex, "access": access,
        }  # fmt: skip
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.root / "token.key")],
            input=signing_input.encode(),
            check=True,
            capture_output=True,
        ).stdout
        return f"{signing_input}.{_b64url(signature)}"

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                auth = self.headers.get("Authorization", "")
                user = ""
                if auth.startswith("Basic "):
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    if (user, password) != (outer.username, outer.password):
                        self._reply(401, {"details": "invalid credentials"})
                        return
                outer.requests.append({"user": user, **{k: v for k, v in query.items()}})
                if url.path != "/token" or query.get("service") != [SERVICE]:
                    self._reply(400, {"details": "unknown service"})
                    return
                if not user:  # anonymous: no token for pushing
                    self._reply(401, {"details": "authentication required"})
                    return
                token = outer.mint(query.get("scope", []), user)
                self._reply(200, {"token": token, "access_token": token, "expires_in": 300})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(self.cert, self.root / "token.key")
        self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def auth_yaml(self) -> str:
        return (
            "auth:\n  token:\n"
            f"    realm: {self.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
            f"    rootcertbundle: {self.cert}\n"
        )


class MintedToken(requests.auth.AuthBase):
    """Test-side access to a token registry: a token for the repository in each URL."""

    def __init__(self, server: TokenServer) -> None:
        self.server = server

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlparse(request.url or "")
        match = _REPO_IN_PATH.match(url.path)
        scopes = [f"repository:{match.group(1)}:pull,push"] if match else []
        scopes += [f"repository:{src}:pull" for src in parse_qs(url.query).get("from", [])]
        request.headers["Authorization"] = f"Bearer {self.server.mint(scopes, 'seeder')}"
        return request


@contextlib.contextmanager
def running_token_registry(username: str, password: str) -> Iterator[Registry]:
    root = Path(tempfile.mkdtemp(prefix="token-registry-"))
    server = TokenServer(root, username, password)
    server.make_keys()
    server.start()
    try:
        registry = Registry.start(root / "registry", auth_yaml=server.auth_yaml())
        registry.username, registry.password = username, password
        registry.http_auth = MintedToken(server)
        registry.extra["realm"] = server.realm
        registry.token_server = server
        try:
            yield registry
        finally:
            registry.stop()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def registry_token() -> Iterator[Registry]:
    """A registry in token mode behind the fake token server (`.token_server`)."""
    with running_token_registry("ci", "t0ken-Pa55word") as reg:
        yield reg
