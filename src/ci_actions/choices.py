"""Choices (modes, commands, policies, verdicts) are enums, matched exhaustively.

`Choice` is the base of those enums: its members are their input values
(`Mode("commit")`), and print as them on every Python (a plain `(str, Enum)`
prints `Mode.COMMIT` on some versions). `assert_never(value)` closes a match
over one: mypy reports the members a match forgets. typing has it from Python
3.11; the package still imports on 3.10.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import NoReturn


class Choice(str, Enum):
    """A choice an input makes; the value is what the input says."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


if sys.version_info >= (3, 11):
    from typing import assert_never
else:  # pragma: no cover - mypy checks against 3.11

    def assert_never(value: NoReturn, /) -> NoReturn:
        raise AssertionError(f"unhandled choice: {value!r}")


__all__ = ["Choice", "assert_never"]
