"""Run a build: log in (password on stdin), build once, push every tag, read the digest back.

A login never lands in the user's own configuration: docker gets a throw-away
DOCKER_CONFIG and buildah/podman a throw-away REGISTRY_AUTH_FILE, both in a 0700
scratch directory removed when the build ends, on error too.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from ci_actions import proc
from ci_actions.builders import commands as cmd
from ci_actions.errors import EnvironmentFailure, ToolNotFound
from ci_actions.github.runner import Runner
from ci_actions.imageref import parse
from ci_actions.registry.auth import Credentials
from ci_actions.registry.client import RegistryClient, RegistryError, Retry


@dataclass(frozen=True)
class Login:
    registry: str
    username: str
    password: str = field(repr=False)


@dataclass
class BuildOutcome:
    builder: str
    command: str = (
        ""  # the build command run: `docker buildx build`, `docker build`, `buildah build`
    )
    digest: str = ""  # of what was pushed, as the registry reports it
    image_id: str = ""
    tags: list[str] = field(default_factory=list)
    size: int = 0
    build_seconds: float = 0.0
    push_seconds: float = 0.0


@dataclass
class Execution:
    builder: str
    storage: cmd.StorageOptions
    log: Runner
    temp_root: Path
    env: dict[str, str] = field(default_factory=dict)  # extra env of every command
    docker_config: Path | None = None  # the user's own, whose settings (not logins) docker keeps
    retry: Retry = field(default_factory=Retry)  # of the registry read-back after a push

    def run(
        self, argv: Sequence[str], *, stdin: str | None = None, what: str = ""
    ) -> proc.Completed:
        self.log.info("$ " + shlex.join(argv))
        done = proc.run(argv, extra_env=self.env, stdin=stdin, what=what)
        output = (done.stdout + done.stderr).strip()
        if output:
            with self.log.group(what or argv[1]):
                self.log.info(output)
        return done


@contextmanager
def private_dir(root: Path) -> Iterator[Path]:
    """A 0700 scratch dir for secret files and the registry auth file, always removed."""
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="ci-actions-build-", dir=root))
    path.chmod(0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_secrets(folder: Path, values: Mapping[str, str]) -> tuple[cmd.Secret, ...]:
    secrets = []
    for index, (secret_id, value) in enumerate(values.items()):
        path = folder / f"secret-{index}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)
        secrets.append(cmd.Secret(secret_id, str(path)))
    return tuple(secrets)


def user_docker_config(environ: Mapping[str, str]) -> Path:
    """Where docker keeps the user's configuration: $DOCKER_CONFIG, else ~/.docker."""
    if environ.get("DOCKER_CONFIG"):
        return Path(environ["DOCKER_CONFIG"])
    return Path(environ.get("HOME") or Path.home()) / ".docker"


# Folders docker and buildx read and keep no registry credentials in: the CLI
# plugins (buildx itself may live there), builders made by setup-buildx, contexts.
_SHARED_FOLDERS = ("cli-plugins", "buildx", "contexts")


def throwaway_docker_config(scratch: Path, user_config: Path | None, login_registry: str) -> Path:
    """A DOCKER_CONFIG for one build: the user's settings and existing logins, but
    no credential store for the registry the build logs in to, so that `docker
    login` writes here and its credentials die with `scratch`."""
    path = scratch / "docker-config"
    path.mkdir(mode=0o700)
    settings: dict[str, object] = {}
    if user_config is not None:
        settings = _read_json_object(user_config / "config.json")
        for name in _SHARED_FOLDERS:
            if (user_config / name).is_dir():
                (path / name).symlink_to(user_config / name)
    settings.pop("credsStore", None)  # the default store of every registry
    helpers = settings.get("credHelpers")
    if isinstance(helpers, dict):
        helpers.pop(login_registry, None)
    fd = os.open(path / "config.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(settings, handle)
    return path


def _read_json_object(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def build_and_push(
    req: cmd.BuildRequest,
    execution: Execution,
    *,
    secret_values: Mapping[str, str],
    login: Login | None,
) -> BuildOutcome:
    with private_dir(execution.temp_root) as scratch:
        req = replace(req, secrets=write_secrets(scratch, secret_values))
        if execution.builder == "docker":
            config = throwaway_docker_config(
                scratch, execution.docker_config, login.registry if login else ""
            )
            ex = replace(execution, env={**execution.env, "DOCKER_CONFIG": str(config)})
            return _docker(req, ex, scratch, login)
        authfile = scratch / "auth.json"  # credentials die with the step
        authfile.write_text("{}\n", encoding="utf-8")
        ex = replace(execution, env={**execution.env, "REGISTRY_AUTH_FILE": str(authfile)})
        return _oci(req, ex, scratch, login)


def _oci(req: cmd.BuildRequest, ex: Execution, scratch: Path, login: Login | None) -> BuildOutcome:
    tool = ex.builder
    if login:
        tls = login.registry not in req.insecure_registries
        ex.run(
            cmd.oci_login_argv(tool, login.registry, login.username, tls_verify=tls),
            stdin=login.password,
            what=f"{tool} login {login.registry}",
        )
    dockerfile = Path(req.file).read_text(encoding="utf-8", errors="replace")
    if len(req.platforms) > 1:
        proc.run(cmd.oci_manifest_rm_argv(tool, req, ex.storage), extra_env=ex.env, ok_codes=None)
    iidfile = scratch / "image-id"
    started = time.monotonic()
    ex.run(
        cmd.oci_build_argv(
            tool,
            req,
            ex.storage,
            tls_verify=not cmd.pulls_from_insecure(dockerfile, req),
            iidfile=str(iidfile),
        ),
        what=f"{tool} build",
    )
    outcome = BuildOutcome(tool, f"{tool} build", build_seconds=time.monotonic() - started)
    outcome.image_id = _read(iidfile)
    if not req.push:
        outcome.tags = list(req.tags)
        return outcome
    started = time.monotonic()
    for tag in req.tags:
        ex.run(cmd.oci_push_argv(tool, req, tag, ex.storage), what=f"{tool} push {tag}")
    outcome.push_seconds = time.monotonic() - started
    outcome.tags = list(req.tags)
    outcome.digest, outcome.size = read_back(req.tags, req.insecure_registries, login, ex.retry)
    return outcome


def has_buildx(ex: Execution) -> bool:
    return (
        proc.run(["docker", "buildx", "version"], extra_env=ex.env, ok_codes=None).returncode == 0
    )


def _docker(
    req: cmd.BuildRequest, ex: Execution, scratch: Path, login: Login | None
) -> BuildOutcome:
    buildx = has_buildx(ex)
    if not buildx:
        needs = cmd.buildx_only_inputs(req)
        if needs:
            raise ToolNotFound(
                f"builder 'docker': {', '.join(needs)} need(s) docker buildx, which is not installed",
                hint="install docker-buildx, or use builder: buildah / podman",
            )
    if login:
        ex.run(
            cmd.docker_login_argv(login.registry, login.username),
            stdin=login.password,
            what=f"docker login {login.registry}",
        )
    if not buildx:
        ex.log.info("docker: buildx is not installed; building with plain `docker build`")
        return _docker_plain(
            req, replace(ex, env={**ex.env, "DOCKER_BUILDKIT": "0"}), scratch, login
        )
    builder = ""
    if req.insecure_registries:
        builder = f"ci-actions-{os.getpid()}"
        config = scratch / "buildkitd.toml"
        config.write_text(cmd.buildkitd_config(req.insecure_registries), encoding="utf-8")
        ex.run(cmd.buildx_create_argv(builder, str(config)), what="docker buildx create")
    try:
        started = time.monotonic()
        ex.run(
            cmd.docker_build_argv(
                req, builder=builder, metadata_file=str(scratch / "metadata.json")
            ),
            what="docker buildx build",
        )
        outcome = BuildOutcome(
            "docker",
            "docker buildx build",
            build_seconds=time.monotonic() - started,
            tags=list(req.tags),
        )
    finally:
        if builder:
            proc.run(cmd.buildx_remove_argv(builder), extra_env=ex.env, ok_codes=None)
    if req.push:
        outcome.digest, outcome.size = read_back(req.tags, req.insecure_registries, login, ex.retry)
    return outcome


def _docker_plain(
    req: cmd.BuildRequest, ex: Execution, scratch: Path, login: Login | None
) -> BuildOutcome:
    """`docker build` into the engine, then `docker push` of each tag: the engine pushes
    one image, so every tag lands on one digest (read back from the registry)."""
    iidfile = scratch / "image-id"
    started = time.monotonic()
    ex.run(cmd.docker_plain_build_argv(req, iidfile=str(iidfile)), what="docker build")
    outcome = BuildOutcome("docker", "docker build", build_seconds=time.monotonic() - started)
    outcome.image_id = _read(iidfile)
    outcome.tags = list(req.tags)
    if not req.push:
        return outcome
    started = time.monotonic()
    for tag in req.tags:
        ex.run(cmd.docker_push_argv(tag), what=f"docker push {tag}")
    outcome.push_seconds = time.monotonic() - started
    outcome.digest, outcome.size = read_back(req.tags, req.insecure_registries, login)
    return outcome


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""


def read_back(
    tags: Sequence[str],
    insecure_registries: Sequence[str],
    login: Login | None,
    retry: Retry | None = None,
) -> tuple[str, int]:
    """The one digest every pushed tag has in its registry, and the image size."""
    clients: dict[str, RegistryClient] = {}
    digests: dict[str, str] = {}
    for tag in tags:
        ref = parse(tag)
        host = ref.registry
        if host not in clients:
            creds = (
                Credentials(login.username, login.password)
                if login and login.registry == host
                else None
            )
            clients[host] = RegistryClient(
                host, credentials=creds, insecure=host in insecure_registries, retry=retry
            )
        found = clients[host].head_manifest(ref.repository, ref.tag or "latest")
        if not found:
            raise RegistryError(f"registry {host}: {tag} is missing after the push")
        digests[tag] = found
    distinct = sorted(set(digests.values()))
    if len(distinct) != 1:
        listing = ", ".join(f"{t}={d}" for t, d in digests.items())
        raise EnvironmentFailure(f"the pushed tags do not share one digest: {listing}")
    first = parse(tags[0])
    manifest = clients[first.registry].get_manifest(first.repository, distinct[0])
    size = manifest.size()
    for child in manifest.children():
        size += clients[first.registry].get_manifest(first.repository, child).size()
    return distinct[0], size
