"""What the repository's own workflows already do, for `ci-actions init` to keep or name.

`read(root)` parses .github/workflows/*.y*ml (the bounded loader; files init
wrote itself are skipped) and returns `Existing`: the values the rendered
pipeline carries over (platforms, a registry cache, a login with the job's
token, release branches and tag patterns, docker/metadata-action tag rules,
linter commands), and one line for each thing it does not carry over or
that will keep happening beside it (another workflow pushing the image).
Pure apart from reading those files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# docker/build-push-action's cache forms image-build reads: a registry cache
REGISTRY_CACHE = re.compile(r"type=registry,.*\bref=\S+")
ENV_EXPR = re.compile(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
BUILT_IN_TOKEN = re.compile(r"\$\{\{\s*(secrets\.GITHUB_TOKEN|github\.token)\s*\}\}")
VERSION_COMMANDS = re.compile(r"\bgit\s+describe\b|\bsetuptools[-_]scm\b|\bversioneer\b")
PUSH_COMMANDS = re.compile(r"\b(docker|podman|buildah)\s+(push|buildx\s+build\b.*--push)")
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
# contexts of another job that mean nothing (or something else) in the rendered pipeline's jobs
LOCAL_CONTEXTS = re.compile(r"\b(env|matrix|steps|needs|inputs|secrets|job|jobs|strategy|runner)\.")
PUSHED_IMAGE = re.compile(r"\b(?:docker|podman|buildah)\s+push\s+(?:-\S+\s+)*(\S+)")
# linters a run step calls, and the pip package each needs
LINTERS = {"flake8": "flake8", "ruff": "ruff", "black": "black", "isort": "isort",
           "mypy": "mypy", "pylint": "pylint"}  # fmt: skip
# linter actions, translated to the command they run: (action, input naming the paths, command)
LINTER_ACTIONS = (
    ("py-actions/flake8", "path", "flake8"),
    ("astral-sh/ruff-action", "src", "ruff check"),
    ("chartboost/ruff-action", "src", "ruff check"),
    ("psf/black", "src", "black --check"),
)


@dataclass(frozen=True)
class Existing:
    """What the existing workflows do that the rendered pipeline keeps, and what it does not."""

    platforms: str = ""
    cache_from: str = ""
    cache_to: str = ""
    # registry hosts a workflow logs in to with the job's own token (no stored secret)
    token_logins: tuple[str, ...] = ()
    branches: tuple[str, ...] = ()
    tag_patterns: tuple[str, ...] = ()
    tag_rules: tuple[str, ...] = ()
    # (command, pip package), run from the repository root
    lint_commands: tuple[tuple[str, str], ...] = ()
    carried: tuple[str, ...] = ()  # "what: value  <- where"
    not_carried: tuple[str, ...] = ()
    # (file, images it pushes; "" when they cannot be read)
    publishers: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class _Found:
    platforms: list[tuple[str, str]] = field(default_factory=list)
    cache: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, where)
    logins: list[tuple[str, bool, str]] = field(default_factory=list)  # (host, built-in, where)
    branches: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    trigger_files: list[str] = field(default_factory=list)
    tag_rules: list[tuple[str, str]] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    lints: list[tuple[str, str, str]] = field(default_factory=list)  # (command, package, where)
    not_carried: list[str] = field(default_factory=list)
    meta_images: dict[str, tuple[str, ...]] = field(default_factory=dict)  # where -> images
    publishers: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


def workflows(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """(file name, parsed workflow) of every workflow init did not write; unparsable ones skipped."""
    import yaml

    from ci_actions import yamlsafe
    from ci_actions.render import HEADER_MARK

    found = []
    for path in sorted((root / ".github" / "workflows").glob("*.y*ml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if text.startswith(HEADER_MARK):
            continue
        try:
            data = yamlsafe.load(text)
        except yaml.YAMLError:
            continue
        if isinstance(data, dict):
            if True in data:  # YAML 1.1 reads the `on:` key as a boolean
                data["on"] = data.pop(True)
            found.append((path.name, data))
    return found


def read(root: Path, repository: str = "") -> Existing:
    """The workflows of `root`; `repository` (OWNER/NAME) resolves `${{ github.repository }}`."""
    found = _Found()
    for name, data in workflows(root):
        _triggers(name, data, found)
        jobs = data.get("jobs")
        for job_name, job in (jobs if isinstance(jobs, dict) else {}).items():
            if isinstance(job, dict):
                envs = [_env(data), _env(job)]
                for step in job.get("steps") or []:
                    if isinstance(step, dict):
                        where = f"{name} (job {job_name})"
                        _step(step, [*envs, _env(step)], where, repository, job, found)
    return _existing(found)


def _env(body: Mapping[str, Any]) -> dict[str, str]:
    env = body.get("env")
    return {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {}


def _resolved(value: object, envs: list[dict[str, str]]) -> str:
    """A `with:` value with `${{ env.NAME }}` replaced from the workflow, job and step env."""
    merged: dict[str, str] = {}
    for env in envs:
        merged.update(env)
    return ENV_EXPR.sub(lambda m: merged.get(m[1], m[0]), str(value)).strip()


def portable(value: str) -> bool:
    """No expression in `value` reads a context of its own job (github.*, vars.* are everywhere)."""
    return not any(LOCAL_CONTEXTS.search(m[1]) for m in EXPRESSION.finditer(value))


def _patterns(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _triggers(name: str, data: Mapping[str, Any], found: _Found) -> None:
    """Release branches and tag patterns of a workflow that builds or publishes on push."""
    on = data.get("on")
    push = on.get("push") if isinstance(on, dict) else None
    if not isinstance(push, dict) or not _builds_image(data):
        return
    found.branches += _patterns(push.get("branches"))
    found.tags += _patterns(push.get("tags"))
    found.trigger_files.append(name)


def _builds_image(data: Mapping[str, Any]) -> bool:
    jobs = data.get("jobs")
    for job in (jobs if isinstance(jobs, dict) else {}).values():
        for step in (job.get("steps") or []) if isinstance(job, dict) else []:
            if not isinstance(step, dict):
                continue
            uses = str(step.get("uses", ""))
            if uses.startswith(("docker/build-push-action", "docker/metadata-action")):
                return True
            if PUSH_COMMANDS.search(str(step.get("run", ""))):
                return True
    return False


def _truthy(value: object) -> bool:
    return str(value).strip().lower() not in ("", "false", "0")


def _step(
    step: Mapping[str, Any],
    envs: list[dict[str, str]],
    where: str,
    repository: str,
    job: Mapping[str, Any],
    found: _Found,
) -> None:
    uses = str(step.get("uses", "")).split("@", 1)[0]
    given = step.get("with")
    inputs: Mapping[str, Any] = given if isinstance(given, dict) else {}
    run = str(step.get("run", ""))
    if uses == "docker/build-push-action":
        _build_push(inputs, envs, where, repository, found)
    elif uses == "docker/metadata-action":
        rules = [line.strip() for line in _resolved(inputs.get("tags", ""), envs).splitlines()]
        for rule in (r for r in rules if r and not r.startswith("#")):
            if portable(rule):
                found.tag_rules.append((rule, where))
            else:
                found.not_carried.append(
                    f"image tag rule `{rule}` ({where}): read from its own job"
                )
        found.meta_images[where] = _images(str(inputs.get("images", "")), repository)
    elif uses == "docker/login-action":
        host = _resolved(inputs.get("registry", "docker.io"), envs) or "docker.io"
        built_in = bool(BUILT_IN_TOKEN.fullmatch(str(inputs.get("password", "")).strip()))
        found.logins.append((host, built_in, where))
    for action, paths_input, command in LINTER_ACTIONS:
        if uses == action:
            paths = _resolved(inputs.get(paths_input, ""), envs)
            if "${{" in paths:  # a lint step's run: never holds an expression
                found.not_carried.append(f"linter {action} on `{paths}` ({where})")
                continue
            found.lints.append((f"{command} {paths}".strip(), command.split()[0], where))
    if run:
        _run_step(run, step, job, where, found)


def _build_push(
    inputs: Mapping[str, Any],
    envs: list[dict[str, str]],
    where: str,
    repository: str,
    found: _Found,
) -> None:
    platforms = _resolved(inputs.get("platforms", ""), envs)
    if platforms and portable(platforms):
        found.platforms.append((platforms, where))
    elif platforms:
        found.not_carried.append(f"platforms `{platforms}` ({where}): read from its own job")
    cache_from = _resolved(inputs.get("cache-from", ""), envs)
    cache_to = _resolved(inputs.get("cache-to", ""), envs)
    if cache_from or cache_to:
        found.cache.append((cache_from, cache_to, where))
    if _truthy(inputs.get("push", "false")):
        own = _images(str(inputs.get("tags", "")), repository)
        found.publishers.append((where, (*own, *found.meta_images.get(where, ()))))


def _images(text: str, repository: str) -> tuple[str, ...]:
    """Image repositories of a metadata-action `images:` or a build `tags:` list."""
    names = []
    for line in re.split(r"[\n]", text):
        first = line.split(",", 1)[0].strip().removeprefix("name=")
        if not first or first.startswith("#"):
            continue
        if repository:
            first = re.sub(r"\$\{\{\s*github\.repository\s*\}\}", repository, first)
        name = first.split("@", 1)[0]
        name = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
        if name and "${{" not in name:
            names.append(name.lower())
    return tuple(names)


def _run_step(
    run: str, step: Mapping[str, Any], job: Mapping[str, Any], where: str, found: _Found
) -> None:
    match = VERSION_COMMANDS.search(run)
    if match:
        found.versions.append(f"{match[0]} in a run step of {where}")
    if PUSH_COMMANDS.search(run):
        pushed = (m[1] for m in PUSHED_IMAGE.finditer(run))
        found.publishers.append((where, _images("\n".join(pushed), "")))
    defaults = job.get("defaults")
    moved = step.get("working-directory") or (
        isinstance(defaults, dict) and isinstance(defaults.get("run"), dict)
        and defaults["run"].get("working-directory")
    )  # fmt: skip
    for line in run.splitlines():
        words = line.strip().removeprefix("python -m ").split()
        if words and words[0] in LINTERS:
            if "${{" in line:  # a lint step's run: never holds an expression
                found.not_carried.append(f"linter `{line.strip()}` ({where}): an expression")
            elif moved:
                found.not_carried.append(
                    f"linter `{line.strip()}` ({where}): it runs in {moved}; add it to the "
                    "project's tool settings and re-run init"
                )
            else:
                found.lints.append((line.strip(), LINTERS[words[0]], where))


def _existing(found: _Found) -> Existing:
    carried: list[str] = []
    not_carried = list(found.not_carried)
    platforms = ""
    if found.platforms:
        platforms, where = found.platforms[0]
        carried.append(f"platforms: {platforms}  <- docker/build-push-action in {where}")
    cache_from = cache_to = ""
    for source, target, where in found.cache:
        readable = [
            c for c in (source, target) if c and not (REGISTRY_CACHE.search(c) and portable(c))
        ]
        if readable:
            not_carried.append(
                f"build cache `{'`, `'.join(readable)}` ({where}): image-build keeps a registry "
                "cache only (type=registry,ref=REPO:TAG, or a repository)"
            )
        elif not (cache_from or cache_to):
            cache_from, cache_to = source, target
            carried.append(f"build cache: {source or '-'} / {target or '-'}  <- {where}")
    token_logins = tuple(dict.fromkeys(host for host, built_in, _ in found.logins if built_in))
    for host, built_in, where in found.logins:
        if built_in:
            carried.append(f"registry login to {host} with the job's token  <- {where}")
    branches = tuple(dict.fromkeys(found.branches))
    tags = tuple(dict.fromkeys(found.tags))
    if found.trigger_files:
        what = ", ".join([*branches, *(f"tags {t}" for t in tags)]) or "none"
        carried.append(f"release triggers: {what}  <- on.push of {', '.join(found.trigger_files)}")
    rules = tuple(dict.fromkeys(r for r, _ in found.tag_rules))
    if rules:
        carried.append(
            f"image tag rules: {len(rules)}  <- docker/metadata-action in {found.tag_rules[0][1]}"
        )
    for version in found.versions:
        not_carried.append(
            f"version string: {version}; the pipeline's version is image-tags' first tag "
            "(the release tag, else the commit)"
        )
    lints = tuple(dict.fromkeys((c, p) for c, p, _ in found.lints))
    for command, _, where in found.lints:
        carried.append(f"linter: {command}  <- {where}")
    publishers = _publishers(found.publishers)
    return Existing(
        platforms=platforms,
        cache_from=cache_from,
        cache_to=cache_to,
        token_logins=token_logins,
        branches=branches,
        tag_patterns=tags,
        tag_rules=rules,
        lint_commands=lints,
        carried=tuple(carried),
        not_carried=tuple(not_carried),
        publishers=publishers,
    )


def _publishers(
    entries: list[tuple[str, tuple[str, ...]]],
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The images each workflow file pushes (empty when they cannot be read)."""
    out: dict[str, list[str]] = {}
    for where, images in entries:
        out.setdefault(where.split(" (", 1)[0], []).extend(images)
    return tuple((file, tuple(dict.fromkeys(images))) for file, images in out.items())
