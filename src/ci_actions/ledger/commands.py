"""The release-ledger commands: read or write the ledger through `store`, answer with a Result.

A decision that depends on what the ledger holds (the entry exists, the
status may follow the current one) is taken inside the write, on the file
as freshly fetched, so a retry after a concurrent push decides again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_actions import imageref
from ci_actions.errors import ConfigError, EnvironmentFailure, InputError, VerdictFailure
from ci_actions.fsutil import escape_reason, write_atomic
from ci_actions.git import Git, repository_url
from ci_actions.ledger import queries, store, torn
from ci_actions.ledger.gittag import create_deploy_tag
from ci_actions.ledger.reader import Corrupt, LedgerFile, Release, ledger_path
from ci_actions.ledger.schema import (
    INITIAL_STATUSES,
    EntryLine,
    Line,
    StatusLine,
    check_entry,
    check_transition,
    count_findings,
    format_time,
    scan_failed,
)
from ci_actions.result import Annotation, Result

if TYPE_CHECKING:
    from ci_actions.actions.release_ledger import LedgerInputs
    from ci_actions.github.context import Context

RESCUE_FILE = "release-ledger-unpushed.jsonl"


# -- shared pieces -------------------------------------------------------------
def _target(inputs: LedgerInputs, ctx: Context) -> store.Target:
    gh = ctx.github
    fallback = gh.ref_name if gh.ref.startswith("refs/heads/") else gh.default_branch
    repository = inputs.repository
    if repository:  # OWNER/NAME means a repository on GITHUB_SERVER_URL, as for kustomize-bump
        repository = repository_url(repository, gh.server_url)
    return store.Target(
        working_directory=inputs.working_directory,
        ledger_dir=inputs.ledger_dir,
        repository=repository,
        branch=inputs.branch,
        token=inputs.token,
        push=inputs.push,
        identity=inputs.identity,
        fallback_branch=fallback,
    )


def _write(
    inputs: LedgerInputs,
    ctx: Context,
    location: store.Location,
    path: Path,
    compose: store.Compose,
    message: str,
    corrupt: list[Corrupt],
    outputs: Callable[[], dict[str, object]],
    keep: Sequence[Line] = (),
) -> store.Written:
    """store.write; a push given up on still reports, in the outputs, what was kept aside."""
    try:
        return store.write(
            location,
            path,
            compose,
            message,
            corrupt=corrupt,
            retries=inputs.push_retries,
            rng=ctx.rng,
            rescue=_rescue(ctx),
            keep=keep,
        )
    except EnvironmentFailure as exc:
        exc.outputs.update(outputs())
        raise


def _rescue(ctx: Context) -> Path:
    return ctx.temp_dir() / RESCUE_FILE


def _annotations(corrupt: Sequence[Corrupt]) -> list[Annotation]:
    return [
        Annotation(
            f"corrupt ledger line skipped: {c.message}",
            "warning",
            file=c.file,
            line=c.line,
            title="release-ledger",
        )
        for c in corrupt
    ]


def _settled(
    ledger: LedgerFile, corrupt: Sequence[Corrupt], answer: Callable[[LedgerFile], object]
) -> None:
    """Refuse (exit 3) to answer when a torn line could have changed the answer."""
    for problem in corrupt:
        if problem.torn is None:
            continue
        reading = torn.ambiguity(ledger, problem.torn, problem.line, answer)
        if reading:
            raise torn.TornLine(
                f"{problem.file}:{problem.line} is a torn line (its writer stopped mid-line);"
                f" read as {reading} it changes the answer, so none is given",
                hint="complete or delete that line (a rescue file may hold it whole), then run again",
            )


def _ids(*releases: Release | None) -> tuple[object, ...]:
    return tuple((r.head.id, r.status) if r else None for r in releases)


def _entry_outputs(release: Release) -> dict[str, object]:
    entry = release.entry
    return {
        "id": entry.id,
        "entry": release.as_json(),
        "image": entry.reference,
        "tag": entry.tag,
        "digest": entry.digest,
    }


def _release_of(entry: EntryLine) -> Release:
    return Release(entry, 0, entry.status, entry.created, "", entry.status != "built", "")


def _read_all(
    inputs: LedgerInputs, location: store.Location, corrupt: list[Corrupt], *, full: bool = True
) -> list[LedgerFile]:
    files = store.files(location, inputs.service, inputs.environment)
    return [store.read(location, path, corrupt, full=full) for path in files]


def _find(ledger: LedgerFile, entry_id: str, display: str) -> Release:
    release = ledger.find(entry_id)
    if release is None:
        raise InputError("id", f"no entry {entry_id!r} in {display}", hint="see `command: list`")
    return release


def _one_status(inputs: LedgerInputs, default: str = "") -> str:
    if not inputs.statuses:
        if default:
            return default
        raise InputError("status", f"is required for command {inputs.command}")
    return inputs.statuses[0]


def _new_id(service: str, ctx: Context) -> str:
    stamp = ctx.now().strftime("%Y%m%dT%H%M%SZ")
    return f"{service}-{stamp}-{ctx.rng.getrandbits(24):06x}"


def _status_line(inputs: LedgerInputs, ctx: Context, entry_id: str, status: str) -> StatusLine:
    return StatusLine(
        v=1,
        id=entry_id,
        status=status,  # type: ignore[arg-type]  # checked against STATUSES by the input parser
        at=format_time(ctx.now()),
        reason=inputs.reason,
        actor=ctx.github.actor,
        workflow_run=ctx.github.run_url,
    )


def _refuse_vulnerable(inputs: LedgerInputs, entry: EntryLine) -> None:
    if inputs.block_if_vulnerable and scan_failed(entry.scan, entry.vulnerabilities):
        raise VerdictFailure(
            f"entry {entry.id} ({entry.reference}) failed its security scan"
            f" ({entry.vulnerabilities or 0} vulnerabilities): not marking it deployed",
            hint="block-if-vulnerable is true",
        )


# -- record --------------------------------------------------------------------
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
        app = Git(inputs.working_directory)
        if not commit or not app.is_repo() or not app.has_commit(commit):
            return ""
        text = app.commit_date(commit)
    try:
        return format_time(parse_moment(text))
    except ValueError as exc:
        raise InputError("git-commit-time", str(exc), hint="e.g. 2026-11-01T10:00:00Z") from None


def record(inputs: LedgerInputs, ctx: Context) -> Result:
    status = _one_status(inputs, "built")
    if status not in INITIAL_STATUSES:
        raise InputError("status", f"a new entry starts as {' or '.join(INITIAL_STATUSES)}")
    ref = _image(inputs)
    vulnerabilities = inputs.vulnerabilities
    if vulnerabilities is None and inputs.scan is not None:
        vulnerabilities = count_findings(inputs.scan)
    entry = EntryLine(
        v=1,
        id=_new_id(inputs.service, ctx),
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
    if status == "deployed":
        _refuse_vulnerable(inputs, entry)
    corrupt: list[Corrupt] = []

    def compose(ledger: LedgerFile) -> list[Line]:
        if ledger.find(entry.id):
            raise ConfigError(f"entry id {entry.id} is already in the ledger")
        return [entry]

    target = _target(inputs, ctx)
    try:
        with store.open_location(
            target, ctx.temp_dir(), keep=[entry], rescue=_rescue(ctx)
        ) as location:
            path = ledger_path(location.ledger_dir, inputs.environment, inputs.service)
            written = _write(
                inputs,
                ctx,
                location,
                path,
                compose,
                f"release-ledger: record {inputs.service} {ref} in {inputs.environment}",
                corrupt,
                lambda: _entry_outputs(_release_of(entry)),
                keep=[entry],
            )
    except EnvironmentFailure as exc:  # what was kept aside is still named
        exc.outputs.update(_entry_outputs(_release_of(entry)))
        raise
    display = location.display(path)
    ctx.log.info(f"recorded {entry.id}: {ref} ({status}) in {display}")
    return Result(
        outputs=_entry_outputs(_release_of(entry)),
        annotations=_annotations(corrupt),
        summary=f"### Release ledger\n\nRecorded `{entry.id}`: `{ref}` for **{inputs.service}** in **{inputs.environment}** ({status}).\n",
        message=_commit_note(written),
    )


def _commit_note(written: store.Written) -> str:
    if not written.commit_sha:
        return ""
    return f"ledger commit {written.commit_sha[:12]} after {written.attempts} attempt(s)"


# -- set-status ----------------------------------------------------------------
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
    status = _one_status(inputs)
    corrupt: list[Corrupt] = []
    changed: dict[str, Release] = {}
    # Known in advance only when the entry is named: kept aside if the ledger is out of reach.
    keep = [_status_line(inputs, ctx, inputs.id, status)] if inputs.id else []

    with store.open_location(
        _target(inputs, ctx), ctx.temp_dir(), keep=keep, rescue=_rescue(ctx)
    ) as location:
        path = _locate(inputs, location)
        display = location.display(path)

        def pick(ledger: LedgerFile) -> Release | None:
            return _find(ledger, inputs.id, display) if inputs.id else ledger.newest()

        def compose(ledger: LedgerFile) -> list[Line]:
            changed.clear()
            _settled(ledger, corrupt, lambda other: _ids(pick(other)))
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
            if status == "deployed":
                _refuse_vulnerable(inputs, release.entry)
            line = _status_line(inputs, ctx, release.entry.id, status)
            release.status, release.updated, release.reason = status, line.at, line.reason
            return [line]

        written = _write(
            inputs,
            ctx,
            location,
            path,
            compose,
            f"release-ledger: {path.stem} in {path.parent.name} {status}",
            corrupt,
            lambda: _entry_outputs(changed["release"]) if changed else {},
            keep=keep,
        )
    release = changed["release"]
    entry = release.entry
    outputs = _entry_outputs(release)
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
        annotations=_annotations(corrupt) + warnings,
        summary=f"### Release ledger\n\n{what}.\n",
        message=_commit_note(written),
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
    return inputs.git_tag_token or ("" if inputs.repository else inputs.token)


def _deploy_tag(inputs: LedgerInputs, entry: EntryLine) -> str:
    if not entry.git_commit:
        raise ConfigError(
            f"entry {entry.id} has no git-commit to tag", hint="record entries with git-commit"
        )
    app = Git(
        inputs.working_directory,
        identity=inputs.identity,
        token=_app_token(inputs),
    )
    if not app.is_repo():
        raise InputError(
            "git-tag",
            f"{inputs.working_directory} is not the application's git checkout",
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
        retries=inputs.push_retries,
    )


# -- list ----------------------------------------------------------------------
def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def list_entries(inputs: LedgerInputs, ctx: Context) -> Result:
    corrupt: list[Corrupt] = []
    with store.open_location(_target(inputs, ctx), ctx.temp_dir()) as location:
        ledgers = _read_all(inputs, location, corrupt)
    releases = queries.history(ledgers, inputs.statuses, inputs.limit)
    lines = ["### Release ledger", ""]
    if releases:
        lines += [
            "| created | environment | service | status | image | commit | id |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.entry.created} | {_md(r.entry.environment)} | {_md(r.entry.service)} | {r.status} "
            f"| `{_md(r.entry.reference)}` | `{r.entry.git_commit[:12]}` | `{r.entry.id}` |"
            for r in releases
        ]
    else:
        lines.append("No entries match.")
    ctx.log.info(f"{len(releases)} entr{'y' if len(releases) == 1 else 'ies'}")
    return Result(
        outputs={"history": [r.as_json() for r in releases]},
        annotations=_annotations(corrupt),
        summary="\n".join(lines) + "\n",
    )


# -- last-good and rollback-target ---------------------------------------------
def _rollback_pair(
    inputs: LedgerInputs, ledger: LedgerFile, display: str
) -> tuple[Release | None, Release | None]:
    """(what runs now or `id`, the entry a rollback from it restores)."""
    before = _find(ledger, inputs.id, display) if inputs.id else queries.current(ledger)
    return before, queries.rollback_target(ledger, before)


def _newest_good(
    inputs: LedgerInputs, ledger: LedgerFile, display: str
) -> tuple[Release | None, Release | None]:
    """(`id` or None, the newest healthy entry, `id` itself or older)."""
    at = _find(ledger, inputs.id, display) if inputs.id else None
    return at, queries.last_good(ledger, at)


def last_good(inputs: LedgerInputs, ctx: Context) -> Result:
    return _answer(inputs, ctx, _newest_good, "last good", "up to {id}")


def rollback_target(inputs: LedgerInputs, ctx: Context) -> Result:
    return _answer(inputs, ctx, _rollback_pair, "rollback target", "before {id} of another image")


def _answer(
    inputs: LedgerInputs,
    ctx: Context,
    query: Callable[[LedgerInputs, LedgerFile, str], tuple[Release | None, Release | None]],
    what: str,
    relation: str,  # how the answer relates to the entry looked from: "up to {id}"
) -> Result:
    corrupt: list[Corrupt] = []
    with store.open_location(_target(inputs, ctx), ctx.temp_dir()) as location:
        path = ledger_path(location.ledger_dir, inputs.environment, inputs.service)
        display = location.display(path)
        ledger = store.read(location, path, corrupt, full=False)
        _settled(ledger, corrupt, lambda other: _ids(*query(inputs, other, display)))
        anchor, good = query(inputs, ledger, display)
        # The whole entry is read here, while the (scratch) checkout still exists.
        outputs = _entry_outputs(good) if good else {}
    if good is None:
        after = " " + relation.format(id=anchor.head.id) if anchor else ""
        raise VerdictFailure(
            f"no healthy entry of {inputs.service} in {inputs.environment}{after} ({display})"
        )
    ctx.log.info(f"{what}: {good.entry.id} {good.entry.reference}")
    return Result(
        outputs=outputs,
        annotations=_annotations(corrupt),
        summary=f"### Release ledger\n\n{what.capitalize()} of **{inputs.service}** in **{inputs.environment}**: `{good.entry.reference}` (`{good.entry.id}`, {good.entry.created}).\n",
    )


# -- rollback ------------------------------------------------------------------
def _bump_values(inputs: LedgerInputs, image: str) -> dict[str, str]:
    """kustomize-bump's inputs for setting the overlay, by its own input names."""
    values = {
        "paths": "\n".join(inputs.paths),
        "images": image,
        "mode": "commit",
        "repository": inputs.repository,
        "branch": inputs.branch,
        "token": inputs.token,
        "author-name": inputs.identity.name,
        "author-email": inputs.identity.email,
        "push-retries": str(inputs.push_retries),
        "working-directory": str(inputs.working_directory),
        "environment": inputs.environment,
    }
    return {k: v for k, v in values.items() if v}


def _set_overlay(inputs: LedgerInputs, ctx: Context, image: str) -> Result:
    import importlib

    from ci_actions.actions import ACTIONS, invoke

    if "kustomize-bump" not in ACTIONS:
        raise ConfigError("rollback needs the kustomize-bump action, which is not installed")
    declared = {i.name for i in importlib.import_module(ACTIONS["kustomize-bump"]).SPEC.inputs}
    values = {k: v for k, v in _bump_values(inputs, image).items() if k in declared}
    result = invoke("kustomize-bump", values, ctx)
    if not result.ok:
        raise VerdictFailure(
            f"kustomize-bump could not set {image} in {', '.join(inputs.paths)}: {result.message}",
            hint="check that paths name the environment's overlay and that it uses this image",
        )
    return result


def rollback(inputs: LedgerInputs, ctx: Context) -> Result:
    corrupt: list[Corrupt] = []
    done: dict[str, Release] = {}
    with store.open_location(_target(inputs, ctx), ctx.temp_dir()) as location:
        path = ledger_path(location.ledger_dir, inputs.environment, inputs.service)
        display = location.display(path)
        ledger = store.read(location, path, corrupt)
        _settled(ledger, corrupt, lambda other: _ids(*_rollback_pair(inputs, other, display)))
        bad, good = _rollback_pair(inputs, ledger, display)
        if bad is None:
            raise VerdictFailure(
                f"nothing of {inputs.service} was deployed in {inputs.environment} ({display})"
            )
        if good is None:
            raise VerdictFailure(
                f"no healthy entry before {bad.entry.id} to roll back to ({display})"
            )
        try:
            check_transition(bad.status, "rolled-back", bad.entry.id)
        except ValueError as exc:
            raise InputError("id", str(exc)) from None
        bad_id, good_id = bad.entry.id, good.entry.id
        ctx.log.info(
            f"rolling back {bad_id} ({bad.entry.reference}) to {good_id} ({good.entry.reference})"
        )
        bump = _set_overlay(inputs, ctx, good.entry.reference)

        def compose(ledger: LedgerFile) -> list[Line]:
            failed, restored = _find(ledger, bad_id, display), _find(ledger, good_id, display)
            lines: list[Line] = []
            if failed.status != "rolled-back":  # a concurrent rollback may have said it already
                lines.append(_status_line(inputs, ctx, bad_id, "rolled-back"))
            entry = _restored_entry(inputs, ctx, restored.entry, bad_id)
            done["entry"] = _release_of(entry)
            return [*lines, entry]

        written = _write(
            inputs,
            ctx,
            location,
            path,
            compose,
            f"release-ledger: roll back {inputs.service} in {inputs.environment} to {good.entry.reference}",
            corrupt,
            lambda: _entry_outputs(done["entry"]) if done else {},
        )
    restored = done["entry"]
    outputs = _entry_outputs(restored)
    summary = (
        f"### Release ledger: rollback\n\n**{inputs.service}** in **{inputs.environment}**: "
        f"`{bad.entry.reference}` (`{bad_id}`) rolled back to `{good.entry.reference}` (`{good_id}`)"
        + (f": {inputs.reason}" if inputs.reason else "")
        + f".\n\nOverlay commit: `{bump.outputs.get('commit-sha', '') or '-'}`; new entry `{restored.entry.id}`.\n"
    )
    return Result(
        outputs=outputs,
        annotations=_annotations(corrupt),
        summary=summary,
        message=_commit_note(written),
    )


def _restored_entry(
    inputs: LedgerInputs, ctx: Context, good: EntryLine, failed_id: str
) -> EntryLine:
    metadata: dict[str, Any] = {"rollback-of": failed_id, "restored-from": good.id}
    if inputs.reason:
        metadata["reason"] = inputs.reason
    return EntryLine(
        v=1,
        id=_new_id(good.service, ctx),
        service=good.service,
        environment=good.environment,
        image=good.image,
        tag=good.tag,
        digest=good.digest,
        git_commit=good.git_commit,
        git_branch=good.git_branch,
        workflow_run=ctx.github.run_url,
        actor=ctx.github.actor,
        created=format_time(ctx.now()),
        status="deployed",
        scan=good.scan,
        vulnerabilities=good.vulnerabilities,
        metadata=metadata,
    )


# -- stats and report ----------------------------------------------------------
def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}"


def stats(inputs: LedgerInputs, ctx: Context) -> Result:
    corrupt: list[Corrupt] = []
    with store.open_location(_target(inputs, ctx), ctx.temp_dir()) as location:
        ledgers = _read_all(inputs, location, corrupt, full=False)
    all_stats = [queries.stats(ledger) for ledger in ledgers]
    rate = queries.overall_success_rate(all_stats)
    dora, dora_lines = _dora(inputs, ctx, ledgers)
    lines = ["### Release ledger: statistics", ""]
    if all_stats:
        lines += [
            "| environment | service | deployments | healthy | failed | pending | success rate | MTBF | last failure |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for s in all_stats:
            mtbf = "-" if s.mtbf_seconds is None else f"{s.mtbf_seconds / 3600:.1f} h"
            last = s.last_failure["at"] if s.last_failure else "-"
            share = _percent(s.success_rate)
            lines.append(
                f"| {s.environment} | {s.service} | {s.deployments} | {s.succeeded} | {s.failed} "
                f"| {s.pending} | {share + '%' if share else '-'} | {mtbf} | {last} |"
            )
    else:
        lines.append("The ledger is empty.")
    return Result(
        outputs={
            "stats": [s.as_json() | d for s, d in zip(all_stats, dora[:-1], strict=True)],
            "dora": dora[-1],
            "success-rate": _percent(rate),
        },
        annotations=_annotations(corrupt),
        summary="\n".join(lines) + "\n\n" + dora_lines,
    )


def _dora(
    inputs: LedgerInputs, ctx: Context, ledgers: Sequence[LedgerFile]
) -> tuple[list[dict[str, Any]], str]:
    """The DORA keys of each ledger then of them all, and their step summary."""
    from ci_actions.ledger import metrics
    from ci_actions.ledger.report import dora_summary

    try:
        window = metrics.parse_window(inputs.since, inputs.until, ctx.now())
    except ValueError as exc:
        name, _, why = str(exc).partition(": ")
        raise InputError(name, why, hint="e.g. 30d, 2026-11-01 or 2026-11-01T00:00:00Z") from None
    each = metrics.per_ledger(ledgers, window)
    whole = metrics.pooled(each, window)
    return [d.as_json() for d in [*each, whole]], dora_summary(each, whole)


def report(inputs: LedgerInputs, ctx: Context) -> Result:
    from ci_actions.ledger.report import ReportData, render_report

    corrupt: list[Corrupt] = []
    with store.open_location(_target(inputs, ctx), ctx.temp_dir()) as location:
        ledgers = _read_all(inputs, location, corrupt)
    html = render_report(
        ReportData(
            ledgers=ledgers,
            stats=[queries.stats(ledger) for ledger in ledgers],
            corrupt=len(corrupt),
            generated=ctx.now(),
        )
    )
    target = Path(inputs.report_file)
    if not target.is_absolute():
        target = inputs.working_directory / target
    inside = Path(os.path.abspath(target)).is_relative_to(os.path.abspath(inputs.working_directory))
    if inside and (why := escape_reason(inputs.working_directory, target)):  # no links in there
        raise InputError("report-file", f"{inputs.report_file} {why}")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, html)
    ctx.log.info(f"report written to {target}")
    return Result(
        outputs={"report-file": str(target)},
        annotations=_annotations(corrupt),
        summary=f"### Release ledger\n\nHTML report: `{target}` ({len(ledgers)} ledger file(s)).\n",
    )
