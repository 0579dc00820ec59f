"""release-ledger list, last-good, rollback-target, stats and report: answers from the ledger."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_actions.actions.release_ledger import Command, common
from ci_actions.errors import InputError
from ci_actions.fsutil import escape_reason, write_atomic
from ci_actions.ledger import queries, store, torn
from ci_actions.ledger.reader import Corrupt, LedgerFile, Release, ledger_path
from ci_actions.result import Result, refusal

if TYPE_CHECKING:
    from ci_actions.actions.release_ledger import LedgerInputs
    from ci_actions.actions.release_ledger.common import Handler
    from ci_actions.github.context import Context


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def list_entries(inputs: LedgerInputs, ctx: Context) -> Result:
    corrupt: list[Corrupt] = []
    with store.open_location(common.target(inputs, ctx), ctx.temp_dir()) as location:
        ledgers = common.read_all(inputs, location, corrupt)
    releases = queries.history(ledgers, inputs.statuses, inputs.limit)
    lines = ["### Release ledger", ""]
    if releases:
        lines += [
            "| created | service | environment | status | image | commit | id |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.entry.created} | {_md(r.entry.service)} | {_md(r.entry.environment)} | {r.status} "
            f"| `{_md(r.entry.reference)}` | `{r.entry.git_commit[:12]}` | `{r.entry.id}` |"
            for r in releases
        ]
    else:
        lines.append("No entries match.")
    ctx.log.info(f"{len(releases)} entr{'y' if len(releases) == 1 else 'ies'}")
    return Result(
        outputs={"history": [r.as_json() for r in releases]},
        annotations=common.corrupt_warnings(corrupt),
        summary="\n".join(lines) + "\n",
    )


def rollback_pair(
    inputs: LedgerInputs, ledger: LedgerFile, display: str
) -> tuple[Release | None, Release | None]:
    """(what runs now or `id`, the entry a rollback from it restores)."""
    before = common.find(ledger, inputs.id, display) if inputs.id else queries.current(ledger)
    return before, queries.rollback_target(ledger, before)


def _newest_good(
    inputs: LedgerInputs, ledger: LedgerFile, display: str
) -> tuple[Release | None, Release | None]:
    """(`id` or None, the newest healthy entry, `id` itself or older)."""
    at = common.find(ledger, inputs.id, display) if inputs.id else None
    return at, queries.last_good(ledger, at)


def last_good(inputs: LedgerInputs, ctx: Context) -> Result:
    return _answer(inputs, ctx, _newest_good, "last good", "up to {id}")


def rollback_target(inputs: LedgerInputs, ctx: Context) -> Result:
    return _answer(inputs, ctx, rollback_pair, "rollback target", "before {id} of another image")


def _answer(
    inputs: LedgerInputs,
    ctx: Context,
    query: Callable[[LedgerInputs, LedgerFile, str], tuple[Release | None, Release | None]],
    what: str,
    relation: str,  # how the answer relates to the entry looked from: "up to {id}"
) -> Result:
    corrupt: list[Corrupt] = []
    with store.open_location(common.target(inputs, ctx), ctx.temp_dir()) as location:
        path = ledger_path(location.ledger_dir, inputs.environment, inputs.service)
        display = location.display(path)
        ledger = store.read(location, path, corrupt, full=False)
        torn.settle(ledger, corrupt, lambda other: torn.ids(*query(inputs, other, display)))
        anchor, good = query(inputs, ledger, display)
        # The whole entry is read here, while the (scratch) checkout still exists.
        outputs = common.entry_outputs(good) if good else {}
    if good is None:
        after = " " + relation.format(id=anchor.head.id) if anchor else ""
        return refusal(
            "release-ledger",
            f"no healthy entry of {inputs.service} in {inputs.environment}{after} ({display})",
        )
    ctx.log.info(f"{what}: {good.entry.id} {good.entry.reference}")
    return Result(
        outputs=outputs,
        annotations=common.corrupt_warnings(corrupt),
        summary=f"### Release ledger\n\n{what.capitalize()} of **{inputs.service}** in **{inputs.environment}**: `{good.entry.reference}` (`{good.entry.id}`, {good.entry.created}).\n",
    )


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}"


def stats(inputs: LedgerInputs, ctx: Context) -> Result:
    corrupt: list[Corrupt] = []
    with store.open_location(common.target(inputs, ctx), ctx.temp_dir()) as location:
        ledgers = common.read_all(inputs, location, corrupt, full=False)
    ledgers = [ledger for _, files in queries.by_service(ledgers) for ledger in files]
    all_stats = [queries.stats(ledger) for ledger in ledgers]
    rate = queries.overall_success_rate(all_stats)
    dora, dora_lines = _dora(inputs, ctx, ledgers)
    lines = ["### Release ledger: statistics", ""]
    if all_stats:
        lines += [
            "| service | environment | deployments | healthy | failed | pending | success rate | MTBF | last failure |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for s in all_stats:
            mtbf = "-" if s.mtbf_seconds is None else f"{s.mtbf_seconds / 3600:.1f} h"
            last = s.last_failure["at"] if s.last_failure else "-"
            share = _percent(s.success_rate)
            lines.append(
                f"| {s.service} | {s.environment} | {s.deployments} | {s.succeeded} | {s.failed} "
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
        annotations=common.corrupt_warnings(corrupt),
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
    with store.open_location(common.target(inputs, ctx), ctx.temp_dir()) as location:
        ledgers = common.read_all(inputs, location, corrupt)
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
        target = inputs.target.working_directory / target
    inside = Path(os.path.abspath(target)).is_relative_to(
        os.path.abspath(inputs.target.working_directory)
    )
    if inside and (
        why := escape_reason(inputs.target.working_directory, target)
    ):  # no links in there
        raise InputError("report-file", f"{inputs.report_file} {why}")
    if target.is_dir():
        raise InputError("report-file", f"{target} is a directory", hint="name a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, html)
    ctx.log.info(f"report written to {target}")
    return Result(
        outputs={"report-file": str(target)},
        annotations=common.corrupt_warnings(corrupt),
        summary=f"### Release ledger\n\nHTML report: `{target}` ({len(ledgers)} ledger file(s)).\n",
    )


# The commands this module carries out.
COMMANDS: dict[Command, Handler] = {
    Command.LIST: list_entries,
    Command.LAST_GOOD: last_good,
    Command.ROLLBACK_TARGET: rollback_target,
    Command.STATS: stats,
    Command.REPORT: report,
}
