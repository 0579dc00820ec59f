"""Settings of a service: environment first, then the defaults the service gives."""

from __future__ import annotations

import os
from pathlib import Path

# Loopback unless told otherwise: a process started by hand is not reachable
# from the network. The images set HOST=0.0.0.0, because in a container the
# pod's network namespace is the boundary and the kubelet's probes and the
# Service reach the process on the pod IP, not on loopback.
DEFAULT_HOST = "127.0.0.1"


def version(package: Path) -> str:
    """The release this process runs: APP_VERSION, else the VERSION file of `package`."""
    value = os.environ.get("APP_VERSION", "").strip()
    if value:
        return value
    version_file = package / "VERSION"
    if version_file.is_file():
        return version_file.read_text(encoding="utf-8").strip() or "unknown"
    return "unknown"


def host() -> str:
    """The address to listen on: HOST, else loopback."""
    return os.environ.get("HOST", "").strip() or DEFAULT_HOST


def port(default: int) -> int:
    return int(os.environ.get("PORT", default))


def database_path(variable: str, default: str) -> Path:
    """The database file: $variable, else `default` (relative to the working directory;
    the deployment creates `instance/`, the image ships no database)."""
    return Path(os.environ.get(variable, "").strip() or default)
