"""Golden command lines for every builder (the docker ones cannot run here: no engine)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ci_actions.builders import commands as cmd
from tests.support.golden import assert_golden, assert_golden_entry

TAGS = ("127.0.0.1:5000/team/api:sha-abc1234", "127.0.0.1:5000/team/api:main")
FULL = cmd.BuildRequest(
    context="/src",
    file="/src/Dockerfile",
    tags=TAGS,
    labels=("org.opencontainers.image.revision=abc1234",),
    annotations=("org.opencontainers.image.source=https://example.com/team/api",),
    build_args=("PYTHON_VERSION=3.12",),
    target="runtime",
    platforms=("linux/amd64", "linux/arm64"),
    secrets=(cmd.Secret("pip_token", "/tmp/s/secret-0"),),
    push=True,
    no_cache=True,
    pull=True,
    cache_from=("type=registry,ref=127.0.0.1:5000/team/api:buildcache",),
    cache_to=("type=registry,ref=127.0.0.1:5000/team/api:buildcache,mode=max",),
    insecure_registries=("127.0.0.1:5000",),
)
VFS = cmd.StorageOptions("vfs", "chroot")
MINIMAL = cmd.BuildRequest(context="/src", file="/src/Dockerfile", tags=())


def test_buildkitd_config_marks_each_insecure_registry() -> None:
    text = cmd.buildkitd_config(["127.0.0.1:5000", "registry.internal:8443"])
    assert_golden("image-build/buildkitd.toml", text)


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        (
            "docker-full",
            lambda: cmd.docker_build_argv(
                FULL, builder="ci-actions-1", metadata_file="/tmp/s/metadata.json"
            ),
        ),
        (
            "docker-minimal",
            lambda: cmd.docker_build_argv(replace(MINIMAL, load=True)),
        ),
        (
            "buildah-full",
            lambda: cmd.oci_build_argv(
                "buildah",
                replace(FULL, platforms=()),
                VFS,
                tls_verify=False,
                iidfile="/tmp/s/image-id",
            ),
        ),
        (
            "podman-multi-platform",
            lambda: cmd.oci_build_argv(
                "podman",
                cmd.BuildRequest(
                    "/src", "/src/Dockerfile", TAGS, platforms=("linux/amd64", "linux/arm64")
                ),
                cmd.StorageOptions(),
            ),
        ),
        (
            "buildah-push-insecure",
            lambda: cmd.oci_push_argv("buildah", replace(FULL, platforms=()), TAGS[1], VFS),
        ),
        (
            "podman-push-list",
            lambda: cmd.oci_push_argv(
                "podman",
                cmd.BuildRequest(
                    "/src", "/src/Dockerfile", TAGS, platforms=("linux/amd64", "linux/arm64")
                ),
                "ghcr.io/team/api:main",
                cmd.StorageOptions(),
            ),
        ),
        (
            "buildah-login",
            lambda: cmd.oci_login_argv("buildah", "127.0.0.1:5000", "ci", tls_verify=False),
        ),
        ("docker-login", lambda: cmd.docker_login_argv("ghcr.io", "ci")),
        ("buildah-manifest-rm", lambda: cmd.oci_manifest_rm_argv("buildah", FULL, VFS)),
        ("buildx-create", lambda: cmd.buildx_create_argv("ci-actions-1", "/tmp/s/buildkitd.toml")),
    ],
)
def test_golden_argv(name: str, argv: object) -> None:
    assert callable(argv)
    assert_golden_entry("image-build/argv.json", name, argv())


def test_no_password_option_in_any_login() -> None:
    for argv in (
        cmd.oci_login_argv("podman", "r:5000", "u", tls_verify=True),
        cmd.docker_login_argv("r:5000", "u"),
    ):
        assert "--password-stdin" in argv
        assert not any(a in ("-p", "--password") or a.startswith("--password=") for a in argv)


@pytest.mark.parametrize(
    ("dockerfile", "cache", "insecure"),
    [
        ("FROM scratch\nCOPY a /a\n", (), False),
        ("FROM 127.0.0.1:5000/base:1 AS build\nFROM scratch\n", (), True),
        ("from --platform=$BUILDPLATFORM 127.0.0.1:5000/base:1\n", (), True),
        ("FROM docker.io/library/python:3.12-slim\n", (), False),
        ("FROM scratch\n", ("127.0.0.1:5000/team/cache",), True),
        ("FROM scratch\n", ("type=registry,ref=ghcr.io/team/cache:x",), False),
    ],
)
def test_build_reads_from_insecure_registry(
    dockerfile: str, cache: tuple[str, ...], insecure: bool
) -> None:
    req = cmd.BuildRequest(
        "/src", "/src/Dockerfile", (), cache_from=cache, insecure_registries=("127.0.0.1:5000",)
    )
    assert cmd.pulls_from_insecure(dockerfile, req) is insecure
