"""Choices (modes, commands, policies, verdicts) are enums, matched exhaustively.

`assert_never(value)` closes a match over an enum: mypy reports the members
a match forgets. typing has it from Python 3.11; the package still imports on 3.10.
"""

from __future__ import annotations

import sys
from typing import NoReturn

if sys.version_info >= (3, 11):
    from typing import assert_never
else:  # pragma: no cover - mypy checks against 3.11

    def assert_never(value: NoReturn, /) -> NoReturn:
        raise AssertionError(f"unhandled choice: {value!r}")


__all__ = ["assert_never"]
