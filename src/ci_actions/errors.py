"""The one error hierarchy. Each error carries the exit code the CLI returns.

0 = done and the verdict is good (no error), 1 = the verdict is bad,
2 = bad input or configuration, 3 = the environment failed.

A bad verdict is not an error: an action returns it as `Result(ok=False)`
(`result.refusal` when the reason is all there is to report), with its
outputs, summary and annotations, and the CLI exits 1. The errors here are
for what kept an action from answering.
"""

from __future__ import annotations

from collections.abc import Mapping

EXIT_OK = 0
EXIT_VERDICT = 1
EXIT_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGINT, as shells report it
EXIT_TERMINATED = 143  # SIGTERM: a cancelled job or a step past its time-out


class Interrupted(KeyboardInterrupt):
    """A signal asked the run to stop; raised by the CLI's handler, caught where ^C is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class CiActionsError(Exception):
    """Base of every error an action raises on purpose."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Outputs known at the moment of failure; written before exiting.
        self.outputs: dict[str, object] = dict(outputs or {})

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(CiActionsError):
    """An input is wrong; the message names it and says how to fix it."""

    exit_code = EXIT_INPUT

    def __init__(self, name: str, message: str, *, hint: str = "", **kw: object) -> None:
        super().__init__(f"input '{name}': {message}", hint=hint, **kw)  # type: ignore[arg-type]
        self.input_name = name


class ConfigError(CiActionsError):
    """A file or setting the action was pointed at is wrong (not a single input)."""

    exit_code = EXIT_INPUT


class EnvironmentFailure(CiActionsError):
    """Something outside the action failed: a tool crashed, a server is unreachable."""

    exit_code = EXIT_ENVIRONMENT


class ToolNotFound(EnvironmentFailure):
    """A required executable is not installed."""
