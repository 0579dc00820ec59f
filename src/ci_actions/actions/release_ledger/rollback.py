"""release-ledger rollback: set the overlay to the last good image, then record it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from ci_actions.actions import kustomize_bump
from ci_actions.actions.release_ledger import Command, common
from ci_actions.actions.release_ledger.read import rollback_pair
from ci_actions.errors import InputError
from ci_actions.ledger import store, torn
from ci_actions.ledger.reader import Corrupt, LedgerFile, Release, ledger_path, release_of
from ci_actions.ledger.schema import EntryLine, Line, check_transition, format_time
from ci_actions.result import Result, refusal

if TYPE_CHECKING:
    from ci_actions.actions.release_ledger import LedgerInputs
    from ci_actions.actions.release_ledger.common import Handler
    from ci_actions.github.context import Context


def _set_overlay(inputs: LedgerInputs, ctx: Context, image: str) -> Result:
    """kustomize-bump, in commit mode, of `image` in the overlay `paths` of the ledger's repository."""
    bump = kustomize_bump.BumpInputs.commit(
        inputs.paths, [image], inputs.target, environment=inputs.environment
    )
    result = kustomize_bump.run(bump, ctx)
    if not result.ok:  # the refusal as kustomize-bump gave it, for release-ledger
        return refusal(SPEC_NAME, result.message, outputs=result.outputs)
    return result


SPEC_NAME = "release-ledger"


def rollback(inputs: LedgerInputs, ctx: Context) -> Result:
    corrupt: list[Corrupt] = []
    done: dict[str, Release] = {}
    with store.open_location(common.target(inputs, ctx), ctx.temp_dir()) as location:
        path = ledger_path(location.ledger_dir, inputs.environment, inputs.service)
        display = location.display(path)
        ledger = store.read(location, path, corrupt)
        torn.settle(ledger, corrupt, lambda other: torn.ids(*rollback_pair(inputs, other, display)))
        bad, good = rollback_pair(inputs, ledger, display)
        if bad is None:
            return refusal(
                SPEC_NAME,
                f"nothing of {inputs.service} was deployed in {inputs.environment} ({display})",
            )
        if good is None:
            return refusal(
                SPEC_NAME, f"no healthy entry before {bad.entry.id} to roll back to ({display})"
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
        if not bump.ok:
            return bump

        def compose(ledger: LedgerFile) -> list[Line]:
            failed, restored = (
                common.find(ledger, bad_id, display),
                common.find(ledger, good_id, display),
            )
            lines: list[Line] = []
            if failed.status != "rolled-back":  # a concurrent rollback may have said it already
                lines.append(common.status_line(inputs, ctx, bad_id, "rolled-back"))
            entry = _restored_entry(inputs, ctx, restored.entry, bad_id)
            done["entry"] = release_of(entry)
            return [*lines, entry]

        message = f"release-ledger: roll back {inputs.service} in {inputs.environment} to {good.entry.reference}"
        written = common.write(inputs, ctx, location, path, compose, message, corrupt, done)
    restored = done["entry"]
    outputs = common.entry_outputs(restored)
    summary = (
        f"### Release ledger: rollback\n\n**{inputs.service}** in **{inputs.environment}**: "
        f"`{bad.entry.reference}` (`{bad_id}`) rolled back to `{good.entry.reference}` (`{good_id}`)"
        + (f": {inputs.reason}" if inputs.reason else "")
        + f".\n\nOverlay commit: `{bump.outputs.get('commit-sha', '') or '-'}`; new entry `{restored.entry.id}`.\n"
    )
    return Result(
        outputs=outputs,
        annotations=common.corrupt_warnings(corrupt),
        summary=summary,
        message=common.commit_note(written),
    )


def _restored_entry(
    inputs: LedgerInputs, ctx: Context, good: EntryLine, failed_id: str
) -> EntryLine:
    metadata: dict[str, Any] = {"rollback-of": failed_id, "restored-from": good.id}
    if inputs.reason:
        metadata["reason"] = inputs.reason
    return msgspec.structs.replace(  # the same release, deployed again by this run
        good,
        v=1,
        id=common.new_id(good.service, ctx),
        workflow_run=ctx.github.run_url,
        actor=ctx.github.actor,
        created=format_time(ctx.now()),
        status="deployed",
        metadata=metadata,
    )


# The commands this module carries out.
COMMANDS: dict[Command, Handler] = {
    Command.ROLLBACK: rollback,
}
