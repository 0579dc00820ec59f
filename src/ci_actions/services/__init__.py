"""Services of one repository: declared once (`.github/ci-actions.yml` or the `services`
input), validated, and selected by the files a change touches (pure; no I/O but reading
whether a context or Dockerfile exists)."""

from ci_actions.services.dump import dump
from ci_actions.services.model import (
    FILE,
    MAX_MATRIX,
    Service,
    ServiceEnvironment,
    ServicesError,
)
from ci_actions.services.parse import parse_services
from ci_actions.services.select import matrix, select

__all__ = [
    "FILE",
    "MAX_MATRIX",
    "Service",
    "ServiceEnvironment",
    "ServicesError",
    "dump",
    "matrix",
    "parse_services",
    "select",
]
