"""Named path filters: a file belongs to a filter when it matches one of the
filter's globs and none of its `!` exclusions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ci_actions.pathfilter.globs import compile_glob


@dataclass(frozen=True)
class PathFilter:
    name: str
    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_patterns(cls, name: str, patterns: Iterable[str]) -> PathFilter:
        include: list[str] = []
        exclude: list[str] = []
        for pattern in patterns:
            if pattern.startswith("!"):
                exclude.append(pattern[1:])
            else:
                include.append(pattern)
        return cls(name, tuple(include), tuple(exclude))

    def matches(self, path: str) -> bool:
        if any(compile_glob(p).matches(path) for p in self.exclude):
            return False
        if not self.include:  # only exclusions: everything else belongs
            return True
        return any(compile_glob(p).matches(path) for p in self.include)

    def select(self, paths: Iterable[str]) -> list[str]:
        return [p for p in paths if self.matches(p)]


def parse_filters(data: object) -> list[PathFilter]:
    """Filters from `{name: [globs]}` (a single glob string is allowed).

    Raises ValueError with the offending name; the caller turns it into an
    input error.
    """
    if data is None:
        return []
    if not isinstance(data, Mapping):
        raise ValueError("must be a YAML mapping of filter name to a list of globs")
    filters: list[PathFilter] = []
    for name, patterns in data.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"filter name {name!r} must be a non-empty string")
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            raise ValueError(f"filter {name!r} must be a list of glob strings")
        filters.append(PathFilter.from_patterns(name, patterns))
    return filters


@dataclass(frozen=True)
class Classification:
    files: tuple[str, ...]
    docs_only: bool
    matched: dict[str, list[str]]

    @property
    def any_changed(self) -> bool:
        return bool(self.files)


def classify(
    files: Sequence[str], docs_globs: Sequence[str], filters: Sequence[PathFilter]
) -> Classification:
    """docs_only is True only when something changed and every change is a doc."""
    docs = PathFilter.from_patterns("docs", docs_globs)
    docs_only = bool(files) and bool(docs_globs) and all(docs.matches(f) for f in files)
    return Classification(
        files=tuple(files),
        docs_only=docs_only,
        matched={f.name: f.select(files) for f in filters},
    )
