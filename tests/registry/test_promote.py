"""The registry client and promotion against a real docker-registry on 127.0.0.1."""

from __future__ import annotations

import pytest

from ci_actions.registry.auth import Credentials
from ci_actions.registry.client import AuthFailed, NotFound, RegistryClient, RegistryUnreachable
from ci_actions.registry.promote import Target, promote
from tests.support.registry import Registry, free_port


def client_for(registry: Registry, **kw: object) -> RegistryClient:
    return RegistryClient(registry.host, insecure=True, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("docker", [False, True], ids=["oci-manifest", "docker-v2-manifest"])
def test_promote_in_same_repository_keeps_digest_and_uploads_nothing(
    registry: Registry, docker: bool
) -> None:
    digest = registry.upload_image("team/app", "sha-abc", docker=docker)
    uploads = registry.blob_uploads()

    done = promote(
        client_for(registry),
        "team/app",
        "sha-abc",
        [Target("team/app", "stable"), Target("team/app", "v1")],
    )

    assert done.digest == digest
    assert registry.tags("team/app") == ["sha-abc", "stable", "v1"]
    assert registry.digest("team/app", "stable") == digest
    assert registry.digest("team/app", "v1") == digest
    assert registry.blob_uploads() == uploads
    assert done.mounted == []


def test_promote_by_digest(registry: Registry) -> None:
    digest = registry.upload_image("app", "build-1")
    promote(client_for(registry), "app", digest, [Target("app", "prod")])
    assert registry.digest("app", "prod") == digest


@pytest.mark.parametrize("docker", [False, True], ids=["oci-index", "docker-manifest-list"])
def test_promote_a_list_into_another_repository_mounts_children_and_blobs(
    registry: Registry, docker: bool
) -> None:
    amd = registry.upload_image("build/app", "amd", b"amd64 layer", docker=docker)
    arm = registry.upload_image("build/app", "arm", b"arm64 layer", docker=docker)
    index = registry.upload_index("build/app", "multi", [amd, arm], docker=docker)
    uploads = registry.blob_uploads()

    done = promote(client_for(registry), "build/app", "multi", [Target("release/app", "1.0")])

    assert done.digest == index
    assert registry.digest("release/app", "1.0") == index
    for child in (amd, arm):  # the children are there by digest
        assert registry.digest("release/app", child) == child
    assert len(done.mounted) == 3  # one config both images share, two layers
    assert registry.blob_uploads() == uploads  # mounted, not uploaded again


def test_missing_source_is_not_found(registry: Registry) -> None:
    registry.upload_image("app", "1.0")
    with pytest.raises(NotFound, match="MANIFEST_UNKNOWN"):
        promote(client_for(registry), "app", "nope", [Target("app", "stable")])
    with pytest.raises(NotFound):
        promote(client_for(registry), "other", "1.0", [Target("other", "stable")])
    assert registry.tags("app") == ["1.0"]


def test_basic_auth(registry_auth: Registry) -> None:
    digest = registry_auth.upload_image("app", "1.0")
    good = Credentials(registry_auth.username, registry_auth.password)
    promote(client_for(registry_auth, credentials=good), "app", "1.0", [Target("app", "stable")])
    assert registry_auth.digest("app", "stable") == digest

    with pytest.raises(AuthFailed, match="UNAUTHORIZED") as refused:
        promote(
            client_for(registry_auth, credentials=Credentials("ci", "wrong")),
            "app",
            "1.0",
            [Target("app", "x")],
        )
    assert "wrong" not in str(refused.value)
    with pytest.raises(AuthFailed, match="username and password"):
        client_for(registry_auth).get_manifest("app", "1.0")
    assert registry_auth.tags("app") == ["1.0", "stable"]


def test_unreachable_registry() -> None:
    client = RegistryClient(f"127.0.0.1:{free_port()}", insecure=True, timeout=2)
    with pytest.raises(RegistryUnreachable, match="unreachable"):
        client.get_manifest("app", "1.0")


def test_secure_client_refuses_plain_http(registry: Registry) -> None:
    with pytest.raises(RegistryUnreachable):
        RegistryClient(registry.host, timeout=2).ping()


def test_blobs_are_copied_when_the_registry_declines_the_mount(registry: Registry) -> None:
    from tests.support.cutting_proxy import CuttingProxy

    digest = registry.upload_image("build/app", "1", b"layer bytes")
    uploads = registry.blob_uploads()
    with CuttingProxy(registry.port, rewrite=(b"?mount=", b"?nomount=")) as proxy:
        done = promote(
            RegistryClient(proxy.host, insecure=True),
            "build/app",
            "1",
            [Target("release/app", "1")],
        )
    assert proxy.rewrites == 2  # config and layer: each mount asked for, each declined
    assert registry.digest("release/app", "1") == digest
    assert registry.blob_uploads("release/app") == 2  # copied instead
    assert registry.blob_uploads() == uploads + 2
    assert len(done.mounted) == 2
    layer = registry.get(f"/v2/release/app/blobs/{done.mounted[-1]}")
    assert layer.content == b"layer bytes"
