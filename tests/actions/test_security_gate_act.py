"""security-gate under act: fails a seeded vulnerable project, passes once it is baselined."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.act import Consumer
from tests.support.cli import invoke
from tests.support.osv import serve_osv

pytestmark = pytest.mark.act

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "security_gate"

WORKFLOW = """
on: push
jobs:
  gate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: gate
        uses: ci-actions/ci-actions/actions/security-gate@v1
        with:
          osv-url: OSV_URL
          baseline: BASELINE
"""


def _project_files() -> dict[str, str | None]:
    root = FIXTURES / "project"
    return {
        str(p.relative_to(root)): p.read_text()
        for p in root.rglob("*")
        if p.is_file() and ".venv" not in p.parts
    }


def test_gate_fails_seeded_project_then_passes_when_baselined(
    consumer: Consumer, tmp_path: Path
) -> None:
    records = json.loads((FIXTURES / "osv-records.json").read_text())
    with serve_osv(records) as osv:
        consumer.commit(_project_files(), "a service with known problems")
        run = consumer.run(WORKFLOW.replace("OSV_URL", osv.url).replace("BASELINE", "''"))
        assert run.returncode != 0, run.log[-5000:]
        assert run.outcome("gate") == "failure"
        out = run.outputs("gate")
        # bandit 5, semgrep 5 (bundled rules), pip-audit 4: see test_security_gate.py
        assert (out["passed"], out["findings"], out["new-findings"]) == ("false", "14", "14")
        counts = json.loads(out["counts"])
        assert {tool: row["new"] for tool, row in counts.items()} == {
            "bandit": 5,
            "semgrep": 5,
            "pip-audit": 4,
        }
        assert "::error file=service/app.py,line=22" in run.log

        # The team accepts today's findings: a baseline written locally, committed.
        local = invoke(
            tmp_path / "local",
            "security-gate",
            ["--osv-url", osv.url, "--baseline", ".security-baseline", "--update-baseline", "true"],
            cwd=consumer.path,
            runner=False,
        )
        assert local.code == 0, local.log[-3000:]
        consumer.commit(
            {".security-baseline": (consumer.path / ".security-baseline").read_text()}, "baseline"
        )
        run = consumer.run(
            WORKFLOW.replace("OSV_URL", osv.url).replace("BASELINE", ".security-baseline")
        )
    assert run.returncode == 0, run.log[-5000:]
    out = run.outputs("gate")
    assert (out["passed"], out["findings"], out["new-findings"]) == ("true", "14", "0")
    assert Path(out["sarif-file"]).name == "security-gate.sarif"
