"""Scanner adapters and the security gate\x27s pure core (findings, policy, SARIF, summary)."""
