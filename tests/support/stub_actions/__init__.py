"""Stand-ins for kustomize-bump and release-ledger with their documented inputs and
outputs, registered only by the tests that exercise health-probe's gitops rollback
through `ci_actions.actions.invoke`. CALLS records (action, inputs given)."""

from __future__ import annotations

CALLS: list[tuple[str, dict[str, str]]] = []
