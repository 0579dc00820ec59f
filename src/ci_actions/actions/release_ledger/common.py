"""What the release-ledger commands share: where the ledger is, how a write reports, entry outputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ci_actions.errors import EnvironmentFailure, InputError
from ci_actions.git import repository_url
from ci_actions.ledger import store
from ci_actions.ledger.reader import Corrupt, LedgerFile, Release
from ci_actions.ledger.schema import Line, StatusLine, format_time
from ci_actions.result import Annotation, Result

if TYPE_CHECKING:
    from ci_actions.actions.release_ledger import LedgerInputs
    from ci_actions.github.context import Context

Handler = Callable[["LedgerInputs", "Context"], "Result"]  # what carries out one command

RESCUE_FILE = "release-ledger-unpushed.jsonl"


def target(inputs: LedgerInputs, ctx: Context) -> store.Target:
    gh = ctx.github
    fallback = gh.ref_name if gh.ref.startswith("refs/heads/") else gh.default_branch
    repository = inputs.target.repository
    if repository:  # OWNER/NAME means a repository on GITHUB_SERVER_URL, as for kustomize-bump
        repository = repository_url(repository, gh.server_url)
    return store.Target(
        gitops=replace(inputs.target, repository=repository),
        ledger_dir=inputs.ledger_dir,
        push=inputs.push,
        fallback_branch=fallback,
    )


def write(
    inputs: LedgerInputs,
    ctx: Context,
    location: store.Location,
    path: Path,
    compose: store.Compose,
    message: str,
    corrupt: list[Corrupt],
    released: Mapping[str, Release],
    keep: Sequence[Line] = (),
) -> store.Written:
    """store.write; a push given up on still reports, in the outputs, what was kept aside.

    `released` holds (under any one key) the release the change is about, once compose found it.
    """
    try:
        return store.write(
            location,
            path,
            compose,
            message,
            corrupt=corrupt,
            retries=inputs.target.push_retries,
            rng=ctx.rng,
            rescue=rescue(ctx),
            keep=keep,
        )
    except EnvironmentFailure as exc:
        exc.outputs.update(next((entry_outputs(r) for r in released.values()), {}))
        raise


def rescue(ctx: Context) -> Path:
    return ctx.temp_dir() / RESCUE_FILE


def corrupt_warnings(corrupt: Sequence[Corrupt]) -> list[Annotation]:
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


def entry_outputs(release: Release) -> dict[str, object]:
    entry = release.entry
    return {
        "id": entry.id,
        "entry": release.as_json(),
        "image": entry.reference,
        "tag": entry.tag,
        "digest": entry.digest,
    }


def read_all(
    inputs: LedgerInputs, location: store.Location, corrupt: list[Corrupt], *, full: bool = True
) -> list[LedgerFile]:
    files = store.files(location, inputs.service, inputs.environment)
    return [store.read(location, path, corrupt, full=full) for path in files]


def find(ledger: LedgerFile, entry_id: str, display: str) -> Release:
    release = ledger.find(entry_id)
    if release is None:
        raise InputError("id", f"no entry {entry_id!r} in {display}", hint="see `command: list`")
    return release


def one_status(inputs: LedgerInputs, default: str = "") -> str:
    if not inputs.statuses:
        if default:
            return default
        raise InputError("status", f"is required for command {inputs.command.value}")
    return inputs.statuses[0]


def new_id(service: str, ctx: Context) -> str:
    stamp = ctx.now().strftime("%Y%m%dT%H%M%SZ")
    return f"{service}-{stamp}-{ctx.rng.getrandbits(24):06x}"


def status_line(inputs: LedgerInputs, ctx: Context, entry_id: str, status: str) -> StatusLine:
    return StatusLine(
        v=1,
        id=entry_id,
        status=status,  # type: ignore[arg-type]  # checked against STATUSES by the input parser
        at=format_time(ctx.now()),
        reason=inputs.reason,
        actor=ctx.github.actor,
        workflow_run=ctx.github.run_url,
    )


def commit_note(written: store.Written) -> str:
    if not written.commit_sha:
        return ""
    return f"ledger commit {written.commit_sha[:12]} after {written.attempts} attempt(s)"
