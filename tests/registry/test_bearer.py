"""The bearer-token challenge flow against docker-registry in token mode and a fake token server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from ci_actions.registry.auth import Credentials
from ci_actions.registry.client import AuthFailed, RegistryClient
from ci_actions.registry.promote import Target, promote
from tests.support.cli import invoke
from tests.support.registry import Registry


def client(registry: Registry, password: str | None = None) -> RegistryClient:
    creds = Credentials(registry.username, password or registry.password)
    return RegistryClient(registry.host, credentials=creds, insecure=True)


def test_registry_demands_a_bearer_token(registry_token: Registry) -> None:
    raw = requests.get(f"{registry_token.url}/v2/api/tags/list", timeout=5)
    assert raw.status_code == 401
    challenge = raw.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'realm="{registry_token.token_server.realm}"' in challenge
    assert 'scope="repository:api:pull"' in challenge


def test_promote_with_tokens_per_scope(registry_token: Registry) -> None:
    digest = registry_token.upload_image("build/api", "sha-1")
    done = promote(
        client(registry_token),
        "build/api",
        "sha-1",
        [Target("build/api", "stable"), Target("release/api", "1.0")],
    )
    assert done.digest == digest
    assert registry_token.digest("build/api", "stable") == digest
    assert registry_token.digest("release/api", "1.0") == digest
    asked = [r["scope"] for r in registry_token.token_server.requests]
    assert ["repository:build/api:pull"] in asked
    assert ["repository:build/api:pull,push"] in asked
    # The mount asks for one token covering both repositories.
    assert ["repository:release/api:pull,push", "repository:build/api:pull"] in asked
    assert {r["user"] for r in registry_token.token_server.requests} == {"ci"}
    assert all(
        r["service"] == ["ci-actions-registry"] for r in registry_token.token_server.requests
    )


def test_token_server_refusal(registry_token: Registry) -> None:
    registry_token.upload_image("api", "1.0")
    with pytest.raises(AuthFailed, match="token server refused") as caught:
        client(registry_token, "Wrong-Pa55").get_manifest("api", "1.0")
    assert "Wrong-Pa55" not in str(caught.value)
    with pytest.raises(AuthFailed):
        RegistryClient(registry_token.host, insecure=True).get_manifest("api", "1.0")


def test_cli_promote_and_build_against_token_registry(
    tmp_path: Path, registry_token: Registry
) -> None:
    context = Path(__file__).parents[1] / "fixtures" / "image-build" / "simple"
    build = invoke(
        tmp_path,
        "image-build",
        [
            "--context", str(context),
            "--tags", f"{registry_token.host}/api:sha-1",
            "--push", "true",
            "--username", registry_token.username,
            "--password", registry_token.password,
            "--insecure-registries", registry_token.host,
        ],
        env={"STORAGE_DRIVER": "vfs", "BUILDAH_ISOLATION": "chroot"},
    )  # fmt: skip
    assert build.code == 0, build.log
    digest = build.outputs["digest"]
    assert registry_token.digest("api", "sha-1") == digest

    promoted = invoke(
        tmp_path,
        "image-promote",
        [
            "--source", f"{registry_token.host}/api:sha-1",
            "--tags", "stable",
            "--username", registry_token.username,
            "--password", registry_token.password,
            "--insecure", "true",
        ],
    )  # fmt: skip
    assert promoted.code == 0, promoted.log
    assert registry_token.digest("api", "stable") == digest
    for run in (build, promoted):
        shown = [x for x in run.log.splitlines() if not x.startswith("::add-mask::")]
        assert not any(registry_token.password in x for x in [*shown, json.dumps(run.outputs)])
