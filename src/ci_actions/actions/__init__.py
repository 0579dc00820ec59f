"""One module per action: SPEC, parse_inputs(raw) and run(inputs, ctx) -> Result.

An action's CLI name is its module name with `-` for `_`. Modules are found
by listing this folder and imported only when that action runs, so that
`ci-actions --version` stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_actions.github.context import Context
    from ci_actions.result import Result


def _discover() -> dict[str, str]:
    return {
        info.name.replace("_", "-"): f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not info.name.startswith("_")
    }


ACTIONS: dict[str, str] = _discover()


def invoke(name: str, values: Mapping[str, str], ctx: Context) -> Result:
    """Run another action in-process with inputs given by their action.yml names.

    Inputs left out take their declared defaults. This is how one action uses
    another (health-probe's rollback runs kustomize-bump, release-ledger's
    rollback runs kustomize-bump) without a second process.
    """
    from ci_actions.github.inputs import RawInputs

    module = importlib.import_module(ACTIONS[name])
    spec = module.SPEC
    unknown = set(values) - {item.name for item in spec.inputs}
    if unknown:
        raise ValueError(f"{name} has no input(s) {', '.join(sorted(unknown))}")
    raw = RawInputs(spec, {item.name: values.get(item.name, item.default) for item in spec.inputs})
    ctx.log.mask(raw.secrets())
    raw.check_values()
    raw.check_required()
    result: Result = module.run(module.parse_inputs(raw), ctx)
    return result
