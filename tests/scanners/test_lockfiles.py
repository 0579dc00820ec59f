"""Lock files the gate reads for the dependency scanners, and the Python bandit runs on."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_actions.scanners.lockfiles import LockError, requirements_lines
from tests.support.cli import invoke
from tests.support.osv import FakeOsv, serve_osv
from tests.support.tools import needs

ROOT = Path(__file__).resolve().parents[2]
REPOS = ROOT / "tests" / "fixtures" / "init-repos"
OSV_RECORDS = ROOT / "tests" / "fixtures" / "security_gate" / "osv-records.json"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # registry packages only: the editable workspace member `app` is left out
        (
            "uv-workspace/uv.lock",
            ["fastapi==0.115.6", "pydantic==2.10.4", "pytest==7.4.4", "requests==2.30.0"],
        ),
        # the `directory` package shop-shared is left out
        ("poetry/poetry.lock", ["flask==2.2.2", "pytest==8.0.0", "pyyaml==6.0.1"]),
    ],
)
def test_lock_files_become_pinned_requirements(path: str, expected: list[str]) -> None:
    assert requirements_lines(REPOS / path) == expected


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "uv.lock",
            'version = 1\n[[package]]\nname = "a"\nsource = { virtual = "." }\n',
            "names no",
        ),
        ("poetry.lock", "[[package]\n", "does not parse"),
        ("pyproject.toml", "[project]\nname = 'x'\n", "names no"),
    ],
)
def test_a_lock_file_with_nothing_to_check_is_refused(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(LockError, match=message):
        requirements_lines(tmp_path / name)


@pytest.fixture(scope="module")
def osv() -> Iterator[FakeOsv]:
    with serve_osv(json.loads(OSV_RECORDS.read_text())) as server:
        yield server


@needs("pip-audit")
def test_the_gate_audits_a_uv_lock_and_points_findings_at_it(tmp_path: Path, osv: FakeOsv) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "uv.lock").write_text((REPOS / "uv-workspace" / "uv.lock").read_text())
    run = invoke(
        tmp_path / "runner",
        "security-gate",
        ["--scanners", "pip-audit", "--requirements", "uv.lock", "--osv-url", osv.url],
        cwd=project,
    )
    # requests 2.30.0 is in GHSA-j8r2-6x86-q33q (fixed in 2.31.0), by the fixture records
    assert run.code == 1, run.log
    report = json.loads((project / "security-gate.json").read_text())
    found = [(f["package"], f["file"]) for f in report["findings"]]
    assert found == [("requests", "uv.lock")]


@needs("bandit")
def test_a_bandit_syntax_error_names_the_python_and_the_fix(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    # what a newer grammar looks like to an older parser: a syntax error
    (project / "new.py").write_text("def f(x):\n    return x!!\n")
    run = invoke(tmp_path / "runner", "security-gate", ["--scanners", "bandit"], cwd=project)
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert run.code == 3, run.log
    assert f"bandit runs on Python {running}" in run.log and "CI_ACTIONS_PYTHON" in run.log
