"""The scanned repository cannot switch the gate off, and a scan of nothing is not a pass.

Real bandit and semgrep on a small project whose only problem is a password
hashed with md5: bandit B324 (high) and the bundled semgrep rule
weak-password-hash (high), so the gate fails at fail-on high. Each way a
change to the scanned repository once turned that into `passed=true` is
replayed here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import CliRun, invoke
from tests.support.one_service import one_service
from tests.support.tools import needs

pytestmark = needs("bandit", "semgrep")

WEAK = "import hashlib\n\n\ndef digest(password: str) -> str:\n    return hashlib.md5(password.encode()).hexdigest(){comment}\n"


@dataclass
class Repo:
    root: Path

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def gate(
        self, *args: str, scanners: str = "bandit,semgrep", env: dict[str, str] | None = None
    ) -> CliRun:
        return invoke(
            self.root.parent / "runner",
            "security-gate",
            ["--scanners", scanners, "--requirements", "", *args],
            cwd=self.root,
            env=env,
        )


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.write("svc/__init__.py", "from svc.hashing import digest\n\n__all__ = ['digest']\n")
    r.write("svc/hashing.py", WEAK.format(comment=""))
    return r


def _moved_into(folder: str):  # type: ignore[no-untyped-def]
    def change(r: Repo) -> None:
        (r.root / "svc" / "hashing.py").unlink()
        r.write(f"svc/{folder}/__init__.py", "")
        r.write(f"svc/{folder}/hashing.py", WEAK.format(comment=""))
        r.write("svc/__init__.py", f"from svc.{folder}.hashing import digest\n")

    return change


def _inline(r: Repo) -> None:
    r.write("svc/hashing.py", WEAK.format(comment="  # nosec # nosemgrep"))


def _repository_config(r: Repo) -> None:
    r.write(".bandit", "[bandit]\nskips = B324\n")
    r.write(".semgrepignore", "svc/\n")


# each change, and the inputs with which the workflow may choose to let it count
BYPASSES = {
    "inline nosec and nosemgrep": (_inline, ("--allow-inline-suppressions", "true")),
    "committed .bandit and .semgrepignore": (
        _repository_config,
        # the .semgrepignore leaves semgrep nothing to scan
        ("--allow-repository-config", "true", "--allow-empty", "true"),
    ),
    "code moved into a nested build/": (_moved_into("build"), ()),
    "code moved into a nested dist/": (_moved_into("dist"), ()),
}


def _rules(run: CliRun) -> list[tuple[str, str, str]]:
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    return sorted((f["tool"], f["rule-id"], f["file"]) for f in report["findings"])


def test_the_unchanged_project_fails(repo: Repo) -> None:
    run = repo.gate()
    assert run.code == 1, run.log[-2000:]
    assert _rules(run) == [
        ("bandit", "B324", "svc/hashing.py"),
        ("semgrep", "weak-password-hash", "svc/hashing.py"),
    ]


@pytest.mark.parametrize("bypass", sorted(BYPASSES))
def test_a_change_to_the_scanned_repository_does_not_switch_the_gate_off(
    repo: Repo, bypass: str
) -> None:
    change, allowing = BYPASSES[bypass]
    change(repo)
    run = repo.gate()
    assert run.code == 1, f"{bypass}: {run.log[-2000:]}"
    assert run.outputs["passed"] == "false"
    assert {tool for tool, _, _ in _rules(run)} == {"bandit", "semgrep"}
    if allowing:  # the workflow, not the repository, may allow it
        allowed = repo.gate(*allowing)
        assert allowed.code == 0, f"{bypass}: {allowed.log[-2000:]}"


def test_inline_suppressions_are_counted_and_shown_as_suppressed(repo: Repo) -> None:
    _inline(repo)
    judged = repo.gate()
    assert "2 inline comment(s) not honoured" in judged.summary
    sarif = json.loads(Path(judged.outputs["sarif-file"]).read_text())
    results = [r for run in sarif["runs"] for r in run["results"]]
    assert [r["properties"]["inlineSuppression"] for r in results] == ["# nosec", "# nosemgrep"]
    assert not any("suppressions" in r for r in results)

    honoured = repo.gate("--allow-inline-suppressions", "true")
    counts = json.loads(honoured.outputs["counts"])
    assert counts["bandit"]["suppressed"] == counts["semgrep"]["suppressed"] == 1
    assert "2 by an inline comment" in honoured.summary
    sarif = json.loads(Path(honoured.outputs["sarif-file"]).read_text())
    kinds = [s["kind"] for run in sarif["runs"] for r in run["results"] for s in r["suppressions"]]
    assert kinds == ["inSource", "inSource"]


def test_the_root_build_folder_is_skipped_and_the_summary_says_so(repo: Repo) -> None:
    repo.write("build/lib/svc/hashing.py", WEAK.format(comment=""))
    repo.write("svc/hashing.py", "def digest(password: str) -> str:\n    return password\n")
    run = repo.gate()
    assert run.code == 0, run.log[-2000:]
    assert _rules(run) == []
    assert "`/build`" in run.summary and "`/dist`" in run.summary and "`/.venv`" in run.summary


# --- a scan of nothing, or a run that printed an error, is not a pass --------------


@pytest.mark.parametrize("scanners", ["bandit", "semgrep"])
def test_a_scanner_that_scanned_no_file_is_exit_2(repo: Repo, scanners: str) -> None:
    repo.write("docs/README.md", "no code here\n")
    run = repo.gate("--paths", "docs", scanners=scanners)
    assert run.code == 2, run.log[-2000:]
    assert f"nothing to scan: {scanners} found no file to scan in docs" in run.log
    assert run.outputs.get("passed") == "false"
    allowed = repo.gate("--paths", "docs", "--allow-empty", "true", scanners=scanners)
    assert allowed.code == 0, allowed.log[-2000:]


CLEAN_BANDIT_REPORT = {"errors": [], "results": [], "metrics": {"_totals": {}, "a.py": {}}}
FAKE = {
    # a clean, well-formed report, but the tool crashed on the way
    "traceback, exit 0": (
        "echo 'Traceback (most recent call last):' >&2; echo 'KeyError: x' >&2",
        CLEAN_BANDIT_REPORT,
        "printed an error although it exited 0: Traceback (most recent call last):",
    ),
    "error line, exit 0": (
        "echo '[main]\tERROR\tsomething went wrong' >&2",
        CLEAN_BANDIT_REPORT,
        "printed an error although it exited 0: [main]\tERROR\tsomething went wrong",
    ),
    "result without test_id": (
        "true",
        {"errors": [], "results": [{"filename": "a.py"}], "metrics": {}},
        "bandit-report.json) without the field 'test_id'",
    ),
}


@pytest.mark.parametrize("fault", sorted(FAKE))
def test_a_scanner_that_complained_or_wrote_a_malformed_report_is_exit_3(
    repo: Repo, tmp_path: Path, fault: str
) -> None:
    say, report, expected = FAKE[fault]
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "bandit").write_text(
        "#!/bin/sh\n"
        f"{say}\n"
        'while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done\n'
        f"cat > \"$out\" <<'EOF'\n{json.dumps(report)}\nEOF\n"
        "exit 0\n"
    )
    (fake / "bandit").chmod(0o755)
    run = repo.gate(scanners="bandit", env={"PATH": f"{fake}:/usr/bin:/bin"})
    assert run.code == 3, run.log[-2000:]
    assert run.outputs["passed"] == "false"
    assert expected in run.log


# --- the bundled example, as the demo ships it -------------------------------------

TESTS = ("lib/tests/", "services/api/tests/")  # the one-service example's test folders


def test_the_example_service_passes_at_medium_without_test_file_noise(tmp_path: Path) -> None:
    root = one_service(tmp_path / "service")  # without its seeded vulnerable module
    example = Repo(root)
    run = example.gate("--fail-on", "medium", "--min-confidence", "low")
    assert run.code == 0, run.log[-3000:]
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    at_medium = [f for f in report["findings"] if f["severity"] != "low"]
    assert at_medium == []
    # the asserts of the tests (lib/tests/, services/api/tests/) are left out, and the
    # summary says so; servicetest.py is no test file by name or folder: its subprocess
    # call (B404, B603, low) is reported
    assert report["test-file-rules"]["skipped"] > 0
    assert "**Not applied to test files:** B101, B404, B603, B607" in run.summary
    assert not [f for f in report["findings"] if f["file"].startswith(TESTS)]
    assert {"B404", "B603"} <= {
        f["rule-id"] for f in report["findings"] if f["file"] == "servicetest.py"
    }

    every_rule = example.gate("--fail-on", "medium", "--test-file-rules", "none")
    applied = json.loads(Path(every_rule.outputs["report-file"]).read_text())
    rules_in_tests = {f["rule-id"] for f in applied["findings"] if f["file"].startswith(TESTS)}
    assert rules_in_tests == {"B101"}  # the tests only assert
