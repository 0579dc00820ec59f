"""The ordering guard: a bump never replaces a newer version with an older one.

With `ordering: semver`, a setting whose tag is older (by SemVer precedence,
a leading `v` allowed, build metadata ignored) than the tag it would replace
anywhere in the files is dropped from the bump. Tags that do not both parse
as SemVer are not compared: that bump proceeds. Pure: reads only the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from ci_actions.kustomize.bump import Plan
from ci_actions.kustomize.setimage import split_image
from ci_actions.tags.versions import parse_semver

ORDERINGS = ("none", "semver")

# One SemVer precedence key: (major, minor, patch, is-release, prerelease identifiers)
Key = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


@dataclass(frozen=True)
class Downgrade:
    """A setting that would put an older version where a newer one is."""

    name: str
    found: str  # the tag in the file
    wanted: str  # the older tag the bump asked for
    file: str
    line: int


def semver_key(tag: str) -> Key | None:
    """SemVer precedence as a sortable key; None when `tag` is not SemVer."""
    parsed = parse_semver(tag) if tag else None
    if parsed is None:
        return None
    identifiers = tuple(
        (0, part, "") if isinstance(part, int) else (1, 0, part) for part in parsed.prerelease
    )
    release = 0 if parsed.prerelease else 1  # 1.0.0-rc.1 < 1.0.0
    return (parsed.major, parsed.minor, parsed.patch, release, identifiers)


def is_older(tag: str, than: str) -> bool:
    """True only when both are SemVer and `tag` comes strictly before `than`."""
    new, old = semver_key(tag), semver_key(than)
    return new is not None and old is not None and new < old


def downgrades(plan: Plan) -> list[Downgrade]:
    """Every place where the plan would replace a newer SemVer tag with an older one."""
    found: list[Downgrade] = []
    for bump in plan.files:
        for change in bump.changes:
            if not change.previous:
                continue
            before, after = split_image(change.previous)[1], split_image(change.current)[1]
            if is_older(after, before):
                found.append(Downgrade(change.name, before, after, bump.rel, change.line))
    return found
