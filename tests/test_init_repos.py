"""`ci-actions init` over repositories shaped like real ones (tests/fixtures/init-repos):
every rendered workflow read back field by field, and each rendered security step run
here with the real scanners: it must judge (exit 0 or 1), never refuse its inputs (2).

Expected values come from the fixtures' own files (see their README), not from init.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci_actions.init import main
from tests.render.cases import SHA
from tests.support.act import git
from tests.support.cli import invoke
from tests.support.osv import FakeOsv, serve_osv
from tests.support.tools import needs

ROOT = Path(__file__).resolve().parents[1]
REPOS = ROOT / "tests" / "fixtures" / "init-repos"
OSV_RECORDS = ROOT / "tests" / "fixtures" / "security_gate" / "osv-records.json"
ARGS = ["--registry", "127.0.0.1:5000", "--actions-ref", SHA, "--overlays", "dev=overlays/dev"]


@dataclass(frozen=True)
class Case:
    repo: str
    args: tuple[str, ...]
    context: str
    context_rule: str  # words of the rule init prints
    dockerfile: str
    workdir: str
    pythons: list[str]
    scan_python: str
    install: list[str]  # fragments of the install step, in order
    lints: list[str]
    root_lints: list[str]
    requirements: str | None  # the gate's requirements input; None: no dependency scanner
    scanners: str
    version_assert: bool
    services: dict[str, Any] | None = None
    todo: str = ""
    notes: list[str] = field(default_factory=list)


CASES = [
    Case(
        "uv-workspace",
        ("--workloads", "deployment/backend"),
        context=".",
        context_rule="compose.yml builds service 'backend'",
        dockerfile="backend/Dockerfile",
        workdir="backend",
        pythons=["3.10", "3.11", "3.12", "3.13", "3.14"],  # >=3.10,<4.0
        scan_python="3.14",  # .python-version
        install=[
            "pip install --quiet --disable-pip-version-check uv",
            "uv sync --locked",
            "pip install --quiet --disable-pip-version-check pytest ruff mypy pre-commit",
        ],
        lints=["ruff check .", "mypy ."],
        root_lints=["pre-commit run --all-files --show-diff-on-failure"],
        requirements="uv.lock",
        scanners="bandit\nsemgrep\npip-audit",
        version_assert=False,
        todo="db (postgres:17)",
        notes=["takes no ARG VERSION", "add `ARG VERSION`"],
    ),
    Case(
        "poetry",
        ("--health-url", "https://shop.dev.example/health"),
        context=".",
        context_rule="COPY/ADD source",
        dockerfile="Dockerfile",
        workdir=".",
        pythons=["3.12"],  # no requires-python: .python-version
        scan_python="3.12",
        install=[
            "pip install --quiet --disable-pip-version-check poetry",
            "poetry install",
            "pip install --quiet --disable-pip-version-check pytest black",
        ],
        lints=["black --check ."],
        root_lints=[],
        requirements="poetry.lock",
        scanners="bandit\nsemgrep\npip-audit",
        version_assert=True,
        services={
            "postgres": {
                "image": "postgres:16",
                "env": {"POSTGRES_PASSWORD": "postgres"},
                "ports": ["5432:5432"],
                "options": "--health-cmd pg_isready --health-interval 10s",
            }
        },
    ),
    Case(
        "requirements",
        ("--health-url", "https://ledger.dev.example/health"),
        context=".",
        context_rule="COPY/ADD source",
        dockerfile="docker/Dockerfile",
        workdir=".",
        pythons=["3.14"],  # nothing says: the newest
        scan_python="3.14",
        install=["-r requirements.txt -r requirements-dev.txt pytest"],
        lints=[],
        root_lints=[],
        requirements="requirements-dev.txt\nrequirements.txt",
        scanners="bandit\nsemgrep\npip-audit",
        version_assert=True,
    ),
    Case(
        "unpinned",
        ("--health-url", "https://api.dev.example/health"),
        context="services/api",
        context_rule="COPY/ADD source",
        dockerfile="services/api/Dockerfile",
        workdir="services/api",
        pythons=["3.14"],
        scan_python="3.14",
        install=["-r requirements.txt pytest flake8"],
        lints=["flake8"],
        root_lints=[],
        requirements=None,
        scanners="bandit\nsemgrep",
        version_assert=True,
        notes=["pip-audit left out", "services/api/requirements.txt is not pinned"],
    ),
]


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, None)
    return data


def _step(job: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if str(s.get(key, "")).startswith(value))


@pytest.fixture(scope="module")
def osv() -> Iterator[FakeOsv]:
    with serve_osv(json.loads(OSV_RECORDS.read_text())) as server:
        yield server


@dataclass
class Rendered:
    repo: Path
    code: int
    out: str
    err: str
    cicd: dict[str, Any]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    done = {}
    for case in CASES:
        repo = tmp_path_factory.mktemp("repos") / case.repo
        shutil.copytree(REPOS / case.repo, repo)
        git(repo, "init", "-q", "-b", "main")
        out, err = io.StringIO(), io.StringIO()
        code = main(
            ["--dir", str(repo), *ARGS, "--gitops-repo", "acme/gitops", "--gitops-branch",
             "main", *case.args],
            {},
            out,
            err,
        )  # fmt: skip
        cicd = _load(repo / ".github/workflows/cicd.yml") if code == 0 else {}
        done[case.repo] = Rendered(repo, code, out.getvalue(), err.getvalue(), cicd)
    return done


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.repo)
def test_rendered_workflow_fits_the_repository(case: Case, rendered: dict[str, Rendered]) -> None:
    r = rendered[case.repo]
    assert r.code == 0, r.err
    jobs = r.cicd["jobs"]
    # build
    build = _step(jobs["image"], "id", "build")["with"]
    assert (build["context"], build["file"]) == (case.context, case.dockerfile)
    assert f"build context: {case.context}  <- " in r.out and case.context_rule in r.out
    assert ("build-args" in build) is case.version_assert
    # probe: the version is asserted only when the Dockerfile takes it
    verify = jobs["verify-dev"]
    probe = _step(verify, "id", "probe")["with"]
    restored = next(s for s in verify["steps"] if s.get("id") == "probe-restored")["with"]
    assert ("expected-version" in probe) is case.version_assert
    assert ("expected-version" in restored) is case.version_assert
    assert ("expected-images" in probe) is not case.version_assert
    monitor = _load(r.repo / ".github/workflows/monitor.yml")
    mprobe = _step(monitor["jobs"]["probe"], "id", "probe")["with"]
    assert ("expected-version" in mprobe) is case.version_assert
    # test job
    test = jobs["test"]
    assert test["strategy"]["matrix"]["python-version"] == case.pythons
    assert test["defaults"]["run"]["working-directory"] == case.workdir
    install = _step(test, "name", "Install the test tools")["run"]
    positions = [install.index(fragment) for fragment in case.install]
    assert positions == sorted(positions), install
    lints = [s for s in test["steps"] if str(s.get("name", "")).startswith("lint: ")]
    assert [s["run"] for s in lints if "working-directory" not in s] == case.lints
    assert [s["run"] for s in lints if s.get("working-directory") == "."] == case.root_lints
    assert _step(test, "name", "test: ")["run"] == "python -m pytest"
    assert test.get("services") == case.services
    text = (r.repo / ".github/workflows/cicd.yml").read_text()
    assert ("TODO: the tests may need these services" in text) is bool(case.todo)
    assert case.todo in text
    # security job: the project's Python first, then the gate with what the repository has
    security = jobs["security"]
    setup = next(s for s in security["steps"] if "setup-python" in s.get("uses", ""))
    assert setup["with"]["python-version"] == case.scan_python
    gate = _step(security, "id", "gate")["with"]
    assert gate["scanners"] == case.scanners
    assert gate.get("requirements") == case.requirements
    if case.requirements is None:
        assert "# pip-audit left out: nothing to read" in text
    for note in case.notes:
        assert note in r.out


@needs("bandit", "semgrep", "pip-audit")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.repo)
def test_rendered_security_step_runs_on_its_repository(
    case: Case, rendered: dict[str, Rendered], osv: FakeOsv, tmp_path: Path
) -> None:
    """The gate with the rendered inputs, here: a verdict (0 or 1), never a refusal (2)."""
    r = rendered[case.repo]
    gate = _step(r.cicd["jobs"]["security"], "id", "gate")["with"]
    args = [a for k, v in gate.items() for a in (f"--{k}", str(v))]
    run = invoke(tmp_path / "runner", "security-gate", [*args, "--osv-url", osv.url], cwd=r.repo)
    assert run.code in (0, 1), run.log
    assert run.outputs["passed"] in ("true", "false")
