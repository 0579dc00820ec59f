"""release-ledger record and set-status: append an entry or a status change."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ci_actions import imageref
from ci_actions.actions.release_ledger import Command, common
from ci_actions.errors import ConfigError, EnvironmentFailure, InputError
from ci_actions.git import Git
from ci_actions.ledger import store, torn
from ci_actions.ledger.gittag import create_deploy_tag
from ci_actions.ledger.reader import Corrupt, LedgerFile, Release, ledger_path, release_of
from ci_actions.ledger.schema import (
    INITIAL_STATUSES,
    EntryLine,
    Line,
    check_entry,
    check_transition,
    count_findings,
    format_time,
    scan_failed,
)
from ci_actions.result import Annotation, Result, refusal

if TYPE_CHECKING:
    from ci_actions.actions.release_ledger import LedgerInputs
    from ci_actions.actions.release_ledger.common import Handler
    from ci_actions.github.context import Context


def _vulnerable(inputs: LedgerInputs, entry: EntryLine) -> Result | None:
    """The refusal to mark `entry` deployed when its scan failed and that blocks it, else None."""
    if inputs.block_if_vulnerable and scan_failed(entry.scan, entry.vulnerabilities):
        return refusal(
            "release-ledger",
            f"entry {entry.id} ({entry.reference}) failed its security scan"
            f" ({entry.vulnerabilities or 0} vulnerabilities): not marking it deployed",
            hint="block-if-vulnerable is true",
        )
    return None


def _image(inputs: LedgerInputs) -> imageref.ImageRef:
    try:
        ref = imageref.parse(inputs.image)
    except imageref.ImageRefError as exc:
        raise InputError("image", str(exc), hint="e.g. registry:5000/team/app:1.2.3") from None
    for name, given, found in (("tag", inputs.tag, ref.tag), ("digest", inputs.digest, ref.digest)):
        if given and found and given != found:
            raise InputError(name, f"{given!r} differs from the {name} in image ({found!r})")
    tag, digest = inputs.tag or ref.tag, inputs.digest or ref.digest
    if tag and not imageref.is_valid_tag(tag):
        raise InputError("tag", f"{tag!r} is not a valid tag")
    if digest and not imageref.DIGEST_RE.match(digest):
        raise InputError("digest", f"{digest!r} is not a digest", hint="sha256:<64 hex>")
    if not (tag or digest):
        raise InputError("image", "has neither a tag nor a digest", hint="add :TAG or set digest")
    return imageref.ImageRef(ref.name, tag, digest)


def _branch(inputs: LedgerInputs, ctx: Context) -> str:
    if inputs.git_branch:
        return inputs.git_branch
    gh = ctx.github
    if gh.head_ref:
        return gh.head_ref
    return gh.ref_name if gh.ref.startswith("refs/heads/") else ""


def _commit_time(inputs: LedgerInputs, commit: str) -> str:
    """The deployed commit's committer time in UTC: given, else read from the checkout
    (empty when it does not have the commit: lead time is then unknown for the entry)."""
    from ci_actions.ledger.metrics import parse_moment

    text = inputs.git_commit_time
    if not text:
        app = Git(inputs.target.working_directory)
        if not commit or not app.is_repo() or not app.has_commit(commit):
            return ""
        text = app.commit_date(commit)
    try:
        return format_time(parse_moment(text))
    except ValueError as exc:
        raise InputError("git-commit-time", str(exc), hint="e.g. 2026-11-01T10:00:00Z") from None


def record(inputs: LedgerInputs, ctx: Context) -> Result:
    status = common.one_status(inputs, "built")
    if status not in INITIAL_STATUSES:
        raise InputError("status", f"a new entry starts as {' or '.join(INITIAL_STATUSES)}")
    ref = _image(inputs)
    vulnerabilities = inputs.vulnerabilities
    if vulnerabilities is None and inputs.scan is not None:
        vulnerabilities = count_findings(inputs.scan)
    entry = EntryLine(
        v=1,
        id=common.new_id(inputs.service, ctx),
        service=inputs.service,
        environment=inputs.environment,
        image=ref.name,
        tag=ref.tag,
        digest=ref.digest,
        git_commit=(commit := inputs.git_commit or ctx.github.sha),
        git_commit_time=_commit_time(inputs, commit),
        git_branch=_branch(inputs, ctx),
        workflow_run=ctx.github.run_url,
        actor=ctx.github.actor,
        created=format_time(ctx.now()),
        status=status,  # type: ignore[arg-type]
        scan=inputs.scan,
        vulnerabilities=vulnerabilities,
        metadata=inputs.metadata,
    )
    try:
        check_entry(entry)
    except ValueError as exc:
        raise ConfigError(f"the entry is not valid: {exc}") from None
    if status == "deployed" and (refused := _vulnerable(inputs, entry)):
        return refused
    corrupt: list[Corrupt] = []

    def compose(ledger: LedgerFile) -> list[Line]:
        if ledger.find(entry.id):
            raise ConfigError(f"entry id {entry.id} is already in the ledger")
        return [entry]

    target = common.target(inputs, ctx)
    try:
        with store.open_location(
            target, ctx.temp_dir(), keep=[entry], rescue=common.rescue(ctx)
        ) as location:
            path = ledger_path(location.ledger_dir, inputs.environment, inputs.service)
            message = f"release-ledger: record {inputs.service} {ref} in {inputs.environment}"
            released = {"entry": release_of(entry)}
            written = common.write(
                inputs, ctx, location, path, compose, message, corrupt, released, keep=[entry]
            )
    except EnvironmentFailure as exc:  # what was kept aside is still named
        exc.outputs.update(common.entry_outputs(release_of(entry)))
        raise
    display = location.display(path)
    ctx.log.info(f"recorded {entry.id}: {ref} ({status}) in {display}")
    return Result(
        outputs=common.entry_outputs(release_of(entry)),
        annotations=common.corrupt_warnings(corrupt),
        summary=f"### Release ledger\n\nRecorded `{entry.id}`: `{ref}` for **{inputs.service}** in **{inputs.environment}** ({status}).\n",
        message=common.commit_note(written),
    )


def _locate(inputs: LedgerInputs, location: store.Location) -> Path:
    """The file of service/environment, or the one file holding the entry `id`."""
    if inputs.service and inputs.environment:
        return ledger_path(location.ledger_dir, inputs.environment, inputs.service)
    if not inputs.id:
        raise InputError(
            "id", "is required unless service and environment are given (then: their newest entry)"
        )
    for path in store.files(location, inputs.service, inputs.environment):
        if store.read(location, path, [], full=False).find(inputs.id):
            return path
    raise InputError("id", f"no entry {inputs.id!r} in the ledger", hint="see `command: list`")


def set_status(inputs: LedgerInputs, ctx: Context) -> Result:
    status = common.one_status(inputs)
    corrupt: list[Corrupt] = []
    changed: dict[str, Release] = {}
    refused: list[Result] = []  # decided on the file as fetched, like the transition
    # Known in advance only when the entry is named: kept aside if the ledger is out of reach.
    keep = [common.status_line(inputs, ctx, inputs.id, status)] if inputs.id else []

    with store.open_location(
        common.target(inputs, ctx), ctx.temp_dir(), keep=keep, rescue=common.rescue(ctx)
    ) as location:
        path = _locate(inputs, location)
        display = location.display(path)

        def pick(ledger: LedgerFile) -> Release | None:
            return common.find(ledger, inputs.id, display) if inputs.id else ledger.newest()

        def compose(ledger: LedgerFile) -> list[Line]:
            changed.clear()
            refused.clear()
            torn.settle(ledger, corrupt, lambda other: torn.ids(pick(other)))
            release = pick(ledger)
            if release is None:
                raise InputError("service", f"{display} has no entry yet")
            changed["release"] = release
            if release.status == status:
                return []  # already there: a re-run changes nothing
            try:
                check_transition(release.status, status, release.entry.id)
            except ValueError as exc:
                raise InputError("status", str(exc)) from None
            if status == "deployed" and (refusing := _vulnerable(inputs, release.entry)):
                refused.append(refusing)
                return []  # nothing written
            line = common.status_line(inputs, ctx, release.entry.id, status)
            release.status, release.updated, release.reason = status, line.at, line.reason
            return [line]

        message = f"release-ledger: {path.stem} in {path.parent.name} {status}"
        written = common.write(
            inputs, ctx, location, path, compose, message, corrupt, changed, keep=keep
        )
    if refused:
        return refused[0]
    release = changed["release"]
    entry = release.entry
    outputs = common.entry_outputs(release)
    tag: str = ""
    warnings: list[Annotation] = []
    if inputs.git_tag and status == "healthy" and written.lines:
        tag, warnings = _deploy_tag_or_warning(inputs, entry)
    outputs["git-tag"] = tag
    what = f"`{entry.id}` ({entry.reference}) is now **{status}**" + (
        f": {inputs.reason}" if inputs.reason else ""
    )
    if not written.lines:
        what += " (it already was: nothing written)"
    if tag:
        what += f"; tagged `{tag}`"
    elif warnings:
        what += "; the deploy tag was NOT pushed (see the warning)"
    ctx.log.info(what.replace("`", "").replace("**", ""))
    return Result(
        outputs=outputs,
        annotations=common.corrupt_warnings(corrupt) + warnings,
        summary=f"### Release ledger\n\n{what}.\n",
        message=common.commit_note(written),
    )


def _deploy_tag_or_warning(inputs: LedgerInputs, entry: EntryLine) -> tuple[str, list[Annotation]]:
    """The deploy tag, or a warning when git could not push it.

    The status is already written: the tag only labels the commit, so a
    refused push (no or wrong credentials, a remote that is down) must not
    turn a healthy release into a failed step.
    """
    try:
        return _deploy_tag(inputs, entry), []
    except EnvironmentFailure as exc:
        hint = (
            "give git-tag-token (e.g. ${{ github.token }} with permissions: contents: write)"
            if not _app_token(inputs)
            else "check that git-tag-token may push tags to the application repository"
        )
        message = f"{entry.id} is healthy but its deploy tag was not pushed: {exc.message} ({hint})"
        return "", [Annotation(message, "warning", title="release-ledger git-tag")]


def _app_token(inputs: LedgerInputs) -> str:
    """The token for the application's origin: git-tag-token, else `token` when the ledger is local."""
    return inputs.git_tag_token or ("" if inputs.target.repository else inputs.target.token)


def _deploy_tag(inputs: LedgerInputs, entry: EntryLine) -> str:
    if not entry.git_commit:
        raise ConfigError(
            f"entry {entry.id} has no git-commit to tag", hint="record entries with git-commit"
        )
    app = Git(
        inputs.target.working_directory,
        identity=inputs.target.identity,
        token=_app_token(inputs),
    )
    if not app.is_repo():
        raise InputError(
            "git-tag",
            f"{inputs.target.working_directory} is not the application's git checkout",
            hint="run actions/checkout of the application first, or set working-directory",
        )
    push = inputs.push is not False and "origin" in app.remotes()
    message = (
        f"Deploy {entry.service} to {entry.environment}\n\n"
        f"image: {entry.reference}\nentry: {entry.id}\n"
        + (f"run: {entry.workflow_run}\n" if entry.workflow_run else "")
    )
    return create_deploy_tag(
        app,
        entry.environment,
        entry.service,
        entry.git_commit,
        message,
        push=push,
        retries=inputs.target.push_retries,
    )


# The commands this module carries out.
COMMANDS: dict[Command, Handler] = {
    Command.RECORD: record,
    Command.SET_STATUS: set_status,
}
