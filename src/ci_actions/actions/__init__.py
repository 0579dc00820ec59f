"""One module per action: SPEC, parse_inputs(raw) and run(inputs, ctx) -> Result.

ACTIONS maps each action's CLI name to its module, imported only when that
action runs so that `ci-actions --version` stays cheap.
"""

ACTIONS: dict[str, str] = {
    "changes": "ci_actions.actions.changes",
}
