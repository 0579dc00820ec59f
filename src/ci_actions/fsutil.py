"""File writes that are all-or-nothing, strict UTF-8 reads of the files a workflow
names, and the rule for paths that must stay in a repository."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from ci_actions.errors import ConfigError


def _mkstemp(path: Path) -> tuple[int, str]:
    """A new temp file beside `path` (same folder: the rename that follows is atomic)."""
    import tempfile  # here, not at the top: most runs write nothing

    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)


def escape_reason(root: Path, path: Path, *, allow_links: bool = False) -> str:
    """Why `path` may not be used as a path inside `root`, or "" when it may.

    It may not leave `root` by its spelling (`..`, an absolute path elsewhere)
    nor once every symlink is resolved. Unless `allow_links`, no part of it
    below `root` may be a symlink at all, even one that stays inside: a link
    committed to a repository is data, and a write must not follow data.
    Parts that do not exist yet are fine (they will be created as plain
    directories and files).
    """
    top = Path(os.path.abspath(root))
    spelled = Path(os.path.abspath(path))
    if not spelled.is_relative_to(top):
        return "is outside the repository"
    if not allow_links:
        current = top
        for part in spelled.relative_to(top).parts:
            current = current / part
            if current.is_symlink():
                return f"is a symlink ({current.relative_to(top).as_posix()} -> {os.readlink(current)})"
    if not spelled.resolve().is_relative_to(top.resolve()):
        return "leads outside the repository (a symlink)"
    return ""


def utf8_problem(data: bytes) -> str:
    """Where `data` stops being UTF-8 ("byte 0xff at offset 12 (line 2)"), or "" when it is."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return f"byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line})"
    return ""


def read_text_strict(path: Path, what: str) -> str:
    """The text of a file the workflow named; not UTF-8 is bad input (exit 2) naming
    the file (`what`, e.g. "baseline .security-baseline") and the first bad byte.
    OSError is left to the caller, which knows what a missing file means."""
    data = path.read_bytes()
    problem = utf8_problem(data)
    if problem:
        raise ConfigError(f"{what} is not UTF-8 text: {problem}", hint="save the file as UTF-8")
    return data.decode("utf-8")


def write_atomic(path: Path, content: str | bytes) -> bool:
    """Replace `path` only when its content changes: temp file in the same dir + rename.

    Returns True when the file was written. The original mode is kept; on any
    error the original file is untouched.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if path.read_bytes() == data:
            return False
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, tmp = _mkstemp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def write_atomic_many(
    files: Iterable[tuple[Path, str | bytes]], *, sync: bool = True
) -> list[Path]:
    """Replace several files, all or none: every new content goes to a temp file
    first, then all are renamed into place. Files whose content is unchanged
    are skipped. With sync, each temp file is fsynced before the renames (in
    parallel, so the syncs overlap); without, the renames are still atomic but
    a power loss may lose the new contents.

    Returns the paths written. When writing any temp file fails, no file is touched.
    """
    pending: list[tuple[Path, bytes, int | None]] = []
    for path, content in files:
        data = content.encode("utf-8") if isinstance(content, str) else content
        try:
            if path.read_bytes() == data:
                continue
            mode: int | None = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = None
        pending.append((path, data, mode))
    if not pending:
        return []
    temps: list[str] = []

    def stage(item: tuple[Path, bytes, int | None]) -> str:
        path, data, mode = item
        fd, tmp = _mkstemp(path)
        temps.append(tmp)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        return tmp

    try:
        if sync and len(pending) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(16, len(pending))) as pool:
                staged = list(pool.map(stage, pending))
        else:
            staged = [stage(item) for item in pending]
        for (path, _, _), tmp in zip(pending, staged, strict=True):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    return [path for path, _, _ in pending]
