"""SemVer precedence of the ordering guard, from the SemVer 2.0.0 specification (section 11)."""

from __future__ import annotations

import itertools

import pytest

from ci_actions.kustomize.ordering import is_older, semver_key

# The specification's own example, lowest first.
SPEC_ORDER = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "2.0.0",
    "2.1.0",
    "2.1.1",
]


@pytest.mark.parametrize(("lower", "higher"), list(itertools.pairwise(SPEC_ORDER)))
def test_each_step_of_the_specification_example_is_older(lower: str, higher: str) -> None:
    assert is_older(lower, higher)
    assert not is_older(higher, lower)
    assert not is_older(lower, lower)


@pytest.mark.parametrize(
    ("tag", "than", "older"),
    [
        ("1.9.0", "1.10.0", True),  # numeric, not lexical
        ("v1.2.3", "1.2.4", True),  # a leading v is allowed on either side
        ("1.2.4", "v1.2.3", False),
        ("1.0.0+build.9", "1.0.0+build.10", False),  # build metadata does not count
        ("latest", "1.0.0", False),  # not SemVer: not compared, the bump proceeds
        ("1.0.0", "sha-3f2a9c1", False),
        ("1.2", "1.3.0", False),  # two parts are not SemVer
        ("", "1.0.0", False),  # a digest-only setting has no tag
    ],
)
def test_only_two_semver_tags_are_compared(tag: str, than: str, older: bool) -> None:
    assert is_older(tag, than) is older


def test_the_key_sorts_the_specification_example() -> None:
    shuffled = SPEC_ORDER[::-1]
    assert sorted(shuffled, key=lambda t: semver_key(t) or ()) == SPEC_ORDER
