"""WWW-Authenticate challenges as real registries send them."""

from __future__ import annotations

import pytest

from ci_actions.registry.auth import Challenge, Credentials, parse_challenge


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (  # Docker Hub
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
            Challenge(
                "bearer",
                {
                    "realm": "https://auth.docker.io/token",
                    "service": "registry.docker.io",
                    "scope": "repository:library/alpine:pull",
                },
            ),
        ),
        (  # GitHub Container Registry
            'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/app:pull"',
            Challenge(
                "bearer",
                {
                    "realm": "https://ghcr.io/token",
                    "service": "ghcr.io",
                    "scope": "repository:org/app:pull",
                },
            ),
        ),
        (  # two scopes in one challenge (a mount), space after the commas
            'Bearer realm="https://r.example/token", service="r", scope="repository:a:pull,push repository:b:pull"',
            Challenge(
                "bearer",
                {
                    "realm": "https://r.example/token",
                    "service": "r",
                    "scope": "repository:a:pull,push repository:b:pull",
                },
            ),
        ),
        ('Basic realm="basic-realm"', Challenge("basic", {"realm": "basic-realm"})),
        ("basic realm=registry", Challenge("basic", {"realm": "registry"})),
        ('Basic realm="a \\"quoted\\" realm"', Challenge("basic", {"realm": 'a "quoted" realm'})),
        ("", Challenge("", {})),
    ],
)
def test_parse_challenge(header: str, expected: Challenge) -> None:
    assert parse_challenge(header) == expected


def test_credentials_repr_hides_password() -> None:
    assert "hunter22" not in repr(Credentials("ci", "hunter22"))
