"""The security gate's real outputs, recorded by release-ledger: the ledger keeps the gate's numbers.

The gate runs real bandit on the seeded fixture project (by hand: B404 low,
B608 medium, B602, B201 and B324 high), with a baseline of those five and one
more `shell=True` line added afterwards: six findings, one new, gate failed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.actions.test_release_ledger import DIGEST_1, IMAGE, ledger, lines
from tests.support.cli import invoke
from tests.support.gitops import gitops_files, make_remote
from tests.support.tools import needs

pytestmark = needs("bandit")

PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "security_gate" / "project"
SHELL = (
    '\n\ndef again(host):\n    return subprocess.check_output("ping -c 1 " + host, shell=True)\n'
)


def test_the_ledger_records_what_the_gate_decided(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)

    def gate(*args: str):  # type: ignore[no-untyped-def]
        argv = ["--scanners", "bandit", "--baseline", ".security-baseline", *args]
        return invoke(tmp_path / "runner", "security-gate", argv, cwd=root)

    assert gate("--update-baseline", "true").code == 0
    app = root / "service" / "app.py"
    app.write_text(app.read_text() + SHELL)
    scanned = gate()
    assert scanned.code == 1, scanned.log[-2000:]
    assert (scanned.outputs["findings"], scanned.outputs["new-findings"]) == ("6", "1")

    gitops = make_remote(tmp_path, gitops_files())
    rec = ledger(
        tmp_path,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:1.0.0@{DIGEST_1}",
        git_commit="c" * 40,
        scan=scanned.outputs["scan"],
        repository=str(gitops),
    )
    assert rec.code == 0, rec.log
    entry = lines(gitops)[0]
    assert entry["vulnerabilities"] == 6  # the gate's findings, not severities + statuses summed
    assert entry["scan"]["passed"] is False

    report = ledger(
        tmp_path, cwd=tmp_path, command="report", report_file="ledger.html", repository=str(gitops)
    )
    assert report.code == 0, report.log
    html = Path(report.outputs["report-file"]).read_text()
    assert "failed · 6 findings (4 high, 1 medium, 1 low) · 1 new" in html


def test_counts_alone_are_not_summed_twice(tmp_path: Path) -> None:
    """The shape cicd.yml recorded before the `scan` output: security-gate's `counts`."""
    counts = {
        "bandit": {"critical": 0, "high": 2, "medium": 0, "low": 21, "new": 23, "baselined": 0}
    }
    gitops = make_remote(tmp_path, gitops_files())
    rec = ledger(
        tmp_path,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:1.0.0@{DIGEST_1}",
        git_commit="c" * 40,
        scan=json.dumps(counts),
        repository=str(gitops),
    )
    assert rec.code == 0, rec.log
    assert lines(gitops)[0]["vulnerabilities"] == 23
