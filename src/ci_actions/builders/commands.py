"""The command lines image-build runs, as pure functions of the request.

docker: `docker buildx build` (a docker-container builder with a buildkitd
config when some registry is insecure); without buildx, plain `docker build`
on the engine, then one `docker push` per tag (the engine knows which
registries are insecure). buildah and podman: `build`, then
one `push` per tag (the second and later pushes find every blob present and
upload only the manifest).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ci_actions.imageref import parse

BUILDERS = ("docker", "buildah", "podman")


@dataclass(frozen=True)
class Secret:
    id: str
    path: str  # a 0600 file holding the value; the value itself never reaches argv


@dataclass(frozen=True)
class BuildRequest:
    context: str
    file: str
    tags: tuple[str, ...]
    labels: tuple[str, ...] = ()
    annotations: tuple[str, ...] = ()
    build_args: tuple[str, ...] = ()
    target: str = ""
    platforms: tuple[str, ...] = ()
    secrets: tuple[Secret, ...] = ()
    push: bool = False
    load: bool = False
    no_cache: bool = False
    pull: bool = False
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()


@dataclass(frozen=True)
class StorageOptions:
    """buildah/podman global options (`--storage-driver vfs`, `--isolation chroot` on hosts without overlay or user namespaces)."""

    storage_driver: str = ""
    isolation: str = ""

    def global_args(self) -> list[str]:
        return ["--storage-driver", self.storage_driver] if self.storage_driver else []


def _repeat(flag: str, values: Iterable[str]) -> list[str]:
    return [arg for value in values for arg in (flag, value)]


def _described(req: BuildRequest, tags: Iterable[str]) -> list[str]:
    """What every builder takes alike: the Dockerfile, tags, metadata, target, platforms."""
    argv = ["--file", req.file]
    argv += _repeat("--tag", tags)
    argv += _repeat("--label", req.labels)
    argv += _repeat("--annotation", req.annotations)
    argv += _repeat("--build-arg", req.build_args)
    if req.target:
        argv += ["--target", req.target]
    if req.platforms:
        argv += ["--platform", ",".join(req.platforms)]
    return argv


def _secret_args(secrets: Iterable[Secret]) -> list[str]:
    return _repeat("--secret", (f"id={s.id},src={s.path}" for s in secrets))


# -- docker buildx -------------------------------------------------------------
def buildkitd_config(insecure_registries: Iterable[str]) -> str:
    """buildkitd.toml letting BuildKit push to and pull from plain-http / self-signed registries."""
    lines = ["# registries reached over plain http or with unverified certificates"]
    for host in insecure_registries:
        lines += ["", f'[registry."{host}"]', "  http = true", "  insecure = true"]
    return "\n".join(lines) + "\n"


def buildx_create_argv(name: str, config_path: str) -> list[str]:
    return [
        "docker",
        "buildx",
        "create",
        "--name",
        name,
        "--driver",
        "docker-container",
        "--config",
        config_path,
        "--bootstrap",
    ]


def buildx_remove_argv(name: str) -> list[str]:
    return ["docker", "buildx", "rm", "--force", name]


def docker_build_argv(
    req: BuildRequest, *, builder: str = "", metadata_file: str = ""
) -> list[str]:
    argv = ["docker", "buildx", "build"]
    if builder:
        argv += ["--builder", builder]
    argv += _described(req, req.tags)
    argv += _secret_args(req.secrets)
    argv += _repeat("--cache-from", req.cache_from)
    argv += _repeat("--cache-to", req.cache_to)
    if req.no_cache:
        argv.append("--no-cache")
    if req.pull:
        argv.append("--pull")
    if req.push:
        argv.append("--push")
    if req.load:
        argv.append("--load")
    if metadata_file:
        argv += ["--metadata-file", metadata_file]
    argv += ["--", req.context]  # operands from inputs come after `--`: never an option
    return argv


def buildx_only_inputs(req: BuildRequest) -> list[str]:
    """The inputs of `req` that plain `docker build` (no buildx) cannot honour."""
    needs = {
        "secrets": bool(req.secrets),
        "annotations": bool(req.annotations),
        "platforms (more than one)": len(req.platforms) > 1,
        "cache-from": bool(req.cache_from),
        "cache-to": bool(req.cache_to),
    }
    return [name for name, used in needs.items() if used]


def docker_plain_build_argv(req: BuildRequest, *, iidfile: str = "") -> list[str]:
    """`docker build` without buildx: the engine's own builder, tags land in the engine."""
    argv = ["docker", "build", "--file", req.file]
    argv += _repeat("--tag", req.tags)
    argv += _repeat("--label", req.labels)
    argv += _repeat("--build-arg", req.build_args)
    if req.target:
        argv += ["--target", req.target]
    if req.platforms:
        argv += ["--platform", req.platforms[0]]
    if req.no_cache:
        argv.append("--no-cache")
    if req.pull:
        argv.append("--pull")
    if iidfile:
        argv += ["--iidfile", iidfile]
    argv += ["--", req.context]
    return argv


def docker_push_argv(tag: str) -> list[str]:
    return ["docker", "push", "--", tag]


def docker_login_argv(registry: str, username: str) -> list[str]:
    return ["docker", "login", "--username", username, "--password-stdin", "--", registry]


# -- buildah / podman ------------------------------------------------------------
def cache_repository(value: str) -> str:
    """buildah wants a repository for --cache-from/--cache-to: accept buildx's `type=registry,ref=R:tag` too."""
    ref = value
    if "=" in value:
        fields = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
        ref = fields.get("ref", "")
    parsed = parse(ref)
    return parsed.name


def is_insecure(ref: str, insecure_registries: Iterable[str]) -> bool:
    return parse(ref).registry in set(insecure_registries)


_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE | re.MULTILINE)


def pulls_from_insecure(dockerfile: str, req: BuildRequest) -> bool:
    """Does the build read from an insecure registry (a FROM image or the cache)?"""
    refs = [m.group(1) for m in _FROM.finditer(dockerfile)]
    refs = [r for r in refs if r.lower() != "scratch" and "$" not in r]
    refs += [cache_repository(c) for c in (*req.cache_from, *req.cache_to)]
    return any(is_insecure(r, req.insecure_registries) for r in refs if _is_ref(r))


def _is_ref(text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def local_name(req: BuildRequest) -> str:
    """What the built image (or manifest list) is called in local storage."""
    return req.tags[0] if req.tags else "localhost/ci-actions-build:latest"


def oci_build_argv(
    tool: str,
    req: BuildRequest,
    storage: StorageOptions,
    *,
    tls_verify: bool = True,
    iidfile: str = "",
) -> list[str]:
    argv = [tool, *storage.global_args(), "build"]
    if storage.isolation:
        argv += ["--isolation", storage.isolation]
    multi = len(req.platforms) > 1
    argv += _described(req, () if multi else req.tags)
    if multi:  # one image per platform, gathered in a manifest list
        argv += ["--manifest", local_name(req)]
    argv += _secret_args(req.secrets)
    if req.cache_from or req.cache_to:
        argv.append("--layers")
    argv += _repeat("--cache-from", (cache_repository(c) for c in req.cache_from))
    argv += _repeat("--cache-to", (cache_repository(c) for c in req.cache_to))
    if req.no_cache:
        argv.append("--no-cache")
    if req.pull:
        argv.append("--pull=always")
    if not tls_verify:
        argv.append("--tls-verify=false")
    if iidfile and not multi:  # several platforms make several images: no one ID
        argv += ["--iidfile", iidfile]
    argv += ["--", req.context]
    return argv


def oci_manifest_rm_argv(tool: str, req: BuildRequest, storage: StorageOptions) -> list[str]:
    """Drop a manifest list left by an earlier build: `--manifest` would add to it."""
    return [tool, *storage.global_args(), "manifest", "rm", "--", local_name(req)]


def oci_push_argv(
    tool: str,
    req: BuildRequest,
    tag: str,
    storage: StorageOptions,
    *,
    digestfile: str = "",
) -> list[str]:
    multi = len(req.platforms) > 1
    argv = [tool, *storage.global_args()]
    argv += ["manifest", "push", "--all"] if multi else ["push"]
    if is_insecure(tag, req.insecure_registries):
        argv.append("--tls-verify=false")
    if digestfile:
        argv += ["--digestfile", digestfile]
    argv += ["--", local_name(req), f"docker://{tag}"]
    return argv


def oci_login_argv(tool: str, registry: str, username: str, *, tls_verify: bool) -> list[str]:
    argv = [tool, "login"]
    if not tls_verify:
        argv.append("--tls-verify=false")
    return [*argv, "--username", username, "--password-stdin", "--", registry]
