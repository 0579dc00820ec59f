"""health-probe's cores: rollout status, image checks, diagnostics, HTTP and Argo CD checks, rollback."""
