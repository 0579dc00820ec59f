"""The summary, rendered from reports captured from real runs, against golden files.

Set UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change
(then read the diff)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ci_actions.probes.diagnose import Diagnostics
from ci_actions.probes.summary import render

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "health-probe"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "health-probe"


@pytest.mark.parametrize("name", ["crashloop", "http-flapping"])
def test_summary_matches_golden(name: str) -> None:
    report = json.loads((FIXTURES / f"{name}-report.json").read_text())
    diagnostics = [Diagnostics.from_dict(d) for d in report.get("diagnostics", [])]
    text = render(report, diagnostics)
    golden = GOLDEN / f"summary-{name}.md"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
