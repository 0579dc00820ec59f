"""SemVer (node-semver's strict `valid`, with its optional leading `v`) and PEP 440 versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a semver or pep440 rule runs, not on every start
    from packaging.version import Version

MAX_LENGTH = 256  # node-semver rejects longer strings


@dataclass(frozen=True)
class SemVer:
    raw: str
    major: int
    minor: int
    patch: int
    prerelease: tuple[str | int, ...]
    build: tuple[str, ...]

    @property
    def version(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core + ("-" + ".".join(str(p) for p in self.prerelease) if self.prerelease else "")

    def scope(self) -> dict[str, Any]:
        """What a `pattern` sees: the fields of node-semver's SemVer object."""
        return {
            "raw": self.raw,
            "major": self.major,
            "minor": self.minor,
            "patch": self.patch,
            "prerelease": list(self.prerelease),
            "build": list(self.build),
            "version": self.version,
            "loose": True,
            "includePrerelease": False,
        }


def parse_semver(text: str) -> SemVer | None:
    if len(text) > MAX_LENGTH:
        return None
    import semver

    stripped = text.strip()
    if stripped.startswith("v"):
        stripped = stripped[1:]
    try:
        parsed = semver.Version.parse(stripped)
    except (ValueError, TypeError):
        return None
    pre: tuple[str | int, ...] = ()
    if parsed.prerelease:
        pre = tuple(int(p) if p.isdigit() else p for p in str(parsed.prerelease).split("."))
    build = tuple(str(parsed.build).split(".")) if parsed.build else ()
    return SemVer(text, parsed.major, parsed.minor, parsed.patch, pre, build)


@dataclass(frozen=True)
class Pep440:
    raw: str
    parsed: Version

    @property
    def clean(self) -> str:
        """The normalised version; the local part's segments are joined with commas,
        as @renovate/pep440 does (it renders the segment array as JavaScript text)."""
        public = self.parsed.public
        local = self.parsed.local
        return public + ("+" + local.replace(".", ",") if local else "")

    @property
    def is_special(self) -> bool:
        """A pre-, post- or dev-release: never `latest`, only `{{raw}}` or the clean version."""
        v = self.parsed
        return v.pre is not None or v.post is not None or v.dev is not None

    def part(self, index: int) -> int:
        release = self.parsed.release
        return release[index] if index < len(release) else 0


def parse_pep440(text: str) -> Pep440 | None:
    from packaging.version import InvalidVersion, Version

    try:
        return Pep440(text, Version(text))
    except InvalidVersion:
        return None
