"""`image-tags`: docker/metadata-action's tags, labels, annotations and bake files.

Same inputs, same outputs for the same event; plus `context: git` outside
GitHub and `preset` rule sets. The logic lives in `ci_actions.tags`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ci_actions.errors import ConfigError, InputError
from ci_actions.github.context import Context
from ci_actions.github.inputs import ActionSpec, InputSpec, OutputSpec, RawInputs
from ci_actions.result import Result

if TYPE_CHECKING:
    from ci_actions.tags.meta import Meta

SPEC = ActionSpec(
    name="image-tags",
    description="Image tags, OCI labels, annotations and bake files from the event, as docker/metadata-action computes them.",
    inputs=(
        InputSpec(
            "context",
            "Where the ref, sha and commit date come from: `workflow` (the GitHub event) or `git` (the local checkout).",
            "workflow",
        ),
        InputSpec(
            "images", "Image names, one per line (`name=…,enable=…` also accepted).", kind="text"
        ),
        InputSpec(
            "tags",
            "Tag rules, one per line: `type=schedule|semver|pep440|match|edge|ref|raw|sha` with attributes.",
            kind="text",
        ),
        InputSpec(
            "flavor",
            "Global tag options: `latest=auto|true|false`, `prefix=`, `suffix=`, `onlatest=`.",
            kind="text",
        ),
        InputSpec(
            "labels",
            "Extra labels, one `key=value` per line; they override the OCI labels.",
            kind="text",
        ),
        InputSpec(
            "annotations",
            "Extra annotations, one `key=value` per line; they override the OCI ones.",
            kind="text",
        ),
        InputSpec("sep-tags", "Separator of the tags output (default a newline).", kind="text"),
        InputSpec("sep-labels", "Separator of the labels output (default a newline).", kind="text"),
        InputSpec(
            "sep-annotations",
            "Separator of the annotations output (default a newline).",
            kind="text",
        ),
        InputSpec("bake-target", "Target name in the bake files.", "docker-metadata-action"),
        InputSpec(
            "github-token",
            "Token to read the repository data (description, license) from the GitHub API.",
            "${{ github.token }}",
            secret=True,
        ),
        InputSpec(
            "preset",
            "A named rule set added before `tags`: `multi` or `gitflow` (see the README).",
        ),
    ),
    outputs=(
        OutputSpec("version", "The image version: the first tag produced."),
        OutputSpec("tags", "Full image references, one per tag and image."),
        OutputSpec("tag-names", "The tags without image names."),
        OutputSpec("labels", "OCI and custom labels, `key=value`."),
        OutputSpec("annotations", "Annotations, `level:key=value`."),
        OutputSpec("json", "Tags, tag names, labels and annotations as one JSON object."),
        OutputSpec("bake-file-tags", "Path of a bake file with the tags."),
        OutputSpec("bake-file-labels", "Path of a bake file with the labels."),
        OutputSpec("bake-file-annotations", "Path of a bake file with the annotations."),
        OutputSpec("bake-file", "Path of a bake file with the tags and labels."),
    ),
    icon="tag",
)

_ENV_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_ENV_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


@dataclass(frozen=True)
class ImageTagsInputs:
    context: str
    images: tuple[str, ...]
    tags: tuple[str, ...]
    flavor: tuple[str, ...]
    labels: tuple[str, ...]
    annotations: tuple[str, ...]
    sep_tags: str
    sep_labels: str
    sep_annotations: str
    bake_target: str
    github_token: str
    preset: str


def parse_inputs(raw: RawInputs) -> ImageTagsInputs:
    from ci_actions.tags.presets import PRESETS
    from ci_actions.tags.rules import RuleError, split_list

    def lines(name: str) -> tuple[str, ...]:
        try:
            return tuple(split_list(raw.raw_text(name)))
        except RuleError as exc:
            raise InputError(name, f"{exc} in line {exc.line!r}") from None

    preset = raw.text("preset")
    if preset and preset not in PRESETS:
        raise InputError("preset", f"{preset!r} is not a preset", hint="use multi or gitflow")
    return ImageTagsInputs(
        context=raw.choice("context", ("workflow", "git")) if raw.text("context") else "workflow",
        images=lines("images"),
        tags=lines("tags"),
        flavor=lines("flavor"),
        labels=lines("labels"),
        annotations=lines("annotations"),
        sep_tags=raw.raw_text("sep-tags") or "\n",
        sep_labels=raw.raw_text("sep-labels") or "\n",
        sep_annotations=raw.raw_text("sep-annotations") or "\n",
        bake_target=raw.text("bake-target") or "docker-metadata-action",
        github_token=raw.text("github-token"),
        preset=preset,
    )


def _short_sha_length(ctx: Context) -> int:
    value = ctx.environ.get("DOCKER_METADATA_SHORT_SHA_LENGTH", "")
    if not value:
        return 7
    try:
        number = float(value.strip() or "0")
    except ValueError:
        raise ConfigError(
            f"DOCKER_METADATA_SHORT_SHA_LENGTH is not a number: {value!r}",
            hint="set it to a whole number such as 12",
        ) from None
    if number != number:  # NaN
        raise ConfigError(f"DOCKER_METADATA_SHORT_SHA_LENGTH is not a number: {value!r}")
    return int(min(max(number, 0), 1000))  # like String.substring: clamped, truncated


def _export_env(ctx: Context) -> bool:
    value = ctx.environ.get("DOCKER_METADATA_SET_OUTPUT_ENV", "")
    if not value or value in _ENV_TRUE:
        return True
    if value in _ENV_FALSE:
        return False
    raise ConfigError(
        f"DOCKER_METADATA_SET_OUTPUT_ENV is not a boolean: {value!r}", hint="use true or false"
    )


def run(inputs: ImageTagsInputs, ctx: Context) -> Result:
    from ci_actions.tags import presets, sources
    from ci_actions.tags.meta import ExpressionError, Meta, MetaInputs, js_json
    from ci_actions.tags.rules import RuleError

    short_sha_length, export_env = _short_sha_length(ctx), _export_env(ctx)
    api = sources.GitHubApi(ctx, inputs.github_token)
    workdir = Path(ctx.github.workspace or ctx.cwd)
    if inputs.context == "git" or _outside_github(ctx, workdir):
        from ci_actions.git import Git

        git = Git(workdir)
        if not git.is_repo():
            raise InputError(
                "context", f"{workdir} is not a git checkout", hint="run it inside a clone"
            )
        if inputs.context != "git":
            ctx.log.info("no GitHub event here: reading the ref and commit from the checkout")
        event, fallback = sources.git_context(ctx, git)
    else:
        event = sources.workflow_context(ctx, api)
        fallback = sources.repo_from_event(event.payload)
    repo = sources.fetch_repo(ctx, api, fallback) if ctx.github.repository else fallback
    with ctx.log.group("Context info"):
        for key, value in (
            ("eventName", event.event_name),
            ("sha", event.sha),
            ("ref", event.ref),
            ("commitDate", event.commit_date.isoformat()),
        ):
            ctx.log.info(f"{key}: {value}")

    tags = list(inputs.tags)
    if inputs.preset:
        tags = presets.expand(inputs.preset, event.ref, repo.default_branch) + tags
    levels = (ctx.environ.get("DOCKER_METADATA_ANNOTATIONS_LEVELS") or "manifest").split(",")
    meta_inputs = MetaInputs(
        images=inputs.images,
        tags=tags,
        flavor=inputs.flavor,
        labels=inputs.labels,
        annotations=inputs.annotations,
        bake_target=inputs.bake_target,
        short_sha_length=short_sha_length,
    )
    try:
        meta = Meta(meta_inputs, event, repo, ctx.now())
        outputs = _outputs(meta, inputs, levels, ctx)
    except RuleError as exc:
        name = _input_of(exc.line, inputs)
        raise InputError(name, f"{exc} in line {exc.line!r}") from None
    except ExpressionError as exc:
        raise InputError(
            exc.input_name, str(exc), hint="see the expressions in the README"
        ) from None
    for warning in meta.warnings:
        ctx.log.warning(warning)
    if not meta.version.main:
        ctx.log.warning("No Docker image version has been generated. Check tags input.")
    if not outputs["tags"]:
        ctx.log.warning("No Docker tag has been generated. Check tags input.")
    with ctx.log.group("Docker tags"):
        for tag in meta.tags():
            ctx.log.info(tag)
    with ctx.log.group("JSON output"):
        ctx.log.info(js_json(meta.json_output(levels), indent=2))
    env: dict[str, str] = {}
    if export_env:
        env = {
            "DOCKER_METADATA_OUTPUT_" + re.sub(r"\W", "_", name).upper(): value
            for name, value in outputs.items()
        }
    return Result(
        outputs=dict(outputs),
        env=env,
        summary=_summary(meta.version.main or "", meta.tags()),
        message=f"version {meta.version.main or '(none)'}, {len(meta.tags())} tag(s)",
    )


def _outside_github(ctx: Context, workdir: Path) -> bool:
    """No event at all (a laptop): the checkout is the only context there is."""
    from ci_actions.git import Git

    gh = ctx.github
    return not (gh.in_runner or gh.event_name or gh.ref or gh.sha) and Git(workdir).is_repo()


def _input_of(line: str, inputs: ImageTagsInputs) -> str:
    for name, lines in (
        ("images", inputs.images),
        ("flavor", inputs.flavor),
        ("tags", inputs.tags),
    ):
        if line in lines:
            return name
    return "tags"


def _outputs(
    meta: Meta, inputs: ImageTagsInputs, levels: list[str], ctx: Context
) -> dict[str, str]:
    from ci_actions.tags.meta import js_json

    outputs = {
        "version": meta.version.main or "",
        "tags": inputs.sep_tags.join(meta.tags()),
        "tag-names": inputs.sep_tags.join(meta.tags(names_only=True)),
        "labels": inputs.sep_labels.join(meta.labels()),
        "annotations": inputs.sep_annotations.join(meta.leveled_annotations(levels)),
        "json": js_json(meta.json_output(levels)),
    }
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="image-tags-", dir=_temp_base(ctx)))
    for suffix, content in meta.bake_files(levels).items():
        path = folder / f"docker-metadata-action-bake{'-' + suffix if suffix else ''}.json"
        path.write_text(content, encoding="utf-8")
        outputs[f"bake-file-{suffix}" if suffix else "bake-file"] = str(path)
    return outputs


def _temp_base(ctx: Context) -> Path:
    base = ctx.temp_dir()
    base.mkdir(parents=True, exist_ok=True)
    return base


def _summary(version: str, tags: list[str]) -> str:
    lines = ["### Image tags", "", f"Version: `{version or '(none)'}`", ""]
    lines += [f"- `{tag}`" for tag in tags] or ["No tag was generated."]
    return "\n".join(lines) + "\n"
