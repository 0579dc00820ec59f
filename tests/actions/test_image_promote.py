"""image-promote through the CLI against a real docker-registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.registry import Registry, free_port


def test_promote_tag_to_new_tags_without_uploading(tmp_path: Path, registry: Registry) -> None:
    digest = registry.upload_image("team/api", "sha-abc1234")
    uploads = registry.blob_uploads()
    run = invoke(
        tmp_path,
        "image-promote",
        [
            "--source", f"{registry.host}/team/api:sha-abc1234",
            "--tags", "stable\nprod, v1.2",
            "--insecure", "true",
        ],
    )  # fmt: skip
    assert run.code == 0, run.log
    assert run.outputs["digest"] == digest
    assert run.outputs["tags"].splitlines() == [
        f"{registry.host}/team/api:{t}" for t in ("stable", "prod", "v1.2")
    ]
    assert registry.tags("team/api") == ["prod", "sha-abc1234", "stable", "v1.2"]
    assert {registry.digest("team/api", t) for t in ("stable", "prod", "v1.2")} == {digest}
    assert registry.blob_uploads() == uploads
    assert digest in run.summary


def test_rollback_moves_a_tag_back_by_digest(tmp_path: Path, registry: Registry) -> None:
    old = registry.upload_image("api", "1.0", b"old")
    new = registry.upload_image("api", "1.1", b"new")
    invoke(tmp_path, "image-promote", ["--source", "api:1.1", "--registry", registry.host, "--tags", "stable", "--insecure", "true"])  # fmt: skip
    assert registry.digest("api", "stable") == new
    run = invoke(
        tmp_path,
        "image-promote",
        ["--source", f"api@{old}", "--registry", registry.host, "--tags", "stable", "--insecure", "true"],
    )  # fmt: skip
    assert run.code == 0, run.log
    assert registry.digest("api", "stable") == old


def test_promote_into_another_repository(tmp_path: Path, registry: Registry) -> None:
    digest = registry.upload_image("ci/api", "build-7", docker=True)
    run = invoke(
        tmp_path,
        "image-promote",
        ["--source", f"{registry.host}/ci/api:build-7", "--tags", "release/api:1.0", "--insecure", "true"],
    )  # fmt: skip
    assert run.code == 0, run.log
    assert registry.digest("release/api", "1.0") == digest
    assert run.outputs["tags"] == f"{registry.host}/release/api:1.0"


def test_missing_source_is_exit_2(tmp_path: Path, registry: Registry) -> None:
    registry.upload_image("api", "1.0")
    run = invoke(
        tmp_path,
        "image-promote",
        ["--source", f"{registry.host}/api:9.9", "--tags", "stable", "--insecure", "true"],
    )
    assert run.code == 2, run.log
    assert "input 'source'" in run.log
    assert "MANIFEST_UNKNOWN" in run.log  # the registry's own words
    assert registry.tags("api") == ["1.0"]


def test_basic_auth_and_refusal(tmp_path: Path, registry_auth: Registry) -> None:
    digest = registry_auth.upload_image("api", "1.0")
    base = ["--source", f"{registry_auth.host}/api:1.0", "--tags", "stable", "--insecure", "true"]
    ok = invoke(
        tmp_path,
        "image-promote",
        [*base, "--username", registry_auth.username, "--password", registry_auth.password],
    )
    assert ok.code == 0, ok.log
    assert registry_auth.digest("api", "stable") == digest

    refused = invoke(
        tmp_path, "image-promote", [*base, "--username", "ci", "--password", "Not-The-Pa55"]
    )
    assert refused.code == 3, refused.log
    assert "UNAUTHORIZED" in refused.log
    lines = [line for line in refused.log.splitlines() if not line.startswith("::add-mask::")]
    assert not any("Not-The-Pa55" in line for line in [*lines, *refused.outputs.values()])

    anonymous = invoke(tmp_path, "image-promote", base)
    assert anonymous.code == 3
    assert "asks for a username and password" in anonymous.log


def test_unreachable_registry_is_exit_3(tmp_path: Path) -> None:
    run = invoke(
        tmp_path,
        "image-promote",
        ["--source", f"127.0.0.1:{free_port()}/api:1.0", "--tags", "stable", "--insecure", "true"],
    )
    assert run.code == 3
    assert "unreachable" in run.log
    assert set(run.outputs) == {"digest", "tags"}


@pytest.mark.parametrize(
    ("args", "input_name"),
    [
        (["--source", "r:5000/api:1", "--tags", "bad tag"], "tags"),
        (["--source", "r:5000/api:1", "--tags", ".hidden"], "tags"),
        (["--source", "r:5000/api:1", "--tags", "other.example.com/api:1"], "tags"),
        (["--source", "r:5000/api:1", "--tags", "api@sha256:" + "a" * 64], "tags"),
        (["--source", "r:5000/api", "--tags", "stable"], "source"),
        (["--source", "r:5000/API:1", "--tags", "stable"], "source"),
        (["--source", "r:5000/api:1", "--tags", "stable", "--insecure", "yes"], "insecure"),
        (["--source", "r:5000/api:1", "--tags", "stable", "--password", "p4ss"], "username"),
        (["--tags", "stable"], "source"),
    ],
)
def test_bad_input_is_exit_2(tmp_path: Path, args: list[str], input_name: str) -> None:
    run = invoke(tmp_path, "image-promote", args)
    assert run.code == 2, run.log
    assert f"input '{input_name}'" in run.log


def test_outputs_as_json_outside_a_runner(tmp_path: Path, registry: Registry) -> None:
    digest = registry.upload_image("api", "1.0")
    run = invoke(
        tmp_path,
        "image-promote",
        [
            "--source",
            f"{registry.host}/api:1.0",
            "--tags",
            "stable",
            "--insecure",
            "true",
            "--json",
        ],
        runner=False,
    )
    assert run.code == 0, run.log
    assert json.loads(run.stdout)["digest"] == digest


def test_interrupted_promotion_is_exit_3_and_changes_nothing(
    tmp_path: Path, registry: Registry
) -> None:
    from tests.support.cutting_proxy import CuttingProxy

    digest = registry.upload_image("api", "1.0")
    with CuttingProxy(registry.port, b"PUT /v2/") as proxy:
        run = invoke(
            tmp_path,
            "image-promote",
            ["--source", f"{proxy.host}/api:1.0", "--tags", "stable", "--insecure", "true"],
        )
    assert proxy.cuts >= 1
    assert run.code == 3, run.log
    assert "unreachable" in run.log and "Connection" in run.log
    assert registry.tags("api") == ["1.0"]
    assert registry.digest("api", "1.0") == digest
