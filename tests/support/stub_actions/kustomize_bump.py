"""Stub of kustomize-bump: records the call, reports one commit."""

from __future__ import annotations

from typing import Any

from ci_actions.github.context import Context
from ci_actions.github.inputs import ActionSpec, InputSpec, OutputSpec, RawInputs
from ci_actions.result import Result
from tests.support.stub_actions import CALLS

SPEC = ActionSpec(
    name="kustomize-bump",
    description="stub",
    inputs=tuple(
        InputSpec(n, n)
        for n in (
            "paths",
            "images",
            "mode",
            "repository",
            "branch",
            "token",
            "commit-message",
            "dry-run",
        )
    ),
    outputs=tuple(OutputSpec(n, n) for n in ("changed", "commit-sha", "previous-images")),
)


def parse_inputs(raw: RawInputs) -> dict[str, Any]:
    return {item.name: raw.raw_text(item.name) for item in SPEC.inputs}


def run(inputs: dict[str, Any], ctx: Context) -> Result:
    given = {k: v for k, v in inputs.items() if v}
    CALLS.append(("kustomize-bump", given))
    return Result(outputs={"changed": True, "commit-sha": "f" * 40, "previous-images": {}})
