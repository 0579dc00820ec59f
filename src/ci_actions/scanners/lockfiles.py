"""Lock files as requirements lists, so the dependency scanners can read them.

safety and pip-audit read pinned requirements files. A project managed by uv
or Poetry has a lock file instead; the gate turns it into `name==version`
lines (one per package installed from an index) before the scanners run:

- `uv.lock`: every `[[package]]` whose `source` is a registry;
- `poetry.lock`: every `[[package]]` not from git, a folder, a file or a URL;
- `pyproject.toml`: the `[project] dependencies` list as written (pin them).

Packages of the project itself (editable, workspace, path, git) are left out:
no advisory database knows them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

LOCK_FILES = ("uv.lock", "poetry.lock", "pyproject.toml")
_POETRY_LOCAL = {"git", "directory", "file", "url"}


class LockError(ValueError):
    """The file does not parse or lists nothing a scanner could check."""


def is_lock_file(name: str) -> bool:
    return Path(name).name in LOCK_FILES


def _toml(path: Path) -> dict[str, Any]:
    if sys.version_info < (3, 11):
        raise LockError(f"reading {path.name} needs Python 3.11 or newer")
    import tomllib

    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LockError(f"{path.name} does not parse: {exc}") from exc
    return data


def _uv(data: dict[str, Any]) -> list[str]:
    return [
        f"{p['name']}=={p['version']}"
        for p in data.get("package", [])
        if "registry" in (p.get("source") or {}) and p.get("version")
    ]


def _poetry(data: dict[str, Any]) -> list[str]:
    return [
        f"{p['name']}=={p['version']}"
        for p in data.get("package", [])
        if (p.get("source") or {}).get("type") not in _POETRY_LOCAL and p.get("version")
    ]


def _pyproject(data: dict[str, Any]) -> list[str]:
    return [str(d) for d in data.get("project", {}).get("dependencies", [])]


def requirements_lines(path: Path) -> list[str]:
    """The packages a lock file (or pyproject.toml) names, as requirement lines."""
    data = _toml(path)
    lines = {"uv.lock": _uv, "poetry.lock": _poetry, "pyproject.toml": _pyproject}[path.name](data)
    if not lines:
        raise LockError(f"{path.name} names no package installed from an index")
    return sorted(set(lines), key=str.lower)
