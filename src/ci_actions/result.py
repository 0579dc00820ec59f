"""What an action returns: its verdict, outputs, summary and annotations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["error", "warning", "notice"]


@dataclass(frozen=True)
class Annotation:
    """A problem located in a file: becomes `::error file=…,line=…::` on a runner."""

    message: str
    level: Level = "error"
    file: str = ""
    line: int | None = None
    end_line: int | None = None
    column: int | None = None
    title: str = ""


@dataclass
class Result:
    outputs: dict[str, object] = field(default_factory=dict)
    ok: bool = True  # False = the verdict is bad (exit 1)
    summary: str = ""  # Markdown for $GITHUB_STEP_SUMMARY
    annotations: list[Annotation] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # exported to $GITHUB_ENV
    message: str = ""  # one closing line for the log


def output_text(value: object) -> str:
    """How an output value is written: booleans as true/false, containers as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def refusal(
    action: str, message: str, *, hint: str = "", outputs: Mapping[str, object] | None = None
) -> Result:
    """A bad verdict (exit 1) whose whole report is why: `### <action> failed` and one error.

    The one way an action says "no": a Result with ok=False. Errors
    (errors.py) are for what kept it from answering (exit 2 or 3).
    """
    text = f"{message} ({hint})" if hint else message
    title = f"{action} failed"
    return Result(
        outputs=dict(outputs or {}),
        ok=False,
        summary=f"### {title}\n\n{text}\n",
        annotations=[Annotation(text, "error", title=title)],
        message=text,
    )
