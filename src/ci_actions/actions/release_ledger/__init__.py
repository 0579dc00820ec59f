"""`release-ledger`: record builds and deployments in git, query them, roll back to the last good one.

This module reads the inputs; `write` (record, set-status), `read` (list,
last-good, rollback-target, stats, report) and `rollback` run the commands
over the ledger kept by `ci_actions.ledger`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_actions.choices import Choice
from ci_actions.errors import InputError
from ci_actions.github.context import Context
from ci_actions.github.inputs import (
    ActionSpec,
    InputSpec,
    OutputSpec,
    RawInputs,
)
from ci_actions.gitops import GitOpsTarget, parse_target, push_inputs
from ci_actions.result import Result

if TYPE_CHECKING:
    from ci_actions.actions.release_ledger.common import Handler


class Command(Choice):
    RECORD = "record"
    SET_STATUS = "set-status"
    LIST = "list"
    LAST_GOOD = "last-good"
    ROLLBACK_TARGET = "rollback-target"
    ROLLBACK = "rollback"
    STATS = "stats"
    REPORT = "report"


LEDGER_DIR = ".ci-ledger"
REPORT_FILE = "release-ledger.html"
PUSH_RETRIES = 15
STATUS_NAMES = ("built", "deployed", "healthy", "failed", "rolled-back")

SPEC = ActionSpec(
    name="release-ledger",
    description="Record every build and deployment in a git-kept ledger; history, last known good, success rate, deploy tags, rollback.",
    inputs=(
        InputSpec(
            "command",
            "What to do: record, set-status, list, last-good (the newest healthy entry), rollback-target (the entry rollback restores), rollback, stats or report.",
            required=True,
        ),
        InputSpec(
            "service", "The service (one path segment); a filter for list, stats and report."
        ),
        InputSpec(
            "environment",
            "The environment or tenant (one path segment); a filter for list, stats and report.",
        ),
        InputSpec(
            "image",
            "record: the image, NAME[:TAG][@DIGEST] (tag and digest may also come from `tag` and `digest`).",
            kind="image",
        ),
        InputSpec("tag", "record: the image tag, when `image` has none.", kind="tag"),
        InputSpec(
            "digest", "record: the image digest (sha256:...), when `image` has none.", kind="digest"
        ),
        InputSpec(
            "git-commit",
            "record: the application commit, a hex SHA (7 to 64 digits). Default: GITHUB_SHA.",
            kind="sha",
        ),
        InputSpec(
            "git-commit-time",
            "record: the commit's committer time (ISO 8601 with Z or an offset), kept in UTC for lead time. Default: read from the checkout (working-directory); empty when it does not have the commit.",
            kind="text",
        ),
        InputSpec(
            "git-branch",
            "record: the application branch. Default: the branch of the event.",
            kind="ref",
        ),
        InputSpec(
            "id",
            "set-status: the entry to change (default: the newest of service/environment); last-good: the newest entry to consider (default: all); rollback-target and rollback: the entry to roll back from (default: what runs now).",
        ),
        InputSpec(
            "status",
            "set-status: the new status (deployed, healthy, failed, rolled-back); record: the initial status (built or deployed); list: statuses to show (comma-separated).",
            kind="text",
        ),
        InputSpec("reason", "Why the status changes (set-status, rollback).", kind="text"),
        InputSpec(
            "scan",
            'record: the security scan result as JSON: security-gate\'s `scan` output ({"passed": bool, "counts": {...}}), or its `counts`; a boolean "passed" key gives the verdict.',
            kind="text",
        ),
        InputSpec(
            "vulnerabilities",
            "record: the number of findings. Default: the findings `scan` counts by severity (statuses such as new or baselined are not added again).",
        ),
        InputSpec("metadata", "record: free JSON object stored with the entry.", kind="text"),
        InputSpec("limit", "list: at most this many entries, newest first (0 = all).", "20"),
        InputSpec(
            "paths",
            "rollback: the kustomization(s) of the environment's overlay to set (files, dirs or globs; one a line).",
            kind="text",
        ),
        InputSpec("ledger-dir", "The ledger folder, relative to the repository root.", LEDGER_DIR),
        InputSpec(
            "repository",
            "The repository the ledger lives in, when it is not this checkout (e.g. the GitOps repo): a git URL, a path, or OWNER/NAME on GITHUB_SERVER_URL.",
            kind="operand",
        ),
        InputSpec(
            "branch",
            "The branch the ledger is written to. Default: the repository's default branch, or this checkout's branch.",
            kind="ref",
        ),
        InputSpec("token", "Token for pushing to `repository` over HTTPS.", secret=True),
        InputSpec(
            "git-tag-token",
            "git-tag: token for pushing the deploy tag to the application checkout's origin over HTTPS (e.g. github.token with contents: write). Default: `token` when `repository` is empty.",
            secret=True,
        ),
        InputSpec(
            "push",
            "Commit and push each write. Default: true when the ledger lives in another repository or the checkout has an `origin` remote; false appends to the file in place.",
        ),
        InputSpec(
            "git-tag",
            "set-status healthy: create and push an annotated tag deploy/<environment>/<service>/<n> on the application commit. The status is written first; a tag that cannot be pushed is a warning (exit 0, empty git-tag output).",
            "false",
        ),
        InputSpec(
            "block-if-vulnerable",
            "Refuse (exit 1) to give the deployed status to an entry whose scan failed.",
            "false",
        ),
        InputSpec(
            "since",
            "stats: the delivery metrics' window starts here: a UTC time or date (ISO 8601), or a number of days before `until` (e.g. 30d).",
            "30d",
        ),
        InputSpec(
            "until",
            "stats: the window ends here (excluded): a UTC time or date (ISO 8601). Default: now.",
        ),
        InputSpec("report-file", "report: where to write the HTML page.", REPORT_FILE),
        InputSpec(
            "working-directory",
            "The application checkout (where git-tag tags; the ledger's home when `repository` is empty).",
            ".",
        ),
        *push_inputs("Git", "re-apply the append", PUSH_RETRIES),
    ),
    outputs=(
        OutputSpec("id", "The entry recorded, changed, found or restored."),
        OutputSpec("entry", "That entry as JSON, with its current status."),
        OutputSpec("image", "The image of that entry as NAME[:TAG][@DIGEST]."),
        OutputSpec("tag", "Its tag."),
        OutputSpec("digest", "Its digest."),
        OutputSpec("history", "list: JSON array of entries, newest first."),
        OutputSpec(
            "success-rate",
            "stats: healthy / (healthy + failed) in percent over the selection, empty when nothing was judged.",
        ),
        OutputSpec("stats", "stats: JSON array, one object per service and environment."),
        OutputSpec(
            "dora",
            "stats: the four DORA keys with their bands over the whole selection and window, as one JSON object.",
        ),
        OutputSpec("report-file", "report: the HTML file written."),
        OutputSpec(
            "git-tag",
            "set-status: the deploy tag created; empty when none was (a refused push is a warning).",
        ),
    ),
    icon="book-open",
)


@dataclass(frozen=True)
class LedgerInputs:
    """What one command needs; fields not given take the inputs' defaults."""

    command: Command
    service: str = ""
    environment: str = ""
    image: str = ""
    tag: str = ""
    digest: str = ""
    git_commit: str = ""
    git_branch: str = ""
    git_commit_time: str = ""
    id: str = ""
    statuses: tuple[str, ...] = ()
    reason: str = ""
    scan: dict[str, Any] | None = None
    vulnerabilities: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    limit: int = 20
    paths: tuple[str, ...] = ()
    ledger_dir: str = LEDGER_DIR
    # where the ledger lives; working_directory is the application checkout
    target: GitOpsTarget = field(default_factory=lambda: GitOpsTarget(push_retries=PUSH_RETRIES))
    git_tag_token: str = ""
    push: bool | None = None
    git_tag: bool = False
    block_if_vulnerable: bool = False
    report_file: str = REPORT_FILE
    since: str = "30d"
    until: str = ""


def _name(raw: RawInputs, name: str) -> str:
    from ci_actions.ledger.schema import NAME_RE

    value = raw.text(name)
    if value and not NAME_RE.match(value):
        raise InputError(
            name,
            f"{value!r} is not one path segment",
            hint="use letters, digits, '.', '_' or '-'",
        )
    return value


_OBJECT_HINT = 'e.g. {"passed": true}'


def parse_inputs(raw: RawInputs) -> LedgerInputs:
    command = raw.choice("command", Command)
    statuses = tuple(raw.choices("status", STATUS_NAMES))
    if command is not Command.LIST and len(statuses) > 1:
        raise InputError("status", "give one status", hint="several are only for list")
    ledger_dir = raw.text("ledger-dir") or LEDGER_DIR
    if Path(ledger_dir).is_absolute() or ".." in Path(ledger_dir).parts:
        raise InputError("ledger-dir", f"{ledger_dir!r} must stay inside the repository")
    vulnerabilities = (
        raw.integer("vulnerabilities", minimum=0) if raw.text("vulnerabilities") else None
    )
    return LedgerInputs(
        command=command,
        service=_name(raw, "service"),
        environment=_name(raw, "environment"),
        image=raw.text("image"),
        tag=raw.text("tag"),
        digest=raw.text("digest"),
        git_commit=raw.text("git-commit"),
        git_branch=raw.text("git-branch"),
        git_commit_time=raw.text("git-commit-time"),
        id=raw.text("id"),
        statuses=statuses,
        reason=raw.text("reason"),
        scan=raw.json_object("scan", hint=_OBJECT_HINT),
        vulnerabilities=vulnerabilities,
        metadata=raw.json_object("metadata", hint=_OBJECT_HINT) or {},
        limit=raw.integer("limit", minimum=0) if raw.text("limit") else 20,
        paths=tuple(raw.items("paths")),
        ledger_dir=ledger_dir,
        target=parse_target(raw, PUSH_RETRIES),
        git_tag_token=raw.text("git-tag-token"),
        push=raw.optional_flag("push"),
        git_tag=raw.flag("git-tag"),
        block_if_vulnerable=raw.flag("block-if-vulnerable"),
        report_file=raw.text("report-file") or REPORT_FILE,
        since=raw.text("since") or "30d",
        until=raw.text("until"),
    )


# The inputs each command cannot do without (besides `command`).
REQUIRED: dict[Command, tuple[str, ...]] = {
    Command.RECORD: ("service", "environment", "image"),
    Command.LAST_GOOD: ("service", "environment"),
    Command.ROLLBACK_TARGET: ("service", "environment"),
    Command.ROLLBACK: ("service", "environment", "paths"),
}


def _require(inputs: LedgerInputs) -> None:
    for name in REQUIRED.get(inputs.command, ()):
        if not getattr(inputs, name.replace("-", "_")):
            raise InputError(name, f"is required for command {inputs.command}")


def run(inputs: LedgerInputs, ctx: Context) -> Result:
    _require(inputs)
    workdir = ctx.cwd / inputs.target.working_directory  # an absolute path stays as it is
    if workdir.exists() and not workdir.is_dir():
        raise InputError("working-directory", f"{workdir} is not a directory")
    inputs = replace(inputs, target=replace(inputs.target, working_directory=workdir))
    return handlers()[inputs.command](inputs, ctx)


def handlers() -> dict[Command, Handler]:
    """The function that carries out each command."""
    from ci_actions.actions.release_ledger import read, rollback, write

    return {**write.COMMANDS, **read.COMMANDS, **rollback.COMMANDS}
