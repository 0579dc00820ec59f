"""The summary, rendered from reports captured from real runs, against golden files.

UPDATE_GOLDEN=1 rewrites the golden files after a deliberate change
(then read the diff)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_actions.probes.diagnose import Diagnostics
from ci_actions.probes.summary import render
from tests.support.golden import assert_golden

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "health-probe"


@pytest.mark.parametrize("name", ["crashloop", "http-flapping"])
def test_summary_matches_golden(name: str) -> None:
    report = json.loads((FIXTURES / f"{name}-report.json").read_text())
    diagnostics = [Diagnostics.from_dict(d) for d in report.get("diagnostics", [])]
    text = render(report, diagnostics)
    assert_golden(f"health-probe/summary-{name}.md", text)
