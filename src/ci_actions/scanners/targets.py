"""What the code scanners look at: the gate picks the files, not the scanned repository.

Default excludes are anchored at the root of the scan (the working directory):
`/build` is skipped, `pkg/build` is scanned, so moving code into a folder named
`build` somewhere does not hide it. `.git` folders are skipped at any depth
(git cannot track files inside one). `exclude` patterns come from the
workflow: a bare name (`vendor`) is skipped at any depth, anything else is a
glob over the root-relative path (`service/store.py`, `gen/*`).

Test files (`tests/` folders, `test_*.py`, `*_test.py`, `conftest.py`) are
where some rules only make noise: `assert` (B101) and subprocess use
(B404, B603, B607) are expected there.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

# Skipped at the root of the scan only: virtualenvs, vendored and built code.
DEFAULT_EXCLUDES = (
    "build",
    "dist",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".eggs",
    "node_modules",
    "site-packages",
    "__pycache__",
)
ANYWHERE = (".git",)
PYTHON_GLOBS = ("*.py", "*.pyw")
# bandit rules that are not applied to test files unless `test-file-rules` says otherwise
TEST_FILE_RULES = ("B101", "B404", "B603", "B607")
_TEST_NAME = re.compile(r"^(test_.*\.py|.*_test\.py|conftest\.py)$")


def anchored_excludes() -> list[str]:
    """The default excludes as the summary shows them: `/build`, `/dist`, ..."""
    return [f"/{name}" for name in DEFAULT_EXCLUDES] + [f"{name}/ (any depth)" for name in ANYWHERE]


def excluded(rel: str, patterns: Sequence[str], *, defaults: bool = True) -> bool:
    """Whether a root-relative posix path is skipped by the defaults or an `exclude` pattern."""
    parts = PurePosixPath(rel).parts
    if not parts:
        return False
    if any(p in ANYWHERE for p in parts) or (defaults and parts[0] in DEFAULT_EXCLUDES):
        return True
    return any(_matches(rel, parts, pattern) for pattern in patterns)


def _matches(rel: str, parts: tuple[str, ...], raw: str) -> bool:
    pattern = raw.strip().strip("/")
    if not pattern:
        return False
    if "/" not in pattern:  # a name or a name glob: at any depth
        return any(fnmatch.fnmatchcase(part, pattern) for part in parts)
    prefixes = ("/".join(parts[:n]) for n in range(1, len(parts) + 1))
    return any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes)


def python_files(root: Path, paths: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """Root-relative Python files under `paths`, minus the excluded ones, sorted.

    A path the workflow names inside a default exclude (`paths: build/gen`) is
    scanned: the defaults only apply to what a walk from the root would meet.
    """
    found: set[str] = set()
    root = root.resolve()
    for target in paths:
        start = (root / target).resolve()
        base = _relative(start, root)
        defaults = not excluded(base, (), defaults=True) if base else True
        if start.is_file():
            found.add(base)
            continue
        for folder, dirs, files in os.walk(start):
            here = _relative(Path(folder), root)
            dirs[:] = sorted(
                d for d in dirs if not excluded(_join(here, d), patterns, defaults=defaults)
            )
            for name in files:
                rel = _join(here, name)
                if any(fnmatch.fnmatchcase(name, g) for g in PYTHON_GLOBS) and not excluded(
                    rel, patterns, defaults=defaults
                ):
                    found.add(rel)
    return sorted(found)


def is_test_file(rel: str) -> bool:
    path = PurePosixPath(rel)
    return "tests" in path.parts[:-1] or bool(_TEST_NAME.match(path.name))


def _relative(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root.resolve())
    except ValueError:
        return path.as_posix()
    return "" if rel == Path(".") else rel.as_posix()


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name
