"""The cores never reach up: no module outside the edges imports `ci_actions.actions` or `ci_actions.cli`.

The edges, and why they may:
- `actions/`: the actions themselves; one action calls another's `run`.
- `cli.py` and `__main__.py`: the entry point, which finds and runs the actions.
- `init.py`: `ci-actions init`, a command of the CLI like an action (an edge that
  writes files and runs git), not a core.
- `github/actionyml.py`: generates every `actions/<name>/action.yml` from each
  action's SPEC, so it must list the actions.

Everything else under src/ci_actions is a core (tags, scanners, registry,
kustomize, probes, ledger, render, manifests, builders, pathfilter, github's
inputs/context/runner, the shared modules): it is given what it needs (typed
settings, callbacks) and never imports an action. Every import counts: at
module level, inside a function, under `if TYPE_CHECKING:`, relative, or by
`importlib.import_module("...")`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import ci_actions

ROOT = Path(ci_actions.__file__).parent
EDGES = ("actions", "cli.py", "__main__.py", "init.py", "github/actionyml.py")
FORBIDDEN = ("ci_actions.actions", "ci_actions.cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imported(
    source: str, module: str = "ci_actions.core", is_package: bool = False
) -> Iterator[str]:
    """Every module name `source` imports, in any of the ways Python allows."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module, is_package)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                yield str(first.value)


def reaching_up(
    source: str, module: str = "ci_actions.core", is_package: bool = False
) -> list[str]:
    return sorted(
        {
            name
            for name in imported(source, module, is_package)
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
        }
    )


def core_modules() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if not any(rel == edge or rel.startswith(edge + "/") for edge in EDGES):
            found.append(path)
    return found


def test_the_cores_are_the_packages_named() -> None:
    tops = {p.relative_to(ROOT).parts[0] for p in core_modules()}
    for core in ("tags", "scanners", "registry", "kustomize", "probes", "ledger", "render"):
        assert core in tops
    assert not {"actions", "cli.py", "init.py"} & tops


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_core_imports_an_action_or_the_cli(path: Path) -> None:
    found = reaching_up(
        path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py"
    )
    assert not found, f"{path.relative_to(ROOT)} imports {', '.join(found)}: pass it in instead"


# Each way of importing, caught; and what is not an import, left alone.
CASES = [
    ("from ci_actions.actions import invoke", True),
    ("import ci_actions.actions.kustomize_bump", True),
    ("from ci_actions import actions", True),
    ("from ci_actions import cli", True),
    ("from ci_actions.cli import main", True),
    ("def f():\n    from ci_actions.actions import ACTIONS\n", True),
    (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from ci_actions.actions.release_ledger import LedgerInputs\n",
        True,
    ),
    ("from ..actions import kustomize_bump", True),  # relative, from ci_actions.ledger.x
    ("from .. import cli", True),
    ("import importlib\nimportlib.import_module('ci_actions.actions.changes')", True),
    ("from ci_actions.ledger import store", False),
    ("from ci_actions.github.actionyml import render", False),
    ("from ci_actions.actionsmith import x", False),
    ("text = 'from ci_actions.actions import invoke'", False),
    ("from . import torn", False),
]


@pytest.mark.parametrize(("source", "caught"), CASES)
def test_every_kind_of_import_is_seen(source: str, caught: bool) -> None:
    assert bool(reaching_up(source, "ci_actions.ledger.commands")) is caught
