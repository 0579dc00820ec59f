"""`image-promote`: add tags to an image already in the registry, by digest, without a rebuild."""

from __future__ import annotations

from dataclasses import dataclass

from ci_actions.builders.inputs import image_ref
from ci_actions.errors import InputError
from ci_actions.github.context import Context
from ci_actions.github.inputs import ActionSpec, InputSpec, OutputSpec, RawInputs
from ci_actions.imageref import ImageRef, is_valid_tag
from ci_actions.result import Result

SPEC = ActionSpec(
    name="image-promote",
    description="Add tags to an existing image through the registry API (no rebuild, no Docker): promote sha-abc to stable, or move a tag back for a rollback.",
    inputs=(
        InputSpec(
            "source",
            "The image to promote: [REGISTRY/]NAME:TAG or [REGISTRY/]NAME@sha256:DIGEST.",
            required=True,
            kind="image",
        ),
        InputSpec(
            "tags",
            "New tags, newline or comma list: a bare TAG (same repository), or [REGISTRY/]NAME:TAG (another repository of the same registry).",
            required=True,
            kind="text",
        ),
        InputSpec(
            "registry", "Registry host[:port], when source does not name one.", kind="operand"
        ),
        InputSpec("username", "Registry username."),
        InputSpec("password", "Registry password or token (masked).", secret=True),
        InputSpec(
            "insecure",
            "The registry is plain http or has a self-signed certificate.",
            "false",
        ),
    ),
    outputs=(
        OutputSpec("digest", "Digest every new tag points at (the source's)."),
        OutputSpec("tags", "The full references tagged, newline-separated."),
    ),
    icon="tag",
)


@dataclass(frozen=True)
class ImagePromoteInputs:
    source: ImageRef
    targets: tuple[ImageRef, ...]
    username: str
    password: str
    insecure: bool


def parse_inputs(raw: RawInputs) -> ImagePromoteInputs:
    source = image_ref("source", raw.text("source"), registry=raw.text("registry"))
    if not source.tag and not source.digest:
        raise InputError(
            "source", f"{source} names no tag or digest", hint="e.g. registry:5000/app:sha-abc"
        )
    targets = []
    for item in raw.items("tags", commas=True):
        if not any(c in item for c in ":/@"):
            if not is_valid_tag(item):
                raise InputError(
                    "tags",
                    f"{item!r} is not a valid tag",
                    hint="[A-Za-z0-9_.-], up to 128, not starting with . or -",
                )
            targets.append(source.with_tag(item))
            continue
        target = image_ref("tags", item, registry=source.registry)
        if target.digest or not target.tag:
            raise InputError("tags", f"{item!r} must be NAME:TAG (no digest)")
        if target.registry != source.registry:
            raise InputError(
                "tags",
                f"{item!r} is in registry {target.registry}, the source in {source.registry}",
                hint="promotion stays in one registry; copy across registries with skopeo copy",
            )
        targets.append(target)
    if not targets:
        raise InputError("tags", "no tags given", hint="e.g. stable")
    username, password = raw.text("username"), raw.text("password")
    if bool(username) != bool(password):
        raise InputError(
            "username" if password else "password", "username and password go together"
        )
    return ImagePromoteInputs(source, tuple(targets), username, password, raw.flag("insecure"))


def run(inputs: ImagePromoteInputs, ctx: Context) -> Result:
    from ci_actions.registry.auth import Credentials
    from ci_actions.registry.client import RegistryClient, Retry
    from ci_actions.registry.promote import SourceMissing, Target, promote

    source = inputs.source
    creds = Credentials(inputs.username, inputs.password) if inputs.username else None
    client = RegistryClient(
        source.registry, credentials=creds, insecure=inputs.insecure, retry=Retry(rng=ctx.rng)
    )
    targets = [Target(t.repository, t.tag) for t in inputs.targets]
    try:
        done = promote(client, source.repository, source.digest or source.tag, targets)
    except SourceMissing as exc:
        raise InputError(
            "source",
            f"{source} does not exist: {exc.message}",
            hint="promote a tag or digest that was pushed",
        ) from None
    tagged = [str(t) for t in inputs.targets]
    for ref in tagged:
        ctx.log.info(f"{ref} -> {done.digest}")
    if done.mounted:
        ctx.log.info(f"{len(done.mounted)} blob(s) mounted across repositories")
    return Result(
        outputs={"digest": done.digest, "tags": "\n".join(tagged)},
        summary=summary(str(source), done.digest, tagged, len(done.mounted)),
        message=f"{len(tagged)} tag(s) now point at {done.digest}",
    )


def summary(source: str, digest: str, tagged: list[str], mounted: int) -> str:
    lines = ["### Image promote", "", f"`{source}` is `{digest}`; no rebuild, no upload."]
    if mounted:
        lines[-1] += f" {mounted} blob(s) mounted from the source repository."
    lines += ["", "| new tag |", "|---|", *(f"| `{ref}` |" for ref in tagged)]
    return "\n".join(lines) + "\n"
