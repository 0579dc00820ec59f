"""image-tags against docker/metadata-action, case by case (outputs captured from the node action)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anchor import Case, fake_api, fetch_anchor, run_node, run_ours
from tests.support.fake_github import FakeGitHub
from tests.support.golden import load
from tests.support.tools import needs
from tests.tags.anchor_cases import cases
from tests.tags.capture_anchor import NAME, REFRESH

TABLE: dict[str, Any] = load(NAME)["cases"]
CASES = cases()


@pytest.fixture(scope="module")
def api() -> Iterator[FakeGitHub]:
    with fake_api() as fake:
        yield fake


def test_table_is_complete() -> None:
    assert sorted(c.id for c in CASES) == sorted(TABLE), REFRESH
    assert len(CASES) >= 121  # at least as many as the anchor's own table


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_same_outputs_as_the_anchor(case: Case, api: FakeGitHub, tmp_path: Path) -> None:
    ours = run_ours(case, api.url, tmp_path)
    expected = TABLE[case.id]
    if not expected["ok"]:
        assert not ours.ok
        assert "::error" in ours.log
        return
    assert ours.ok, ours.log
    assert ours.outputs == expected["outputs"], f"the anchor's outputs differ ({REFRESH})"
    assert sorted(ours.env) == expected["env"], f"the anchor's variables differ ({REFRESH})"
    assert ours.env_matches_outputs()


LIVE = [
    "push-date-formats",
    "tag-v2.0.8-beta.67-semver",
    "pr-head-sha",
    "push-labels-override",
    "pr12-commit-date-unquoted",
    "labels-order-non-ascii",
]


@needs("node")
def test_live_against_the_node_action(api: FakeGitHub, tmp_path: Path) -> None:
    """When a local copy of the action is at hand, run it now rather than trust the capture."""
    found = fetch_anchor(tmp_path, clone=False)
    if found is None:
        pytest.skip("no local docker/metadata-action checkout (METADATA_ACTION_GIT)")
    index, _ = found
    for case in (c for c in CASES if c.id in LIVE):
        node = run_node(index, case, api.url, tmp_path / "node" / case.id)
        ours = run_ours(case, api.url, tmp_path / "ours" / case.id)
        assert node.ok, node.log
        assert ours.comparable() == node.comparable(), case.id
