"""`kustomize-bump`: set images in a GitOps repo and publish the change."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_actions import grammar
from ci_actions.choices import Choice, assert_never
from ci_actions.errors import (
    ConfigError,
    EnvironmentFailure,
    InputError,
    ToolNotFound,
)
from ci_actions.git import (
    EOO,
    Git,
    check_ref,
    repository_slug,
    repository_url,
)
from ci_actions.github.context import Context
from ci_actions.github.inputs import (
    ActionSpec,
    InputSpec,
    OutputSpec,
    RawInputs,
)
from ci_actions.gitops import DEFAULT_PUSH_RETRIES, GitOpsTarget, parse_target, push_inputs
from ci_actions.kustomize import (
    ImageArgError,
    ImageSetting,
    PathsError,
    Plan,
    YamlFileError,
    find_files,
    parse_image_arg,
    plan,
)
from ci_actions.kustomize.message import (
    DEFAULT_MESSAGE,
    VARIABLES,
    TemplateError,
    bot_branch,
    compile_template,
    environment_of,
    render_message,
)
from ci_actions.kustomize.ordering import ORDERINGS, Downgrade, downgrades
from ci_actions.kustomize.rendered import OverlayImages, closest, overlay_images
from ci_actions.result import Annotation, Result, refusal
from ci_actions.scratch import make_dir


class Mode(Choice):
    EDIT = "edit"
    COMMIT = "commit"
    PULL_REQUEST = "pull-request"


SPEC = ActionSpec(
    name="kustomize-bump",
    description="Set images in kustomizations, manifests and setter markers of a GitOps repo, keeping every other byte; commit and push with re-apply on conflict, or open a pull request.",
    inputs=(
        InputSpec(
            "paths",
            "Files, directories (meaning their kustomization.yaml) or globs to edit, relative to the repository root; newline-separated.",
            required=True,
            kind="text",
        ),
        InputSpec(
            "images",
            "Images to set, one per line, as for `kustomize edit set image`: NAME:TAG, NAME@DIGEST, NAME=NEWNAME[:TAG][@DIGEST]; `*` keeps a field.",
            required=True,
            kind="text",
        ),
        InputSpec(
            "mode",
            "edit (change the files only), commit (commit and push to `branch`) or pull-request (push a bot branch and open or update one pull request).",
            "edit",
        ),
        InputSpec(
            "repository",
            "Another repository to clone and edit: a git URL or OWNER/NAME on GITHUB_SERVER_URL. Empty: the checkout in `working-directory`.",
            kind="operand",
        ),
        InputSpec(
            "branch",
            "The branch to push to (commit) or to open the pull request against. Default: the checkout's branch, or the repository's default branch.",
            kind="ref",
        ),
        InputSpec(
            "token",
            "Token for git over HTTPS and for the GitHub API (pull-request mode); given to git through environment-only config, never written or printed.",
            secret=True,
        ),
        InputSpec(
            "commit-message",
            "Jinja2 template of the commit message; variables: images (name, previous, current, old_tag, new_tag, old_digest, new_digest, argument), environment, files, repository, branch.",
            DEFAULT_MESSAGE,
            kind="text",
        ),
        *push_inputs("Commit", "re-apply the same edit", DEFAULT_PUSH_RETRIES),
        InputSpec(
            "ordering",
            "none (default): set what is asked. semver: never replace a newer version with an older one (tags compared by SemVer when both parse; decided again on the fetched head at every push retry); a skipped image is a notice and leaves the file as it is.",
            "none",
        ),
        InputSpec("dry-run", "true: compute and print the diff, write and push nothing.", "false"),
        InputSpec(
            "allow-missing",
            "true: an image found in none of the files, or changing no image an edited overlay renders, is not an error (by default it fails with exit 1).",
            "false",
        ),
        InputSpec(
            "environment",
            "Name of the environment or tenant, for the message and the pull-request branch. Default: the directory holding the edited files.",
        ),
        InputSpec(
            "pull-request-branch",
            "The bot branch of pull-request mode. Default: ci-actions/bump/<environment>/<image>.",
            kind="ref",
        ),
        InputSpec(
            "working-directory",
            "The checkout to edit when `repository` is empty; `paths` are relative to it.",
            ".",
        ),
    ),
    outputs=(
        OutputSpec("changed", "true when a file changed (or would change, with dry-run)."),
        OutputSpec(
            "changed-files", "JSON list of the changed files, relative to the repository root."
        ),
        OutputSpec("commit-sha", "The commit pushed (empty when nothing was committed)."),
        OutputSpec("diff", "Unified diff of the change."),
        OutputSpec(
            "pull-request-url", "URL of the pull request opened or updated (pull-request mode)."
        ),
        OutputSpec(
            "previous-images",
            "JSON object of image name to the full reference it had before, for a rollback.",
        ),
    ),
    icon="git-commit",
)


@dataclass(frozen=True)
class BumpInputs:
    paths: tuple[str, ...]
    images: tuple[ImageSetting, ...]
    mode: Mode
    target: GitOpsTarget  # the repository and branch to edit and push to
    message: Any  # a compiled Jinja2 template (None in edit mode)
    dry_run: bool = False
    allow_missing: bool = False
    environment: str = ""
    pull_request_branch: str = ""
    ordering: str = "none"  # semver: never replace a newer version with an older one

    @classmethod
    def commit(
        cls,
        paths: Sequence[str],
        images: Sequence[str],
        target: GitOpsTarget,
        environment: str = "",
    ) -> BumpInputs:
        """Set `images` in `paths` and push one commit with the default message (a rollback)."""
        return cls(
            paths=tuple(paths),
            images=_images(images),
            mode=Mode.COMMIT,
            target=target,
            message=compile_template(DEFAULT_MESSAGE),
            environment=environment,
        )


def _images(lines: Sequence[str]) -> tuple[ImageSetting, ...]:
    images: list[ImageSetting] = []
    for line in lines:
        try:
            images.append(parse_image_arg(line))
        except ImageArgError as exc:
            raise InputError("images", str(exc)) from None
    if not images:
        raise InputError("images", "names no image", hint="e.g.  app=registry:5000/team/app:1.2.3")
    return tuple(images)


def parse_inputs(raw: RawInputs) -> BumpInputs:
    images = _images(raw.items("images"))
    paths = raw.items("paths")
    if not paths:
        raise InputError("paths", "names no file", hint="e.g.  overlays/prod")
    mode = raw.choice("mode", Mode)
    message: Any = None  # edit mode writes no message: spare compiling the template
    if mode is not Mode.EDIT:
        try:
            message = compile_template(raw.raw_text("commit-message") or DEFAULT_MESSAGE)
        except TemplateError as exc:
            raise InputError("commit-message", f"is not a valid Jinja2 template: {exc}") from None
    return BumpInputs(
        paths=tuple(paths),
        images=images,
        mode=mode,
        target=parse_target(raw),
        message=message,
        dry_run=raw.flag("dry-run"),
        allow_missing=raw.flag("allow-missing"),
        environment=raw.text("environment"),
        pull_request_branch=raw.text("pull-request-branch"),
        ordering=raw.choice("ordering", ORDERINGS),
    )


def run(inputs: BumpInputs, ctx: Context) -> Result:
    ctx.log.mask([inputs.target.token])  # also when another action calls this one
    if inputs.target.repository:
        if inputs.mode is Mode.EDIT and not inputs.dry_run:
            raise InputError(
                "mode",
                "edit leaves its change in a temporary clone of `repository`",
                hint="use mode commit or pull-request, or dry-run: true",
            )
        with _clone(inputs, ctx) as git:
            return _run_in(git, inputs, ctx)
    workdir = ctx.cwd / inputs.target.working_directory  # an absolute path stays as it is
    if not workdir.is_dir():
        raise InputError("working-directory", f"{workdir} is not a directory")
    git = Git(workdir, identity=inputs.target.identity, token=inputs.target.token)
    if inputs.mode is not Mode.EDIT and not git.is_repo():
        raise InputError(
            "working-directory",
            f"{workdir} is not a git checkout (mode {inputs.mode.value} commits)",
            hint="run actions/checkout first, or set `repository`",
        )
    return _run_in(git, inputs, ctx)


@contextmanager
def _clone(inputs: BumpInputs, ctx: Context) -> Iterator[Git]:
    url = repository_url(inputs.target.repository, ctx.github.server_url)
    tmp = make_dir("kustomize-bump", ctx.temp_dir())  # stale ones of killed runs go first
    try:
        outside = Git(tmp, identity=inputs.target.identity, token=inputs.target.token)
        args = ["clone", "--quiet", "--no-tags", "--single-branch"]
        if inputs.target.branch:
            args += [f"--branch={check_ref(inputs.target.branch, 'branch')}"]
        cloned = outside.run(*args, "--", url, "repo", ok_codes=None)
        if cloned.returncode != 0:
            raise EnvironmentFailure(
                f"cannot clone {inputs.target.repository}: {cloned.stderr.strip()}",
                hint="check `repository`, `branch` and that `token` may read it",
            )
        yield Git(tmp / "repo", identity=inputs.target.identity, token=inputs.target.token)
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _plan(git: Git, inputs: BumpInputs, settings: Sequence[ImageSetting] | None = None) -> Plan:
    try:
        files = find_files(git.repo, inputs.paths)
    except PathsError as exc:
        raise InputError("paths", str(exc)) from None
    return plan(git.repo, files, inputs.images if settings is None else settings)


class _Bump:
    """The edit, repeatable on any head: plan from the files on disk, then write."""

    def __init__(self, git: Git, inputs: BumpInputs, ctx: Context) -> None:
        self.git, self.inputs, self.ctx = git, inputs, ctx
        self.last: Plan | None = None
        self.rendered: str | None = None
        self.overlays: list[OverlayImages] = []
        self._noticed: set[Downgrade] = set()
        self.refused: Result | None = None  # the plan may not be written (exit 1)

    def compute(self) -> Plan:
        """The plan on the files as they are; `refused` says when it must not be written."""
        self.refused = None
        try:
            result = _plan(self.git, self.inputs)
            if self.inputs.ordering == "semver":
                result = self._keep_order(result)
        except YamlFileError as exc:
            self.ctx.log.annotate(Annotation(exc.message, file=exc.file, line=exc.line))
            raise
        missing = result.unmatched()
        if missing and not self.inputs.allow_missing:
            self.refused = refusal(
                SPEC.name,
                f"image(s) {', '.join(missing)} found in none of the paths; nothing was written",
                hint="check the names (registry and port included) or set allow-missing: true",
                outputs=_outputs(result, (), "", ""),
            )
            return result
        for name in missing:
            self.ctx.log.warning(f"image {name} found in none of the paths")
        self.overlays = self._rendered(result)
        self.last = result
        return result

    def _rendered(self, result: Plan) -> list[OverlayImages]:
        """Render each edited overlay with the plan applied: every setting must deploy something."""
        if self.inputs.allow_missing and not self.inputs.dry_run:
            return []
        try:
            overlays = overlay_images(
                self.git.repo, result, self.ctx.temp_dir(), before=self.inputs.dry_run
            )
        except ToolNotFound as exc:
            raise ToolNotFound(
                f"{exc.message}: it renders each edited overlay to check what the bump deploys",
                hint=f"{exc.hint}; or set allow-missing: true to skip the check",
            ) from None
        if self.inputs.allow_missing:
            return overlays
        for overlay in overlays:
            unused = overlay.unused()
            if unused:
                where = Path(overlay.file.rel).parent.as_posix()
                images = closest(unused[0], overlay.images())
                self.refused = refusal(
                    SPEC.name,
                    f"image(s) {', '.join(unused)} change no container of {where}: "
                    f"it renders {', '.join(images) or 'no container'}; nothing was written",
                    hint="set the name the overlay renders, registry and port included "
                    "(a base may rename it), or set allow-missing: true",
                    outputs=_outputs(result, (), "", ""),
                )
                break
        return overlays

    def __call__(self) -> Sequence[str]:
        result = self.compute()
        if self.refused:
            return ()  # nothing written, nothing to commit
        if self.inputs.message is not None and result.changed_files:  # before any file is touched
            self.rendered = self.render_message(result.changed_files)
        return result.write()

    def _keep_order(self, result: Plan) -> Plan:
        """Drop every setting that would replace a newer version with an older one."""
        found = downgrades(result)
        for down in found:
            if down not in self._noticed:
                self._noticed.add(down)
                self.ctx.log.annotate(
                    Annotation(
                        f"{down.name}: {down.found} is newer than {down.wanted}; "
                        f"not replaced (ordering: semver)",
                        "notice",
                        file=down.file,
                        line=down.line,
                    )
                )
        if not found:
            return result
        older = {down.name for down in found}
        return _plan(self.git, self.inputs, [s for s in result.settings if s.name not in older])

    def message(self, changed: Sequence[str]) -> str:
        """The message rendered when the edit was planned (for the files it changes)."""
        assert self.rendered is not None
        return self.rendered

    def check_message(self) -> None:
        """Render the message over the checkout as it is, before git moves or writes anything.

        The edit is planned again on the remote head; a plan that fails here
        fails there too, with its own message.
        """
        try:
            self.last = _plan(self.git, self.inputs)
        except (InputError, YamlFileError):
            return
        if self.last.changed_files:
            self.render_message(self.last.changed_files)

    def render_message(self, changed: Sequence[str]) -> str:
        assert self.last is not None
        try:
            return render_message(
                self.inputs.message,
                self.last,
                self.environment(),
                changed,
                repository=self.inputs.target.repository or self.ctx.github.repository,
                branch=self.inputs.target.branch,
            )
        except TemplateError as exc:
            raise InputError(
                "commit-message",
                f"cannot be rendered: {exc}; nothing was written",
                hint=f"use only the variables {', '.join(VARIABLES)}",
            ) from None

    def environment(self) -> str:
        assert self.last is not None
        return self.inputs.environment or environment_of([f.rel for f in self.last.files])


def _run_in(git: Git, inputs: BumpInputs, ctx: Context) -> Result:
    bump = _Bump(git, inputs, ctx)
    if inputs.dry_run or inputs.mode is Mode.EDIT:
        result = bump.compute()
        if bump.refused:
            return bump.refused
        if inputs.dry_run and inputs.message is not None and result.changed_files:
            message = bump.render_message(result.changed_files)
            with ctx.log.group("commit message (dry run)"):
                ctx.log.info(message.rstrip("\n"))
        changed = result.changed_files if inputs.dry_run else result.write()
        done = _result(ctx, result, changed, "", "", dry_run=inputs.dry_run)
        if inputs.dry_run:
            _show_deploy(ctx, bump.overlays)
            done.summary += _deploy_summary(bump.overlays)
        return done
    branch = inputs.target.branch or git.current_branch()
    if not branch:
        raise InputError(
            "branch", "the checkout is on no branch", hint="set `branch` to the branch to push to"
        )
    bump.check_message()
    match inputs.mode:
        case Mode.COMMIT:
            return _commit(git, bump, branch, inputs, ctx)
        case Mode.PULL_REQUEST:
            return _pull_request(git, bump, branch, inputs, ctx)
        case Mode.EDIT:
            raise AssertionError("edit mode writes above, without git")
        case _:
            assert_never(inputs.mode)


def _commit(git: Git, bump: _Bump, branch: str, inputs: BumpInputs, ctx: Context) -> Result:
    from ci_actions.publish import commit_and_push

    published = commit_and_push(
        git, bump, bump.message, branch=branch, retries=inputs.target.push_retries, rng=ctx.rng
    )
    if bump.refused:
        return bump.refused
    assert bump.last is not None
    if published.attempts > 1 and published.commit_sha:
        ctx.log.info(f"pushed after {published.attempts} attempts (concurrent updates re-applied)")
    return _result(ctx, bump.last, published.changed_files, published.commit_sha, "")


def _pull_request(git: Git, bump: _Bump, base: str, inputs: BumpInputs, ctx: Context) -> Result:
    from ci_actions.github.rest import GitHubRest

    check_ref(base, "branch")
    fetched = git.run("fetch", "--quiet", "--no-tags", EOO, "origin", base, ok_codes=None)
    if fetched.returncode != 0:
        raise ConfigError(f"cannot fetch branch {base!r}: {fetched.stderr.strip()}")
    git.run("checkout", "--quiet", "--force", "--detach", "FETCH_HEAD")
    changed = bump()
    if bump.refused:
        return bump.refused
    result = bump.last
    assert result is not None
    if not changed:
        return _result(ctx, result, (), "", "")
    head = inputs.pull_request_branch or bot_branch(
        bump.environment(), [s.name for s in inputs.images]
    )
    if head == base or grammar.ref_error(head):
        raise InputError(
            "pull-request-branch",
            f"{head!r} cannot be the bot branch (base is {base!r}): "
            + (grammar.ref_error(head) or "it is the base"),
        )
    message = bump.message(changed)
    git.run("add", "--", *changed)
    git.run("commit", "--quiet", "--no-verify", "-m", message)
    sha = git.out("rev-parse", "HEAD")
    # The bot branch belongs to this action alone: it is the one ref ever force-updated.
    git.run("push", "--quiet", "--force", EOO, "origin", f"HEAD:refs/heads/{head}")
    title, _, body = message.partition("\n")
    api = GitHubRest(ctx.github.api_url, inputs.target.token)
    repo = repository_slug(inputs.target.repository, ctx.github.repository)
    if not repo:
        raise InputError(
            "repository", "no OWNER/NAME for the pull request (GITHUB_REPOSITORY is unset)"
        )
    pull, created = api.open_or_update_pull(repo, head, base, title, body.strip() + "\n")
    url = str(pull.get("html_url", ""))
    ctx.log.info(f"{'opened' if created else 'updated'} pull request {url} from {head}")
    return _result(ctx, result, changed, sha, url)


def _show_deploy(ctx: Context, overlays: Sequence[OverlayImages]) -> None:
    """What the dry run would deploy: each container's image, before -> after."""
    for overlay in overlays:
        where = Path(overlay.file.rel).parent.as_posix()
        with ctx.log.group(f"rendered images of {where} (dry run)"):
            changes = overlay.changes()
            for container, before in changes:
                ctx.log.info(
                    f"{container.workload} container {container.name}: "
                    f"{before or '(none)'} -> {container.image}"
                )
            if not changes:
                ctx.log.info("no container image changes")


def _deploy_summary(overlays: Sequence[OverlayImages]) -> str:
    rows = [
        f"| `{Path(o.file.rel).parent.as_posix()}` | {c.workload} | `{c.name}` "
        f"| `{before or '-'}` | `{c.image}` |"
        for o in overlays
        for c, before in o.changes()
    ]
    if not rows:
        return ""
    head = [
        "",
        "#### What it would deploy",
        "",
        "| overlay | workload | container | before | after |",
    ]
    return "\n".join([*head, "|---|---|---|---|---|", *rows]) + "\n"


def _outputs(result: Plan, changed: Sequence[str], sha: str, url: str) -> dict[str, object]:
    return {
        "changed": bool(changed),
        "changed-files": list(changed),
        "commit-sha": sha,
        "diff": result.diff() if changed else "",
        "pull-request-url": url,
        "previous-images": dict(result.previous),
    }


def _result(
    ctx: Context,
    result: Plan,
    changed: Sequence[str],
    sha: str,
    url: str,
    *,
    dry_run: bool = False,
) -> Result:
    outputs = _outputs(result, changed, sha, url)
    if dry_run and changed:
        with ctx.log.group("diff (dry run: nothing written)"):
            ctx.log.info(str(outputs["diff"]).rstrip("\n"))
    verb = "would change" if dry_run else "changed"
    message = f"{verb} {len(changed)} file(s)" + (f", commit {sha[:12]}" if sha else "")
    ctx.log.info(message)
    return Result(outputs=outputs, summary=_summary(result, changed, sha, url), message=message)


def _summary(result: Plan, changed: Sequence[str], sha: str, url: str) -> str:
    lines = ["### Image bump", "", "| image | before | after |", "|---|---|---|"]
    for setting in result.settings:
        before = result.previous.get(setting.name, "")
        after = result.current.get(setting.name, "")
        lines.append(f"| `{setting.name}` | `{before or '-'}` | `{after or '-'}` |")
    lines += ["", f"{len(changed)} file(s) changed" + (f" in commit `{sha[:12]}`" if sha else "")]
    if url:
        lines.append(f"pull request: {url}")
    return "\n".join(lines) + "\n"
