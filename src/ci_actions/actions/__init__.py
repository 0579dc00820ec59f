"""One module (or package) per action: SPEC, parse_inputs(raw) and run(inputs, ctx) -> Result.

An action's CLI name is its module name with `-` for `_`. Modules are found
by listing this folder and imported only when that action runs, so that
`ci-actions --version` stays cheap. One action uses another by calling its
`run` with its typed inputs (health-probe's rollback runs kustomize-bump).
A bad verdict is `Result(ok=False)`; errors (errors.py) are for exit 2 and 3.
"""

from __future__ import annotations

import pkgutil
from pathlib import Path


def _discover() -> dict[str, str]:
    return {
        info.name.replace("_", "-"): f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not info.name.startswith("_")
    }


ACTIONS: dict[str, str] = _discover()
