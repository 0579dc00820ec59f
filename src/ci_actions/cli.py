"""`ci-actions <name> --<input> VALUE ...`: every action on the command line.

The one error handler lives here: exit 0 good verdict, 1 bad verdict,
2 bad input or configuration, 3 the environment failed (and any
unexpected exception, with the traceback only in debug). SIGINT and SIGTERM
(a cancelled job, a step time-out) stop the running commands and exit 130
or 143, saying which push may or may not have landed.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from ci_actions import __version__

if TYPE_CHECKING:  # imported lazily: `ci-actions --version` must cost little more than Python
    import argparse
    from collections.abc import Collection, Mapping, Sequence
    from types import FrameType, ModuleType
    from typing import TextIO

    from ci_actions.github.runner import Runner

COMMANDS: dict[str, str] = {
    # Commands that are not composite actions (no action.yml).
    "init": "ci_actions.init",
}


def _top_parser() -> argparse.ArgumentParser:
    import argparse

    from ci_actions.actions import ACTIONS

    parser = argparse.ArgumentParser(
        prog="ci-actions",
        description="Container delivery actions; each also runs as a GitHub Action.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"ci-actions {__version__}")
    parser.add_argument(
        "command", nargs="?", help="one of: " + ", ".join(sorted({*ACTIONS, *COMMANDS}))
    )
    return parser


def _action_parser(name: str, module: ModuleType) -> argparse.ArgumentParser:
    import argparse

    spec = module.SPEC
    parser = argparse.ArgumentParser(
        prog=f"ci-actions {name}",
        description=spec.description,
        allow_abbrev=False,  # `--push` must never be taken for `--push-retries`
    )
    for item in spec.inputs:
        text = item.description + (f" (default: {item.default!r})" if item.default else "")
        parser.add_argument(
            f"--{item.name}",
            dest=item.name,
            action="append",
            metavar="VALUE",
            help=text.replace("%", "%%"),  # argparse %-formats help; a default may hold `{% %}`
        )
    parser.add_argument("--json", action="store_true", help="print outputs as one JSON object")
    parser.add_argument("--debug", action="store_true", help="debug logs (as RUNNER_DEBUG=1)")
    return parser


def plain_flags(argv: Sequence[str], names: Collection[str]) -> dict[str, Any] | None:
    """What _action_parser makes of `argv` when it holds only `--INPUT VALUE`,
    `--INPUT=VALUE`, `--json` and `--debug` (as every workflow step calls an action),
    without importing argparse; None for anything else (help, an unknown or abbreviated
    flag, a value that starts with `-`), which argparse then parses or refuses."""
    args: dict[str, Any] = {"json": False, "debug": False}
    values: dict[str, list[str]] = {}
    rest = iter(argv)
    for token in rest:
        if token in ("--json", "--debug"):
            args[token[2:]] = True
            continue
        name, eq, value = token.removeprefix("--").partition("=")
        if not token.startswith("--") or name not in names:
            return None
        if not eq:
            value = next(rest, "-")
            if value.startswith("-"):
                return None
        values.setdefault(name, []).append(value)
    return {**{name: values.get(name) for name in names}, **args}


def run_action(
    name: str,
    argv: Sequence[str],
    environ: Mapping[str, str],
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    import importlib

    from ci_actions.actions import ACTIONS
    from ci_actions.errors import (
        EXIT_ENVIRONMENT,
        EXIT_INTERRUPTED,
        EXIT_OK,
        EXIT_TERMINATED,
        EXIT_VERDICT,
        CiActionsError,
        Interrupted,
    )
    from ci_actions.github.context import Context
    from ci_actions.github.inputs import RawInputs
    from ci_actions.github.runner import Runner

    try:
        module = importlib.import_module(ACTIONS[name])
    except ModuleNotFoundError as exc:
        what = extra_message(name, exc) if missing_extra(exc) else f"unexpected error: {exc!r}"
        print(f"error: {what}", file=stderr or sys.stderr)
        return EXIT_ENVIRONMENT
    spec = module.SPEC
    names = [i.name for i in spec.inputs]
    args = plain_flags(argv, names)
    if args is None:
        args = vars(_action_parser(name, module).parse_args(list(argv)))
    flags = {k: "\n".join(v) for k, v in args.items() if k in names and v}
    runner = Runner(
        environ,
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
        debug=args["debug"],
        json_outputs=args["json"],
    )
    declared = [o.name for o in spec.outputs]
    raw = RawInputs.collect(spec, environ, flags)
    runner.mask(raw.secrets())  # before anything else is printed
    for input_name in raw.unexpanded:
        runner.warning(
            f"{input_name}: the value is a GitHub expression nobody expanded (the action's "
            "default, run as a command): treated as empty; pass the value itself "
            f"(--{input_name} or INPUT_{input_name.upper()})"
        )
    previous = _trap_signals()
    try:
        raw.check_values()
        raw.check_required()
        inputs = module.parse_inputs(raw)
        result = module.run(inputs, Context.from_env(runner, environ))
    except CiActionsError as exc:
        _fail(runner, name, declared, str(exc), exc.outputs)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        if not missing_extra(exc):
            return _crashed(name, exc, runner, declared)
        _fail(runner, name, declared, extra_message(name, exc))
        return EXIT_ENVIRONMENT
    except KeyboardInterrupt as exc:
        from ci_actions import proc

        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        _fail(runner, name, declared, interrupted_message(signum, proc.stop_all()))
        return EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED
    except Exception as exc:  # an unexpected crash is never a pass
        return _crashed(name, exc, runner, declared)
    finally:
        _restore_signals(previous)
    runner.finish(declared, result)
    return EXIT_OK if result.ok else EXIT_VERDICT


_TRAPPED = (signal.SIGINT, signal.SIGTERM)
Handlers = dict[int, "signal._HANDLER"]


def _trap_signals() -> Handlers:
    """SIGINT and SIGTERM raise Interrupted in the main thread; the handlers they replace."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, _on_signal) for signum in _TRAPPED}


def _on_signal(signum: int, frame: FrameType | None) -> None:
    for trapped in _TRAPPED:  # a second signal must not cut the clean-up short
        signal.signal(trapped, signal.SIG_IGN)
    from ci_actions.errors import Interrupted

    raise Interrupted(signum)


def _restore_signals(previous: Handlers) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def interrupted_message(signum: int, stopped: Sequence[Sequence[str]]) -> str:
    """What was cut short: a push may have landed, or not; the rest just stopped."""
    message = f"interrupted by {signal.Signals(signum).name}"
    if not stopped:
        return message
    return message + " during " + "; ".join(_cut_short(argv) for argv in stopped)


def _cut_short(argv: Sequence[str]) -> str:
    tool = os.path.basename(argv[0]) if argv else "?"
    args = list(argv[1:])
    # git's subcommand comes first; buildah/podman/docker may have global options before it
    if (args[:1] == ["push"]) if tool == "git" else ("push" in args):
        after = [a for a in args[args.index("push") + 1 :] if not a.startswith("-")]
        where = (after[0] if tool == "git" else after[-1]) if after else "the remote"
        return (
            f"{tool} push to {where}: the push may or may not have landed; "
            f"check {where} before running again"
        )
    command = " ".join(argv)
    return f"`{command[:200]}` stopped"


def _fail(
    runner: Runner,
    name: str,
    declared: Sequence[str],
    message: str,
    outputs: Mapping[str, object] | None = None,
    *,
    crashed: bool = False,
) -> None:
    """Report an action that did not finish: annotation, step summary, every output (empty)."""
    title = f"{name} {'crashed' if crashed else 'failed'}"
    runner.error(message, title=title)
    runner.write_summary(f"### {title}\n\n{message}\n")
    runner.write_outputs(declared, dict(outputs or {}))


def _crashed(name: str, exc: Exception, runner: Runner, declared: list[str]) -> int:
    import traceback

    from ci_actions.errors import EXIT_ENVIRONMENT

    runner.debug("".join(traceback.format_exception(exc)))
    hint = "" if runner.debug_enabled else " (run with --debug or RUNNER_DEBUG=1 for the traceback)"
    _fail(
        runner, name, declared, f"unexpected error: {type(exc).__name__}: {exc}{hint}", crashed=True
    )
    return EXIT_ENVIRONMENT


def missing_extra(exc: ModuleNotFoundError) -> str:
    """The package extra (`manifests`, `scanners`, ...) that provides the missing module, or ""."""
    import importlib.metadata

    from packaging.requirements import InvalidRequirement, Requirement

    wanted = (exc.name or "").split(".")[0].lower()
    try:
        requires = importlib.metadata.requires("ci-actions") or []
        provided = importlib.metadata.metadata("ci-actions").get_all("Provides-Extra") or []
    except importlib.metadata.PackageNotFoundError:
        return ""
    extras: list[str] = [str(e) for e in provided if e != "test"]  # needed at run time
    for text in requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        module = req.name.replace("-", "_").replace(".", "_").lower()
        if req.marker is None or module != wanted:
            continue
        for extra in extras:
            if req.marker.evaluate({"extra": extra}):
                return str(extra)
    return ""


def extra_message(name: str, exc: ModuleNotFoundError) -> str:
    extra = missing_extra(exc)
    return (
        f"{name} needs the '{extra}' extra, which is not installed (no module {exc.name}):"
        f" pip install 'ci-actions[{extra}]'"
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        print(f"ci-actions {__version__}")
        return 0
    import importlib

    from ci_actions.actions import ACTIONS

    env = dict(os.environ if environ is None else environ)
    if not args or args[0].startswith("-"):
        parser = _top_parser()
        parser.parse_args(args)
        parser.print_help()
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name in ACTIONS:
        return run_action(name, rest, env)
    if name in COMMANDS:
        module = importlib.import_module(COMMANDS[name])
        return int(module.main(rest, env))
    print(
        f"ci-actions: unknown command {name!r}; try one of: {', '.join(sorted({*ACTIONS, *COMMANDS}))}",
        file=sys.stderr,
    )
    return 2
