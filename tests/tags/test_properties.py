"""Whatever the ref and rules, every tag produced is one Docker accepts."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from ci_actions.tags.meta import EventContext, ExpressionError, Meta, MetaInputs, RepoInfo

DOCKER_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
NOW = datetime(2024, 3, 15, 21, 7, 9, tzinfo=timezone.utc)

# Ref names as git allows them, and free text for values, prefixes and suffixes.
names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r"),
    min_size=1,
    max_size=200,
)
refs = st.one_of(
    names.map(lambda n: f"refs/heads/{n}"),
    names.map(lambda n: f"refs/tags/{n}"),
    st.integers(1, 10**6).map(lambda n: f"refs/pull/{n}/merge"),
    st.just(""),
)
plain = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='\x00\n\r,"{}'),
    max_size=150,
)
RULES = [
    "type=schedule",
    "type=ref,event=branch",
    "type=ref,event=tag",
    "type=ref,event=pr",
    "type=semver,pattern={{version}}",
    "type=semver,pattern={{major}}.{{minor}}",
    "type=pep440,pattern={{version}}",
    "type=match,pattern=\\d+",
    "type=edge",
    "type=sha",
    "type=sha,format=long",
    "type=raw,value={{branch}}-{{tag}}",
]


@settings(max_examples=300, deadline=None)
@given(
    ref=refs,
    event=st.sampled_from(["push", "schedule", "pull_request", "release", ""]),
    sha=st.text(alphabet="0123456789abcdef", max_size=40),
    rules=st.lists(st.sampled_from(RULES), max_size=6),
    raw=st.lists(plain, max_size=3),
    prefix=plain,
    suffix=plain,
    latest=st.sampled_from(["auto", "true", "false"]),
    onlatest=st.booleans(),
)
def test_every_tag_is_a_docker_tag(
    ref: str,
    event: str,
    sha: str,
    rules: list[str],
    raw: list[str],
    prefix: str,
    suffix: str,
    latest: str,
    onlatest: bool,
) -> None:
    tags = rules + [f"type=raw,value={v}" for v in raw if v.strip()]
    flavor = [
        f"latest={latest}",
        f"prefix={prefix},onlatest={str(onlatest).lower()}",
        f"suffix={suffix}",
    ]
    context = EventContext(event, ref, sha, {"repository": {"default_branch": "main"}}, NOW)
    try:
        meta = Meta(
            MetaInputs(images=["app"], tags=tags, flavor=flavor),
            context,
            RepoInfo(default_branch="main"),
            NOW,
        )
    except ExpressionError:
        return  # a branch name that makes an invalid expression is reported, not tagged
    for tag in meta.tags(names_only=True):
        assert DOCKER_TAG.fullmatch(tag), tag
    for full in meta.tags():
        assert full.startswith("app:")
        assert DOCKER_TAG.fullmatch(full.removeprefix("app:")), full
