"""`image-build`: one build, every tag pushed, the digest read back from the registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ci_actions.builders import commands as cmd
from ci_actions.builders.inputs import image_ref, key_values
from ci_actions.errors import InputError
from ci_actions.github.context import Context
from ci_actions.github.inputs import ActionSpec, InputSpec, OutputSpec, RawInputs
from ci_actions.imageref import ImageRefError
from ci_actions.result import Result

SPEC = ActionSpec(
    name="image-build",
    description="Build a container image once and push it under every tag (docker buildx, buildah or podman); the digest is read back from the registry.",
    inputs=(
        InputSpec(
            "builder",
            "auto, docker, buildah or podman. auto: docker when `docker info` answers, else buildah, else podman.",
            "auto",
        ),
        InputSpec("context", "Build context directory.", ".", kind="operand"),
        InputSpec("file", "Dockerfile path (default: Dockerfile in the context).", kind="operand"),
        InputSpec(
            "tags",
            "Full image references to tag and push, newline or comma list (e.g. the tags output of image-tags).",
            kind="text",
        ),
        InputSpec("labels", "Image labels, KEY=VALUE a line.", kind="text"),
        InputSpec("annotations", "OCI annotations, KEY=VALUE a line.", kind="text"),
        InputSpec("build-args", "Build arguments, KEY=VALUE a line.", kind="text"),
        InputSpec("target", "Build stage to stop at (multi-stage Dockerfiles).", kind="operand"),
        InputSpec(
            "platforms",
            "Target platforms, e.g. linux/amd64,linux/arm64 (newline or comma list).",
            kind="text",
        ),
        InputSpec(
            "secrets",
            "Build secrets, ID=VALUE a line; mounted with RUN --mount=type=secret,id=ID; never in the image or the logs.",
            secret=True,
            kind="text",
        ),
        InputSpec("push", "Push every tag to its registry.", "false"),
        InputSpec(
            "load",
            "docker: load the result into the local engine (buildah/podman keep it locally anyway).",
            "false",
        ),
        InputSpec("no-cache", "Build without any cache.", "false"),
        InputSpec("pull", "Always pull the base images.", "false"),
        InputSpec(
            "cache-from",
            "Registry cache sources: buildx `type=registry,ref=REPO:TAG`, or a repository (buildah/podman use --layers with it).",
            kind="text",
        ),
        InputSpec(
            "cache-to", "Registry cache destinations, same forms as cache-from.", kind="text"
        ),
        InputSpec(
            "registry",
            "Registry to log in to (default: the registry of the first tag).",
            kind="operand",
        ),
        InputSpec("username", "Registry username."),
        InputSpec(
            "password",
            "Registry password or token; masked, given to the builder on stdin, never on a command line.",
            secret=True,
        ),
        InputSpec(
            "insecure-registries",
            "Registries (host:port) reached over plain http or with self-signed certificates, newline or comma list.",
            kind="text",
        ),
    ),
    outputs=(
        OutputSpec(
            "digest", "Digest of the pushed image, as the registry reports it (empty without push)."
        ),
        OutputSpec("image-ref", "NAME@DIGEST of the pushed image (empty without push)."),
        OutputSpec("tags", "The tags built (and pushed), newline-separated."),
        OutputSpec(
            "metadata",
            "JSON: builder, command (the build command run: `docker buildx build`, `docker build`, ...), digest, image-id, tags, size, build-seconds, push-seconds.",
        ),
    ),
    icon="package",
)


@dataclass(frozen=True)
class ImageBuildInputs:
    builder: str
    request: cmd.BuildRequest
    secrets: dict[str, str]
    registry: str
    username: str
    password: str


def _caches(raw: RawInputs, name: str) -> tuple[str, ...]:
    """Cache references; each must name a repository (buildah needs one)."""
    values = tuple(raw.items(name))
    for value in values:
        try:
            cmd.cache_repository(value)
        except ImageRefError as exc:
            raise InputError(
                name, f"{value!r} names no repository: {exc}", hint="e.g. type=registry,ref=R:tag"
            ) from None
    return values


def parse_inputs(raw: RawInputs) -> ImageBuildInputs:
    insecure = tuple(raw.items("insecure-registries", commas=True))
    tags = tuple(str(image_ref("tags", t)) for t in raw.items("tags", commas=True))
    push = raw.flag("push")
    if push and not tags:
        raise InputError(
            "tags", "is empty but push is true", hint="give at least one REGISTRY/NAME:TAG"
        )
    username, password = raw.text("username"), raw.text("password")
    if bool(username) != bool(password):
        raise InputError(
            "username" if password else "password",
            "username and password go together",
            hint="set both, or neither for an anonymous registry",
        )
    registry = raw.text("registry") or (image_ref("tags", tags[0]).registry if tags else "")
    if username and not registry:
        raise InputError("registry", "no registry to log in to", hint="set registry or tags")
    secrets = dict(key_values("secrets", raw.items("secrets")))
    request = cmd.BuildRequest(
        context=raw.text("context") or ".",
        file=raw.text("file"),
        tags=tags,
        labels=tuple(f"{k}={v}" for k, v in key_values("labels", raw.items("labels"))),
        annotations=tuple(
            f"{k}={v}" for k, v in key_values("annotations", raw.items("annotations"))
        ),
        build_args=tuple(f"{k}={v}" for k, v in key_values("build-args", raw.items("build-args"))),
        target=raw.text("target"),
        platforms=tuple(raw.items("platforms", commas=True)),
        push=push,
        load=raw.flag("load"),
        no_cache=raw.flag("no-cache"),
        pull=raw.flag("pull"),
        cache_from=_caches(raw, "cache-from"),
        cache_to=_caches(raw, "cache-to"),
        insecure_registries=insecure,
    )
    return ImageBuildInputs(
        builder=raw.choice("builder", ("auto", *cmd.BUILDERS)),
        request=request,
        secrets=secrets,
        registry=registry,
        username=username,
        password=password,
    )


def _resolve_paths(request: cmd.BuildRequest, cwd: Path) -> cmd.BuildRequest:
    from dataclasses import replace

    context = cwd / request.context  # an absolute path stays as it is
    if not context.is_dir():
        raise InputError(
            "context", f"{context} is not a directory", hint="point it at the build context"
        )
    file = cwd / request.file if request.file else context / "Dockerfile"
    if not file.is_file():
        raise InputError("file", f"{file} does not exist", hint="set file to the Dockerfile's path")
    return replace(request, context=str(context), file=str(file))


def run(inputs: ImageBuildInputs, ctx: Context) -> Result:
    from ci_actions import proc
    from ci_actions.builders.execute import Execution, Login, build_and_push, user_docker_config
    from ci_actions.builders.select import choose_builder
    from ci_actions.registry.client import Retry

    ctx.log.mask([v for v in inputs.secrets.values() if v])
    request = _resolve_paths(inputs.request, ctx.cwd)

    def docker_ready() -> bool:
        try:
            return proc.run(["docker", "info"], ok_codes=None, timeout=20).returncode == 0
        except proc.ProcessTimeout:
            return False

    builder = choose_builder(inputs.builder, docker_ready=docker_ready, which=proc.which)
    ctx.log.info(f"builder: {builder}")
    storage = cmd.StorageOptions(
        ctx.environ.get("STORAGE_DRIVER", ""), ctx.environ.get("BUILDAH_ISOLATION", "")
    )
    execution = Execution(
        builder,
        storage,
        ctx.log,
        ctx.temp_dir(),
        docker_config=user_docker_config(ctx.environ),
        retry=Retry(rng=ctx.rng),
    )
    login = Login(inputs.registry, inputs.username, inputs.password) if inputs.username else None
    outcome = build_and_push(request, execution, secret_values=inputs.secrets, login=login)
    image_ref = f"{image_name(request.tags[0])}@{outcome.digest}" if outcome.digest else ""
    metadata = {
        "builder": outcome.builder,
        "command": outcome.command,
        "digest": outcome.digest,
        "image-id": outcome.image_id,
        "tags": outcome.tags,
        "size": outcome.size,
        "build-seconds": round(outcome.build_seconds, 3),
        "push-seconds": round(outcome.push_seconds, 3),
    }
    return Result(
        outputs={
            "digest": outcome.digest,
            "image-ref": image_ref,
            "tags": "\n".join(outcome.tags),
            "metadata": metadata,
        },
        summary=summary(metadata, outcome.tags, request.push),
        message=f"built with {outcome.command or builder}"
        + (f", pushed {len(outcome.tags)} tag(s) as {outcome.digest}" if request.push else ""),
    )


def image_name(tag: str) -> str:
    return image_ref("tags", tag).name


def summary(metadata: dict[str, object], tags: list[str], pushed: bool) -> str:
    lines = [
        "### Image build",
        "",
        f"Builder `{metadata['builder']}`, build {metadata['build-seconds']}s"
        + (f", push {metadata['push-seconds']}s" if pushed else " (not pushed)"),
    ]
    if pushed:
        lines += ["", f"Digest `{metadata['digest']}` ({metadata['size']} bytes)"]
    lines += ["", "| tag |", "|---|", *(f"| `{t}` |" for t in tags)]
    return "\n".join(lines) + "\n"
