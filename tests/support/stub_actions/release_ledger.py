"""Stub of release-ledger `rollback-target`: records the call, answers one entry."""

from __future__ import annotations

from typing import Any

from ci_actions.github.context import Context
from ci_actions.github.inputs import ActionSpec, InputSpec, OutputSpec, RawInputs
from ci_actions.result import Result
from tests.support.stub_actions import CALLS

SPEC = ActionSpec(
    name="release-ledger",
    description="stub",
    inputs=tuple(
        InputSpec(n, n)
        for n in ("command", "service", "environment", "repository", "branch", "token")
    ),
    outputs=tuple(OutputSpec(n, n) for n in ("id", "image", "tag", "digest")),
)


def parse_inputs(raw: RawInputs) -> dict[str, Any]:
    return {item.name: raw.raw_text(item.name) for item in SPEC.inputs}


def run(inputs: dict[str, Any], ctx: Context) -> Result:
    CALLS.append(("release-ledger", {k: v for k, v in inputs.items() if v}))
    return Result(
        outputs={
            "id": "e1",
            "image": "127.0.0.1:5000/team/web",
            "tag": "1.3.0",
            "digest": "sha256:" + "d" * 64,
        }
    )
