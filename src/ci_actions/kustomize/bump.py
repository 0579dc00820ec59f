"""Plan a bump over files (pure: read, compute, diff), then write it all or nothing."""

from __future__ import annotations

import difflib
import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ci_actions import fsutil
from ci_actions.kustomize import kustfile, manifests, markers
from ci_actions.kustomize.kustfile import KUSTOMIZATION_NAMES, ImageChange
from ci_actions.kustomize.setimage import ImageSetting
from ci_actions.kustomize.spans import (
    Edit,
    apply_edits,
    compose_documents,
    conflicts,
    read_text,
)

YAML_SUFFIXES = (".yaml", ".yml")


class PathsError(ValueError):
    pass


@dataclass(frozen=True)
class FileBump:
    path: Path
    rel: str  # relative to the root, `/`-separated
    before: str
    after: str
    changes: tuple[ImageChange, ...]

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                f"a/{self.rel}",
                f"b/{self.rel}",
            )
        )


@dataclass(frozen=True)
class Plan:
    files: tuple[FileBump, ...]
    settings: tuple[ImageSetting, ...]
    # image name -> the first value it had (file order), for a rollback
    previous: dict[str, str] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)

    @property
    def changed_files(self) -> list[str]:
        return [f.rel for f in self.files if f.changed]

    def unmatched(self) -> list[str]:
        """Names of the images that were found nowhere."""
        seen = {c.name for f in self.files for c in f.changes}
        return [s.name for s in self.settings if s.name not in seen]

    def diff(self) -> str:
        return "".join(f.diff() for f in self.files if f.changed)

    def write(self, *, sync: bool = False) -> list[str]:
        """Write every changed file atomically, all or none; returns their relative paths.

        No fsync by default: a bump is re-derived from its inputs at will and
        the pushed commit is its durable record, while syncing a thousand
        files costs seconds on a busy disk.
        """
        changed = [f for f in self.files if f.changed]
        written = set(fsutil.write_atomic_many(((f.path, f.after) for f in changed), sync=sync))
        return [f.rel for f in changed if f.path in written]


def is_kustomization(path: Path) -> bool:
    return path.name in KUSTOMIZATION_NAMES


def _kustomization_in(directory: Path) -> Path | None:
    return next((directory / n for n in KUSTOMIZATION_NAMES if (directory / n).is_file()), None)


def inside(root: Path, pattern: str) -> str:
    """`pattern` relative to `root`, `/`-separated: an absolute path or one with `..` is
    accepted when it leads inside `root` (`$PWD/overlays/dev`), else PathsError."""
    path = Path(pattern)
    absolute = Path(os.path.normpath(path if path.is_absolute() else root.absolute() / path))
    candidates = [absolute]
    if path.is_absolute() and not glob.has_magic(pattern):
        candidates.append(absolute.resolve())  # e.g. /tmp named through a symlink
    for top in dict.fromkeys((root.absolute(), root.resolve())):
        for candidate in candidates:
            if candidate.is_relative_to(top):
                return candidate.relative_to(top).as_posix()
    raise PathsError(
        f"{pattern!r} is outside the repository ({root.absolute()}); give a path inside it"
    )


def find_files(root: Path, patterns: Sequence[str]) -> list[Path]:
    """Files named by `patterns` (files, directories meaning their kustomization, globs).

    Raises PathsError naming the pattern that names nothing.
    """
    found: dict[Path, None] = {}
    for given in patterns:
        pattern = inside(root, given)
        target = root / pattern
        if glob.has_magic(pattern):
            hits: list[Path] = []
            for hit in sorted(Path(p) for p in glob.glob(str(target), recursive=True)):
                if hit.is_dir():  # a directory a glob names stands for its kustomization
                    hits += [k for k in [_kustomization_in(hit)] if k is not None]
                elif hit.suffix in YAML_SUFFIXES or is_kustomization(hit):
                    hits.append(hit)
            if not hits:
                raise PathsError(f"{given!r} matches no YAML file and no kustomization")
            found.update(dict.fromkeys(hits))
        elif target.is_dir():
            kust = _kustomization_in(target)
            if kust is None:
                raise PathsError(f"{given!r} is a directory without a kustomization.yaml")
            found[kust] = None
        elif target.is_file():
            found[target] = None
        else:
            raise PathsError(f"{given!r} does not exist")
    for path in found:  # a symlink must not lead the edit out of the repository
        if why := fsutil.escape_reason(root, path, allow_links=True):
            raise PathsError(f"{path.relative_to(root)} {why}")
    return list(found)


def bump_text(
    text: str, rel: str, kustomization: bool, settings: Sequence[ImageSetting]
) -> tuple[str, list[ImageChange]]:
    """The new text of one file and what changed in it (raises YamlFileError)."""
    if (
        not kustomization
        and "$imagepolicy" not in text
        and not any(s.name in text for s in settings)
    ):
        compose_documents(text, rel)  # still refuse a broken file; nothing here to set
        return text, []
    docs = compose_documents(text, rel)
    edits: list[Edit] = []
    changes: list[ImageChange] = []
    if kustomization:
        edits, changes = kustfile.set_images(text, rel, docs, settings)
    else:
        edits, changes = manifests.set_images(docs, settings)
    marker_edits, marker_changes = markers.set_images(text, docs, settings)
    for edit in marker_edits:  # a scalar already set by the kustomize semantics stays so
        if not any(conflicts(edit, other) for other in edits):
            edits.append(edit)
    changes += marker_changes
    if "\r\n" in text:  # lines this adds end as the file's lines do
        edits = [Edit(e.start, e.end, e.text.replace("\n", "\r\n")) for e in edits]
    return (apply_edits(text, edits) if edits else text), changes


def plan(root: Path, files: Sequence[Path], settings: Sequence[ImageSetting]) -> Plan:
    bumps: list[FileBump] = []
    previous: dict[str, str] = {}
    current: dict[str, str] = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        before = read_text(path, rel)
        after, changes = bump_text(before, rel, is_kustomization(path), settings)
        for change in changes:
            if change.previous:
                previous.setdefault(change.name, change.previous)
            current.setdefault(change.name, change.current)
        bumps.append(FileBump(path, rel, before, after, tuple(changes)))
    return Plan(tuple(bumps), tuple(settings), previous, current)
