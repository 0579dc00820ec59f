"""Where image-tags goes beyond the anchor: tags Docker would reject are repaired."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ci_actions.tags.meta import EventContext, ExpressionError, Meta, MetaInputs, RepoInfo

NOW = datetime(2024, 3, 15, 21, 7, 9, tzinfo=timezone.utc)


def _tags(ref: str, rules: list[str], flavor: list[str] | None = None) -> list[str]:
    context = EventContext("push", ref, "9c1b0e5d2f3a4b6c8d7e0f1a2b3c4d5e6f708192", {}, NOW)
    meta = Meta(MetaInputs(tags=rules, flavor=flavor or []), context, RepoInfo(), NOW)
    return meta.tags(names_only=True)


@pytest.mark.parametrize(
    ("ref", "rules", "expected"),
    [
        ("refs/heads/-wip", ["type=ref,event=branch"], ["wip"]),
        ("refs/heads/.hidden/x", ["type=ref,event=branch"], ["hidden-x"]),
        ("refs/heads/main", ["type=raw,value=--"], []),
        ("refs/heads/" + "b" * 140, ["type=ref,event=branch"], ["b" * 128]),
        ("refs/heads/main", ["type=raw,value={{date 'Z'}}"], ["00-00"]),
    ],
)
def test_tags_docker_would_reject_are_repaired(
    ref: str, rules: list[str], expected: list[str]
) -> None:
    assert _tags(ref, rules) == expected


def test_latest_with_a_leading_dash_prefix() -> None:
    assert _tags(
        "refs/tags/v1.0.0", ["type=semver,pattern={{version}}"], ["prefix=-,onlatest=true"]
    ) == [
        "1.0.0",
        "latest",
    ]


def test_unknown_time_zone_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="unknown time zone 'Mars/Olympus'"):
        _tags("refs/heads/main", ["type=raw,value={{date 'YYYY' tz='Mars/Olympus'}}"])
