"""The release ledger: every build and deployment of every service, kept in git.

One JSON Lines file per environment and service (`<ledger-dir>/<environment>/<service>.jsonl`),
append-only; queries fold it in one streaming pass. The action is
`ci_actions.actions.release_ledger`.
"""
