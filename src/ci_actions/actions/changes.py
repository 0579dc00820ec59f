"""`changes`: which files changed between base and head, docs-only, named filters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ci_actions.errors import ConfigError, InputError
from ci_actions.git import EOO, ZERO_SHA, Git
from ci_actions.github.context import Context
from ci_actions.github.inputs import ActionSpec, InputSpec, OutputSpec, RawInputs
from ci_actions.pathfilter import PathFilter, classify, parse_filters
from ci_actions.result import Result
from ci_actions.services import FILE as SERVICES_FILE

if TYPE_CHECKING:
    from ci_actions.services.model import Service

DEFAULT_DOCS_GLOBS = "**/*.md\n**/*.rst\ndocs/**\nimg/**\nimages/**\nscreenshots/**\nLICENSE*\n.github/ISSUE_TEMPLATE/**"
SHALLOW_HINT = "check out with actions/checkout `fetch-depth: 0` so both commits are present"
DEEPEN_STEPS = (50, 200, 1000)

SPEC = ActionSpec(
    name="changes",
    description="Classify the files changed between two commits: docs-only, and named path filters.",
    inputs=(
        InputSpec(
            "base",
            "Base commit or ref. Default from the event: push `before`, pull request base, else the parent of head.",
            kind="rev",
        ),
        InputSpec(
            "head",
            "Head commit or ref. Default from the event: push `after`, pull request head, else GITHUB_SHA or HEAD.",
            kind="rev",
        ),
        InputSpec(
            "docs-globs",
            "Globs of documentation files (newline-separated, `!` excludes); when every changed file matches, `docs-only` is true.",
            DEFAULT_DOCS_GLOBS,
            kind="text",
        ),
        InputSpec(
            "filters",
            "YAML mapping of filter name to a list of globs (`!` excludes); each name becomes a true/false output.",
            kind="text",
        ),
        InputSpec(
            "services",
            f"The repository's services as YAML (the `services:` section of `{SERVICES_FILE}`, "
            "or the list alone); overrides that file. Empty: the file when it exists, else none.",
            kind="text",
        ),
        InputSpec(
            "all-services",
            "true: every service changed, whatever the files (a tag push and a manual run "
            "select them all anyway).",
            "false",
        ),
        InputSpec("working-directory", "The git checkout to inspect.", "."),
    ),
    outputs=(
        OutputSpec(
            "docs-only", "true when something changed and every changed file is documentation."
        ),
        OutputSpec("any-changed", "true when at least one file changed."),
        OutputSpec("changed-files", "JSON list of the changed paths."),
        OutputSpec(
            "filters",
            "JSON object of filter name to true/false (composite actions cannot declare per-name outputs; use fromJSON).",
        ),
        OutputSpec("matched-filters", "JSON list of the names of the filters that matched."),
        OutputSpec(
            "changed-services",
            "JSON list of the names of the services the change touches, in declaration order "
            "(`[]` without services).",
        ),
        OutputSpec(
            "matrix",
            'JSON `{"include": [...]}`, one entry per changed service (name, context, dockerfile, '
            "image, paths, environments), for `strategy.matrix` through fromJSON; guard the "
            "job with `changed-services != '[]'`.",
        ),
        OutputSpec(
            "base", "The base commit compared (full SHA; empty when head is a root commit)."
        ),
        OutputSpec("head", "The head commit compared (full SHA)."),
    ),
    icon="filter",
)


@dataclass(frozen=True)
class ChangesInputs:
    base: str
    head: str
    docs_globs: tuple[str, ...]
    filters: tuple[PathFilter, ...]
    working_directory: Path
    services: object = None  # the `services` input as parsed YAML; None: the file, if any
    all_services: bool = False


def parse_inputs(raw: RawInputs) -> ChangesInputs:
    try:
        filters = parse_filters(_yaml(raw, "filters"))
    except ValueError as exc:
        raise InputError(
            "filters", str(exc), hint="e.g.  backend: ['src/**', '!src/**/*.md']"
        ) from None
    for f in filters:
        if f.name in {o.name for o in SPEC.outputs}:
            raise InputError(
                "filters", f"filter name {f.name!r} clashes with an output of the same name"
            )
    return ChangesInputs(
        base=raw.text("base"),
        head=raw.text("head"),
        docs_globs=tuple(raw.items("docs-globs")),
        filters=tuple(filters),
        working_directory=Path(raw.text("working-directory") or "."),
        services=_yaml(raw, "services"),
        all_services=raw.flag("all-services"),
    )


def _yaml(raw: RawInputs, name: str) -> object:
    """A YAML input; an empty one costs no YAML parser start-up."""
    return raw.yaml(name) if raw.raw_text(name).strip() else None


@dataclass(frozen=True)
class Range:
    base: str  # "" = head is the first commit: everything in it changed
    head: str
    three_dot: bool = False  # compare from the merge base (pull requests)


def event_range(ctx: Context) -> tuple[str, str, bool]:
    """(base, head, three_dot) as the event describes them; empty strings when it does not."""
    gh = ctx.github
    event = gh.event
    if gh.event_name in ("pull_request", "pull_request_target"):
        pr = event.get("pull_request") or {}
        return (pr.get("base") or {}).get("sha", ""), (pr.get("head") or {}).get("sha", ""), True
    if gh.event_name == "push":
        return str(event.get("before") or ""), str(event.get("after") or gh.sha), False
    return "", gh.sha, False


def quick_range(git: Git, inputs: ChangesInputs, ctx: Context) -> Range | None:
    """The range in one `git rev-parse` when both commits are already here (the usual
    case: a full checkout); None sends the caller down resolve_range's careful path
    (a new branch, a root commit, a shallow clone, a missing commit or repository)."""
    ev_base, ev_head, three_dot = event_range(ctx)
    head_ref = inputs.head or ev_head or "HEAD"
    base_ref = inputs.base or ev_base or f"{head_ref}^"
    if base_ref == ZERO_SHA or head_ref.startswith("-") or base_ref.startswith("-"):
        return None
    done = git.run(
        "rev-parse", f"{head_ref}^{{commit}}", f"{base_ref}^{{commit}}", "--", ok_codes=None
    )
    shas = done.stdout.split()
    if done.returncode != 0 or len(shas) != 3 or not all(_HEX.fullmatch(s) for s in shas[:2]):
        return None
    head, base = shas[0], shas[1]
    if three_dot:
        base = _merge_base(git, base, head)
    return Range(base, head, three_dot)


_HEX = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def resolve_range(git: Git, inputs: ChangesInputs, ctx: Context) -> Range:
    ev_base, ev_head, three_dot = event_range(ctx)
    head_ref = inputs.head or ev_head or "HEAD"
    head = _resolve(git, head_ref, "head")
    base_ref = inputs.base or ev_base
    if base_ref and base_ref != ZERO_SHA:
        base = _resolve(git, base_ref, "base")
        if three_dot:
            base = _merge_base(git, base, head)
        return Range(base, head, three_dot)
    if base_ref == ZERO_SHA:  # a new branch: compare with the default branch when we have it
        default = ctx.github.default_branch
        for candidate in (f"origin/{default}", default) if default else ():
            if git.has_commit(candidate):
                merge_base = git.merge_base(candidate, head)
                if merge_base and merge_base != head:
                    return Range(merge_base, head)
    parent = f"{head}^"
    if git.has_commit(parent):
        return Range(git.rev_parse(parent), head)
    if git.is_shallow():
        _deepen(git, head)
        if git.has_commit(parent):
            return Range(git.rev_parse(parent), head)
    return Range("", head)


def _resolve(git: Git, ref: str, name: str) -> str:
    if git.has_commit(ref):
        return git.rev_parse(ref)
    if "origin" in git.remotes():
        # A shallow checkout may lack the commit: ask the remote for it alone.
        git.run("fetch", "--no-tags", "--quiet", "--depth=1", EOO, "origin", ref, ok_codes=None)
        if git.has_commit(ref):
            return git.rev_parse(ref)
    hint = SHALLOW_HINT if git.is_shallow() else "give a commit SHA, branch or tag that exists"
    raise InputError(name, f"{ref!r} is not a commit in {git.repo}", hint=hint)


def _merge_base(git: Git, base: str, head: str) -> str:
    merge_base = git.merge_base(base, head)
    if merge_base:
        return merge_base
    if git.is_shallow():
        for depth in DEEPEN_STEPS:
            git.run("fetch", "--no-tags", "--quiet", f"--deepen={depth}", "origin", ok_codes=None)
            merge_base = git.merge_base(base, head)
            if merge_base:
                return merge_base
        raise ConfigError(
            f"no merge base of {base[:12]} and {head[:12]} in this shallow clone", hint=SHALLOW_HINT
        )
    return base  # unrelated histories: compare the trees directly


def _deepen(git: Git, head: str) -> None:
    if "origin" in git.remotes():
        git.run("fetch", "--no-tags", "--quiet", "--deepen=1", "origin", ok_codes=None)


def run(inputs: ChangesInputs, ctx: Context) -> Result:
    workdir = ctx.cwd / inputs.working_directory  # an absolute path stays as it is
    git = Git(workdir)
    rng = quick_range(git, inputs, ctx) if workdir.is_dir() else None
    if rng is None:
        if not workdir.is_dir() or not git.is_repo():
            raise InputError(
                "working-directory",
                f"{workdir} is not a git checkout",
                hint="run actions/checkout first or point it at one",
            )
        rng = resolve_range(git, inputs, ctx)
    files = git.changed_files(rng.base, rng.head) if rng.base else git.files_in_commit(rng.head)
    found = classify(files, inputs.docs_globs, inputs.filters)
    ctx.log.info(
        f"{len(files)} file(s) changed {rng.base[:12] or '(root)'}..{rng.head[:12]}; docs-only={str(found.docs_only).lower()}"
    )
    with ctx.log.group("changed files"):
        for path in files:
            ctx.log.info(path)
    flags = {name: bool(paths) for name, paths in found.matched.items()}
    services = load_services(inputs, workdir)
    changed: list[Service] = []
    build: dict[str, list[dict[str, object]]] = {"include": []}
    if services:  # without services none of their code is loaded: the one-image case as before
        from ci_actions.services.select import matrix, select

        why_all = _selects_all(inputs, ctx)
        changed = select(services, files, inputs.docs_globs, everything=bool(why_all))
        build = matrix(changed)
        names = ", ".join(s.name for s in changed) or "none"
        ctx.log.info(f"changed services: {names}" + (f" ({why_all})" if why_all else ""))
    outputs: dict[str, object] = {
        "docs-only": found.docs_only,
        "any-changed": found.any_changed,
        "changed-files": list(files),
        "filters": flags,
        "matched-filters": [name for name, hit in flags.items() if hit],
        "changed-services": [s.name for s in changed],
        "matrix": build,
        "base": rng.base,
        "head": rng.head,
        **flags,  # per-name outputs, readable when the CLI runs as a step of its own
    }
    summary = _summary(rng, found.docs_only, files, flags) + _services_summary(services, changed)
    return Result(outputs=outputs, summary=summary)


def load_services(inputs: ChangesInputs, workdir: Path) -> tuple[Service, ...]:
    """The services: the input when given, else the checkout's services file, else none."""
    path = workdir / SERVICES_FILE
    if inputs.services is None and not path.is_file():
        return ()
    from ci_actions.services.model import ServicesError
    from ci_actions.services.parse import parse_services

    if inputs.services is not None:
        try:
            return parse_services(inputs.services, workdir)
        except ServicesError as exc:
            raise InputError("services", exc.message, hint=exc.hint) from None
    import yaml

    from ci_actions import yamlsafe

    try:
        data = yamlsafe.load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{SERVICES_FILE} is not valid YAML: {exc}") from None
    try:
        return parse_services(data, workdir)
    except ServicesError as exc:
        raise ConfigError(f"{SERVICES_FILE}: {exc.message}", hint=exc.hint) from None


def _selects_all(inputs: ChangesInputs, ctx: Context) -> str:
    """Why every service counts as changed, or "" when the files decide."""
    gh = ctx.github
    if inputs.all_services:
        return "all-services"
    if gh.event_name == "workflow_dispatch":
        return "a manual run"
    if gh.event_name == "push" and gh.ref.startswith("refs/tags/"):
        return f"a tag push ({gh.ref.removeprefix('refs/tags/')})"
    return ""


def _services_summary(services: tuple[Service, ...], changed: list[Service]) -> str:
    if not services:
        return ""
    hit = {s.name for s in changed}
    rows = [f"| {s.name} | `{s.image}` | {'yes' if s.name in hit else 'no'} |" for s in services]
    return "\n".join(["", "| service | image | changed |", "|---|---|---|", *rows]) + "\n"


def _summary(rng: Range, docs_only: bool, files: list[str], flags: dict[str, bool]) -> str:
    lines = [
        "### Changes",
        "",
        f"`{rng.base[:12] or '(root)'}..{rng.head[:12]}`: {len(files)} file(s) changed"
        + (", documentation only (build skipped)" if docs_only else ""),
    ]
    if flags:
        lines += ["", "| filter | changed |", "|---|---|"]
        lines += [f"| {name} | {'yes' if hit else 'no'} |" for name, hit in flags.items()]
    return "\n".join(lines) + "\n"
