"""One module (or package) per action: SPEC, parse_inputs(raw) and run(inputs, ctx) -> Result.

An action's CLI name is its module name with `-` for `_`. Modules are found
by listing this folder and imported only when that action runs, so that
`ci-actions --version` stays cheap. One action uses another by calling its
`run` with its typed inputs (health-probe's rollback runs kustomize-bump).
A bad verdict is `Result(ok=False)`; errors (errors.py) are for exit 2 and 3.
"""

from __future__ import annotations

import os


def _discover() -> dict[str, str]:
    """Each module (`NAME.py`) or package (`NAME/__init__.py`) of this folder, by CLI name."""
    here = os.path.dirname(__file__)
    names = []
    for entry in os.scandir(here):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_file() and entry.name.endswith(".py"):
            names.append(entry.name[: -len(".py")])
        elif entry.is_dir() and os.path.isfile(os.path.join(entry.path, "__init__.py")):
            names.append(entry.name)
    return {name.replace("_", "-"): f"{__name__}.{name}" for name in sorted(names)}


ACTIONS: dict[str, str] = _discover()
