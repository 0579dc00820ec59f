"""image-build with real buildah (vfs, chroot) pushing to a real docker-registry."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import CliRun, invoke
from tests.support.registry import Registry, free_port
from tests.support.tools import needs, require

FIXTURES = Path(__file__).parents[1] / "fixtures" / "image-build"
BUILDAH_ENV = {"STORAGE_DRIVER": "vfs", "BUILDAH_ISOLATION": "chroot"}
ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

pytestmark = needs("buildah")


def build(tmp: Path, *args: str, env: dict[str, str] | None = None) -> CliRun:
    return invoke(tmp, "image-build", args, env={**BUILDAH_ENV, **(env or {})})


def manifest(registry: Registry, repo: str, ref: str) -> dict[str, object]:
    resp = registry.get(f"/v2/{repo}/manifests/{ref}", Accept=ACCEPT)
    resp.raise_for_status()
    data: dict[str, object] = resp.json()
    return data


def test_multistage_build_pushes_every_tag_on_one_digest(
    tmp_path: Path, registry: Registry
) -> None:
    tags = [f"{registry.host}/team/api:{t}" for t in ("sha-abc1234", "main", "latest")]
    run = build(
        tmp_path,
        "--context", str(FIXTURES / "multistage"),
        "--tags", "\n".join(tags),
        "--build-args", "VERSION=1.2.3",
        "--labels", "org.opencontainers.image.revision=abc1234",
        "--push", "true",
        "--insecure-registries", registry.host,
    )  # fmt: skip
    assert run.code == 0, run.log
    assert "builder: buildah" in run.log  # auto: a docker client but no engine here
    digest = run.outputs["digest"]
    assert registry.tags("team/api") == ["latest", "main", "sha-abc1234"]
    assert {registry.digest("team/api", t) for t in ("sha-abc1234", "main", "latest")} == {digest}
    assert run.outputs["image-ref"] == f"{registry.host}/team/api@{digest}"
    assert run.outputs["tags"].splitlines() == tags

    doc = manifest(registry, "team/api", digest)
    layers = doc["layers"]
    assert isinstance(layers, list) and len(layers) == 1  # only the runtime stage ships
    # Three tags, one upload of each blob (config + one layer).
    assert registry.blob_uploads() == 2

    config_digest = doc["config"]["digest"]  # type: ignore[index]
    config = registry.get(f"/v2/team/api/blobs/{config_digest}").json()
    assert config["config"]["Labels"]["org.opencontainers.image.version"] == "1.2.3"
    assert config["config"]["Labels"]["org.opencontainers.image.revision"] == "abc1234"

    meta = json.loads(run.outputs["metadata"])
    assert meta["builder"] == "buildah"
    assert meta["digest"] == digest
    assert meta["tags"] == tags
    expected_size = sum(int(p["size"]) for p in [doc["config"], *layers])  # type: ignore[index]
    assert meta["size"] == expected_size
    assert meta["build-seconds"] > 0
    assert digest in run.summary


def test_target_stage_and_no_push(tmp_path: Path, registry: Registry) -> None:
    run = build(
        tmp_path,
        "--context", str(FIXTURES / "multistage"),
        "--target", "assets",
        "--tags", f"{registry.host}/team/assets:1",
        "--insecure-registries", registry.host,
    )  # fmt: skip
    assert run.code == 0, run.log
    assert run.outputs["digest"] == ""
    assert run.outputs["image-ref"] == ""
    assert json.loads(run.outputs["metadata"])["image-id"]
    assert registry.tags("team/assets") == []


def test_basic_auth_password_never_printed(tmp_path: Path, registry_auth: Registry) -> None:
    password = registry_auth.password
    tag = f"{registry_auth.host}/app:1"
    run = build(
        tmp_path,
        "--context", str(FIXTURES / "simple"),
        "--tags", f"{tag}\n{registry_auth.host}/app:stable",
        "--push", "true",
        "--username", registry_auth.username,
        "--password", password,
        "--secrets", "pip_token=tok-very-secret-123",
        "--insecure-registries", registry_auth.host,
        "--debug",
    )  # fmt: skip
    assert run.code == 0, run.log
    assert registry_auth.digest("app", "stable") == run.outputs["digest"]
    assert "--password-stdin" in run.log
    everything = run.log + run.summary + json.dumps(run.outputs) + run.env_file
    masked = [line for line in everything.splitlines() if line.startswith("::add-mask::")]
    assert f"::add-mask::{password}" in masked
    assert "::add-mask::tok-very-secret-123" in masked
    # The runner swallows ::add-mask:: commands; every other line must be clean.
    for line in set(everything.splitlines()) - set(masked):
        assert password not in line
        assert "tok-very-secret-123" not in line


def test_login_never_lands_in_the_users_auth_files(
    tmp_path: Path, registry_auth: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # buildah's defaults: $XDG_RUNTIME_DIR/containers/auth.json, then
    # ~/.config/containers/auth.json and ~/.docker/config.json for lookups.
    home, runtime, runner_temp = tmp_path / "home", tmp_path / "run", tmp_path / "runner-temp"
    for folder in (home, runtime, runner_temp):
        folder.mkdir(mode=0o700)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    run = build(
        tmp_path / "job",
        "--context", str(FIXTURES / "simple"),
        "--tags", f"{registry_auth.host}/app:1",
        "--push", "true",
        "--username", registry_auth.username,
        "--password", registry_auth.password,
        "--insecure-registries", registry_auth.host,
        env={"RUNNER_TEMP": str(runner_temp)},
    )  # fmt: skip
    assert run.code == 0, run.log
    token = base64.b64encode(f"{registry_auth.username}:{registry_auth.password}".encode()).decode()
    for folder in (home, runtime, runner_temp):
        for path in folder.rglob("*"):
            if path.is_file():
                text = path.read_text(errors="replace")
                assert token not in text and registry_auth.password not in text, path
    assert list(runner_temp.iterdir()) == []


def test_refused_password_is_exit_3_with_the_registry_error(
    tmp_path: Path, registry_auth: Registry
) -> None:
    run = build(
        tmp_path,
        "--context", str(FIXTURES / "simple"),
        "--tags", f"{registry_auth.host}/app:1",
        "--push", "true",
        "--username", registry_auth.username,
        "--password", "Wrong-Pa55word",
        "--insecure-registries", registry_auth.host,
    )  # fmt: skip
    assert run.code == 3, run.log
    assert "invalid username/password" in run.log  # the registry's refusal, as buildah relays it
    shown = [line for line in run.log.splitlines() if not line.startswith("::add-mask::")]
    assert not any("Wrong-Pa55word" in line for line in [*shown, *run.outputs.values()])
    assert registry_auth.tags("app") == []


def test_unreachable_registry_is_exit_3(tmp_path: Path) -> None:
    host = f"127.0.0.1:{free_port()}"
    run = build(
        tmp_path,
        "--context", str(FIXTURES / "simple"),
        "--tags", f"{host}/app:1",
        "--push", "true",
        "--insecure-registries", host,
    )  # fmt: skip
    assert run.code == 3, run.log
    assert "connection refused" in run.log.lower()
    for name in ("digest", "image-ref", "tags", "metadata"):
        assert name in run.outputs  # every output written, even on failure


@pytest.mark.parametrize(
    ("args", "input_name"),
    [
        (["--tags", "127.0.0.1:5000/app:bad tag!"], "tags"),
        (["--tags", "127.0.0.1:5000/app:-leading-dash"], "tags"),
        (["--tags", "127.0.0.1:5000/App:1"], "tags"),
        (["--tags", "127.0.0.1:5000/app:" + "x" * 129], "tags"),
        (["--push", "true"], "tags"),
        (["--push", "maybe", "--tags", "r:5000/a:1"], "push"),
        (["--tags", "r:5000/a:1", "--file", "nope/Dockerfile"], "file"),
        (["--tags", "r:5000/a:1", "--context", "no-such-dir"], "context"),
        (["--tags", "r:5000/a:1", "--build-args", "NOEQUALS"], "build-args"),
        (["--tags", "r:5000/a:1", "--username", "ci"], "password"),
        (["--tags", "r:5000/a:1", "--builder", "kaniko"], "builder"),
    ],
)
def test_bad_input_is_exit_2_naming_it(tmp_path: Path, args: list[str], input_name: str) -> None:
    context = tmp_path / "ctx"
    shutil.copytree(FIXTURES / "simple", context)
    run = invoke(tmp_path, "image-build", ["--context", str(context), *args], env=BUILDAH_ENV)
    assert run.code == 2, run.log
    assert f"input '{input_name}'" in run.log


def test_no_builder_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    run = build(tmp_path, "--context", str(FIXTURES / "simple"), "--tags", "r:5000/a:1")
    assert run.code == 3, run.log
    assert "no builder available" in run.log
    assert "buildah" in run.log  # the hint says what to install


def test_push_interrupted_midway_is_exit_3(tmp_path: Path, registry: Registry) -> None:
    from tests.support.cutting_proxy import CuttingProxy

    with CuttingProxy(registry.port, b"PUT /v2/") as proxy:
        run = build(
            tmp_path,
            "--context", str(FIXTURES / "simple"),
            "--tags", f"{proxy.host}/app:1",
            "--push", "true",
            "--insecure-registries", proxy.host,
        )  # fmt: skip
    assert proxy.cuts >= 1
    assert run.code == 3, run.log
    assert f"buildah push {proxy.host}/app:1" in run.log
    assert "connection reset by peer" in run.log.lower() or "eof" in run.log.lower()
    assert registry.tags("app") == []


def test_docker_builder_without_engine_is_exit_3(tmp_path: Path) -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker client on this host")
    if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        pytest.skip("a Docker engine answers here")
    run = build(
        tmp_path,
        "--builder",
        "docker",
        "--context",
        str(FIXTURES / "simple"),
        "--tags",
        "r:5000/a:1",
    )
    assert run.code == 3, run.log
    assert "no Docker engine is reachable" in run.log


def test_multistage_with_registry_cache(tmp_path: Path, registry: Registry) -> None:
    context = tmp_path / "ctx"
    shutil.copytree(FIXTURES / "multistage", context)
    (context / "app.txt").write_text(f"unique to this test run: {registry.port}\n")
    cache = f"{registry.host}/team/api-cache"
    args = [
        "--context", str(context),
        "--tags", f"{registry.host}/team/api:1",
        "--push", "true",
        "--cache-from", cache,
        "--cache-to", f"type=registry,ref={cache}:buildcache",  # buildx's form, repository taken
        "--insecure-registries", registry.host,
    ]  # fmt: skip
    first = build(tmp_path / "first", *args)
    assert first.code == 0, first.log
    assert "--layers" in first.log
    assert "Pushing cache" in first.log
    assert registry.tags("team/api-cache")  # one tag per cached step

    second = build(tmp_path / "second", *args)
    assert second.code == 0, second.log
    assert "Using cache" in second.log
    assert second.outputs["digest"] == first.outputs["digest"]


def test_multi_platform_pushes_one_index_under_every_tag(
    tmp_path: Path, registry: Registry
) -> None:
    args = [
        "--context", str(FIXTURES / "multistage"),
        "--tags", f"{registry.host}/multi/app:1, {registry.host}/multi/app:latest",
        "--platforms", "linux/amd64,linux/arm64",
        "--push", "true",
        "--insecure-registries", registry.host,
    ]  # fmt: skip
    for attempt in ("first", "again"):  # a second run must not add to the first run's list
        run = build(tmp_path / attempt, *args)
        assert run.code == 0, run.log
        digest = run.outputs["digest"]
        assert {registry.digest("multi/app", t) for t in ("1", "latest")} == {digest}
        index = registry.get(
            f"/v2/multi/app/manifests/{digest}",
            Accept="application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json",
        ).json()
        platforms = sorted(m["platform"]["architecture"] for m in index["manifests"])
        assert platforms == ["amd64", "arm64"]


def _blob_text(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def test_build_secret_is_mounted_and_kept_out_of_image_and_logs(
    tmp_path: Path, registry: Registry
) -> None:
    busybox = require("busybox")
    context = tmp_path / "ctx"
    shutil.copytree(FIXTURES / "secret", context)
    shutil.copy(busybox, context / "busybox")
    args = ["--context", str(context), "--push", "true", "--insecure-registries", registry.host]

    wrong = build(
        tmp_path / "wrong",
        *args,
        "--tags",
        f"{registry.host}/app:wrong",
        "--secrets",
        "token=not-it",
    )
    assert wrong.code == 3, wrong.log  # the RUN step checks the value: the mount is real

    run = build(
        tmp_path / "right",
        *args,
        "--tags", f"{registry.host}/app:1",
        "--secrets", "token=tok-very-secret-123",
    )  # fmt: skip
    assert run.code == 0, run.log
    secret = b"tok-very-secret-123"
    doc = manifest(registry, "app", run.outputs["digest"])
    blobs = [doc["config"], *doc["layers"]]  # type: ignore[list-item]
    assert len(blobs) == 2  # config and one layer (buildah without --layers commits once)
    for blob in blobs:
        data = _blob_text(registry.get(f"/v2/app/blobs/{blob['digest']}").content)  # type: ignore[index]
        assert secret not in data
    assert any(
        b"checked" in _blob_text(registry.get(f"/v2/app/blobs/{b['digest']}").content)
        for b in blobs
    )  # type: ignore[index]
    shown = [line for line in run.log.splitlines() if not line.startswith("::add-mask::")]
    assert not any(secret.decode() in line for line in shown)
    assert not list(tmp_path.glob("**/secret-*"))  # the secret files are gone
