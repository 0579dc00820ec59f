"""Where the service reads its settings: environment first, then these defaults."""

from __future__ import annotations

import os
from pathlib import Path

# Relative to the working directory the service is started in; the deployment
# creates `instance/` (the image does not ship a database).
DEFAULT_DATABASE = "instance/blocklist.db"
DEFAULT_PORT = 8541
# Loopback unless told otherwise: a process started by hand is not reachable
# from the network. The image sets HOST=0.0.0.0, because in a container the
# pod's network namespace is the boundary and the kubelet's probes and the
# Service reach the process on the pod IP, not on loopback.
DEFAULT_HOST = "127.0.0.1"


def database_path() -> Path:
    return Path(os.environ.get("BLOCKLIST_DATABASE", DEFAULT_DATABASE))


def version() -> str:
    """The release this process runs: APP_VERSION, else the VERSION file beside the app."""
    value = os.environ.get("APP_VERSION", "").strip()
    if value:
        return value
    version_file = Path(__file__).with_name("VERSION")
    if version_file.is_file():
        return version_file.read_text(encoding="utf-8").strip() or "unknown"
    return "unknown"


def host() -> str:
    """The address to listen on: HOST, else loopback."""
    return os.environ.get("HOST", "").strip() or DEFAULT_HOST


def port() -> int:
    return int(os.environ.get("PORT", DEFAULT_PORT))
