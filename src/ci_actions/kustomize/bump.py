"""Plan a bump over files (pure: read, compute, diff), then write it all or nothing."""

from __future__ import annotations

import difflib
import glob
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

    def write(self) -> list[str]:
        """Write every changed file atomically; returns their relative paths."""
        return [f.rel for f in self.files if f.changed and fsutil.write_atomic(f.path, f.after)]


def is_kustomization(path: Path) -> bool:
    return path.name in KUSTOMIZATION_NAMES


def find_files(root: Path, patterns: Sequence[str]) -> list[Path]:
    """Files named by `patterns` (files, directories meaning their kustomization, globs).

    Raises PathsError naming the pattern that names nothing.
    """
    found: dict[Path, None] = {}
    for pattern in patterns:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise PathsError(f"{pattern!r} is outside the repository; give a path inside it")
        target = root / pattern
        if glob.has_magic(pattern):
            hits = sorted(
                Path(p)
                for p in glob.glob(str(target), recursive=True)
                if Path(p).is_file()
                and (Path(p).suffix in YAML_SUFFIXES or is_kustomization(Path(p)))
            )
            if not hits:
                raise PathsError(f"{pattern!r} matches no YAML file")
            found.update(dict.fromkeys(hits))
        elif target.is_dir():
            kust = next((target / n for n in KUSTOMIZATION_NAMES if (target / n).is_file()), None)
            if kust is None:
                raise PathsError(f"{pattern!r} is a directory without a kustomization.yaml")
            found[kust] = None
        elif target.is_file():
            found[target] = None
        else:
            raise PathsError(f"{pattern!r} does not exist")
    return list(found)


def bump_text(
    text: str, rel: str, kustomization: bool, settings: Sequence[ImageSetting]
) -> tuple[str, list[ImageChange]]:
    """The new text of one file and what changed in it (raises YamlFileError)."""
    docs = compose_documents(text, rel)
    edits: list[Edit] = []
    changes: list[ImageChange] = []
    if kustomization:
        edits, changes = kustfile.set_images(text, rel, settings)
    else:
        edits, changes = manifests.set_images(docs, settings)
    marker_edits, marker_changes = markers.set_images(text, docs, settings)
    for edit in marker_edits:  # a scalar already set by the kustomize semantics stays so
        if not any(conflicts(edit, other) for other in edits):
            edits.append(edit)
    changes += marker_changes
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
