"""`WWW-Authenticate` challenges (RFC 7235) as registries send them, and where
credentials may go."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print the password
        return f"Credentials(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower-case: "basic" or "bearer"
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(header: str) -> Challenge:
    """`Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"`."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if match is None or match.end() == pos:
            break
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare or ""
        params[match.group(1).lower()] = value
        pos = match.end()
    return Challenge(scheme.lower(), params)


def _host_port(scheme: str, host: str, port: int | None) -> tuple[str, int]:
    return host.lower(), port or (443 if scheme == "https" else 80)


def same_host(url: str, registry_host: str, scheme: str) -> bool:
    """Is `url` on the registry itself (`registry_host` is `host[:port]`, spoken over `scheme`)?"""
    target, own = urlsplit(url), urlsplit(f"{scheme}://{registry_host}")
    return _host_port(target.scheme, target.hostname or "", target.port) == _host_port(
        scheme, own.hostname or "", own.port
    )


def may_send_credentials(realm: str, registry_host: str, *, insecure: bool) -> bool:
    """A token server (the `realm` a registry names) gets the credentials only over
    https, or over plain http when it is the registry's own host and that registry
    is an allowed insecure one: a registry must not be able to send them elsewhere
    in clear text."""
    scheme = urlsplit(realm).scheme.lower()
    if scheme == "https":
        return True
    return insecure and scheme == "http" and same_host(realm, registry_host, "http")
