"""ci-actions: reusable Python-backed GitHub Actions for container delivery."""

__version__ = "0.1.0"
