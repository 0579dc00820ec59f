"""security-gate with diff-base: only the change is scanned, only what it adds fails.

The fixture project (tests/fixtures/security_gate/project) is the base, committed
on `main`; each test commits a change on a branch and runs the real scanners.
What each change adds was worked out by hand (see the comments), not from the
gate's output. The base's app.py has high findings (B602 shell=True, B201 flask
debug) that a full scan fails on; store.py has one (B324 md5).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.act import git
from tests.support.cli import CliRun, invoke
from tests.support.tools import HANG_GUARD

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "security_gate"
MD5 = "    return hashlib.md5(password.encode()).hexdigest()\n"


def _repo(tmp: Path) -> tuple[Path, str]:
    root = tmp / "project"
    shutil.copytree(FIXTURES / "project", root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "change")
    return root, base


def _commit(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "change")


def _append(root: Path, rel: str, text: str) -> dict[str, str]:
    return {rel: (root / rel).read_text(encoding="utf-8") + text}


def _gate(root: Path, *args: str, scanners: str = "bandit") -> CliRun:
    return invoke(
        root.parent / "runner", "security-gate", ["--scanners", scanners, *args], cwd=root
    )


def _new(run: CliRun) -> list[tuple[str, str, int]]:
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    return sorted(
        (f["rule-id"], f["file"], f["line"]) for f in report["findings"] if f["status"] == "new"
    )


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    return _repo(tmp_path)


def test_a_harmless_change_passes_although_the_base_has_findings(
    repo: tuple[Path, str],
) -> None:
    root, base = repo
    _commit(
        root, _append(root, "service/store.py", "\n\ndef size(x: str) -> int:\n    return len(x)\n")
    )
    full = _gate(root)
    assert full.code == 1  # app.py's findings fail a full scan
    run = _gate(root, "--diff-base", base)
    assert run.code == 0, run.log[-3000:]
    assert json.loads(run.outputs["scanned-files"]) == ["service/store.py"]
    assert run.outputs["diff-aware"] == "true"
    assert run.outputs["findings"] == "1"  # the md5 the base has: baselined
    assert run.outputs["new-findings"] == "0"
    assert "Diff-aware scan" in run.summary and "`service/store.py`" in run.summary
    assert json.loads(full.outputs["scanned-files"]) == ["service/app.py", "service/store.py"]
    assert full.outputs["diff-aware"] == "false"


def test_a_duplicate_of_an_existing_finding_in_a_changed_file_is_new(
    repo: tuple[Path, str],
) -> None:
    root, base = repo
    # a second identical md5 line: the base has one occurrence, the change two
    _commit(
        root, _append(root, "service/store.py", "\n\ndef legacy(password: str) -> str:\n" + MD5)
    )
    run = _gate(root, "--diff-base", base)
    assert run.code == 1, run.log[-3000:]
    assert _new(run) == [("B324", "service/store.py", 15)]


def test_findings_of_an_added_file_are_new_and_semgrep_scans_only_the_change(
    repo: tuple[Path, str],
) -> None:
    root, base = repo
    _commit(
        root,
        {
            "service/tools.py": "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n",
            "docs/notes.txt": "not Python\n",
        },
    )
    run = _gate(root, "--diff-base", base, scanners="bandit,semgrep")
    assert run.code == 1, run.log[-3000:]
    assert json.loads(run.outputs["scanned-files"]) == ["service/tools.py"]
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    assert {f["file"] for f in report["findings"]} == {"service/tools.py"}
    # bandit: B404 import subprocess (low), B602 shell=True (high); semgrep: shell with a variable
    assert ("B602", "service/tools.py", 5) in _new(run)
    assert any(f["tool"] == "semgrep" and f["status"] == "new" for f in report["findings"])
    tools = {t["tool"]: t for t in report["tools"]}
    assert tools["semgrep"]["command"].endswith("-- service/tools.py")


def test_a_change_to_no_python_and_no_requirements_file_passes_without_scanning(
    repo: tuple[Path, str],
) -> None:
    root, base = repo
    _commit(root, {"README.md": "# service\n"})
    run = _gate(root, "--diff-base", base, scanners="bandit,semgrep")
    assert run.code == 0, run.log[-3000:]
    assert "nothing changed to scan" in run.log
    assert json.loads(run.outputs["scanned-files"]) == []
    assert run.outputs["diff-aware"] == "true"
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    assert report["tools"] == []


def test_a_suppression_the_change_adds_is_not_honoured_unless_allowed(
    repo: tuple[Path, str],
) -> None:
    root, base = repo
    nosec = "\n\ndef weak(password: str) -> str:\n    return hashlib.sha1(password.encode()).hexdigest()  # nosec\n"
    _commit(root, _append(root, "service/store.py", nosec))
    honour = ("--allow-inline-suppressions", "true")
    run = _gate(root, "--diff-base", base, *honour)
    assert run.code == 1, run.log[-3000:]
    assert _new(run) == [("B324", "service/store.py", 15)]
    assert "added by this change" in Path(run.outputs["report-file"]).read_text()
    allowed = _gate(root, "--diff-base", base, *honour, "--allow-new-suppressions", "true")
    assert allowed.code == 0, allowed.log[-3000:]
    # without diff-base the comment is honoured as before: only the unsuppressed md5 is new
    full = _gate(root, *honour, "--paths", "service/store.py")
    assert _new(full) == [("B324", "service/store.py", 7)]


def test_a_suppression_the_base_had_stays_honoured(tmp_path: Path) -> None:
    root, _ = _repo(tmp_path)
    git(root, "checkout", "-q", "main")
    text = (root / "service/store.py").read_text().replace(MD5, MD5.rstrip("\n") + "  # nosec\n")
    _commit(root, {"service/store.py": text})
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "change2")
    _commit(
        root, _append(root, "service/store.py", "\n\ndef size(x: str) -> int:\n    return len(x)\n")
    )
    run = _gate(root, "--diff-base", base, "--allow-inline-suppressions", "true")
    assert run.code == 0, run.log[-3000:]


@pytest.mark.parametrize(
    "base",
    [
        "no-such-branch",
        "0123456789abcdef0123456789abcdef01234567",
    ],
)
def test_an_unknown_base_falls_back_to_a_full_scan_with_a_warning(
    repo: tuple[Path, str], base: str
) -> None:
    root, _ = repo
    _commit(root, {"README.md": "# service\n"})
    run = _gate(root, "--diff-base", base)
    assert run.code == 1, run.log[-3000:]  # the full scan sees app.py
    assert "::warning" in run.stdout and "scanning every file instead" in run.stdout
    assert run.outputs["diff-aware"] == "false"
    assert json.loads(run.outputs["scanned-files"]) == ["service/app.py", "service/store.py"]
    assert "Full scan" in run.summary


def test_a_shallow_clone_without_the_base_falls_back_to_a_full_scan(
    repo: tuple[Path, str], tmp_path: Path
) -> None:
    root, base = repo
    _commit(root, {"README.md": "# service\n"})
    shallow = tmp_path / "shallow"
    git(
        tmp_path,
        "clone",
        "-q",
        "--depth",
        "1",
        "--branch",
        "change",
        f"file://{root}",
        str(shallow),
    )
    run = _gate(shallow, "--diff-base", base)
    assert run.code == 1, run.log[-3000:]
    assert "shallow clone" in run.stdout
    assert run.outputs["diff-aware"] == "false"
    assert json.loads(run.outputs["scanned-files"]) == ["service/app.py", "service/store.py"]


def test_outside_a_git_repository_falls_back_to_a_full_scan(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    shutil.copytree(FIXTURES / "project", root)
    run = _gate(root, "--diff-base", "main")
    assert run.code == 1, run.log[-3000:]
    assert "not in a git repository" in run.stdout
    assert run.outputs["diff-aware"] == "false"


@pytest.mark.parametrize("base", ["--upload-pack=touch x", "main..HEAD", "a b"])
def test_a_malformed_base_is_exit_2(repo: tuple[Path, str], base: str) -> None:
    root, _ = repo
    run = _gate(root, "--diff-base", base)
    assert run.code == 2, run.log[-3000:]
    assert "diff-base" in run.log


def test_diff_base_and_update_baseline_together_are_exit_2(repo: tuple[Path, str]) -> None:
    root, base = repo
    run = _gate(root, "--diff-base", base, "--baseline", "b.txt", "--update-baseline", "true")
    assert run.code == 2
    assert "diff-base" in run.log


SAFETY_DB = ["--safety-db", str(FIXTURES / "safety-db")]
HARMLESS = "\n\ndef size(x: str) -> int:\n    return len(x)\n"


@pytest.mark.parametrize("cached", [False, True], ids=["cold cache", "warm cache"])
def test_unchanged_requirements_reuse_the_cached_result_or_are_not_run(
    repo: tuple[Path, str], tmp_path: Path, cached: bool
) -> None:
    # the base pins pyyaml 5.3.1 (safety 39611) and requests 2.25.0 (58755); the change
    # touches only Python, so those two findings are the base's and cannot be new
    root, base = repo
    cache = ["--cache-dir", str(tmp_path / "cache")]
    if cached:
        git(root, "checkout", "-q", base)
        warm = _gate(root, *SAFETY_DB, *cache, scanners="safety")
        assert warm.code == 1, warm.log[-3000:]  # a full scan fails on them
        git(root, "checkout", "-q", "change")
    _commit(root, _append(root, "service/store.py", HARMLESS))
    run = _gate(root, "--diff-base", base, *SAFETY_DB, *cache, scanners="bandit,safety")
    assert run.code == 0, run.log[-3000:]
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    tools = {t["tool"]: t for t in report["tools"]}
    safety = sorted(f["rule-id"] for f in report["findings"] if f["tool"] == "safety")
    if cached:
        assert tools["safety"]["command"] == "(from the result cache)"
        assert safety == ["39611", "58755"] and report["not-run"] == []
        assert "**Not run:**" not in run.summary
    else:
        assert "safety" not in tools and safety == []
        assert report["not-run"] == ["safety"]
        assert "**Not run:** safety: no requirements file changed" in run.summary
    assert run.outputs["new-findings"] == "0"


def test_a_changed_requirements_file_runs_safety_on_the_change_and_the_base(
    repo: tuple[Path, str],
) -> None:
    root, _ = repo
    # a base without pyyaml; the change pins it again: safety 39611 (critical) is new,
    # requests' 58755 is the base's
    git(root, "checkout", "-q", "main")
    pins = (root / "requirements.txt").read_text()
    _commit(root, {"requirements.txt": pins.replace("pyyaml==5.3.1\n", "")})
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "pin-pyyaml")
    _commit(root, {"requirements.txt": pins})
    run = _gate(root, "--diff-base", base, *SAFETY_DB, scanners="safety")
    assert run.code == 1, run.log[-3000:]
    assert _new(run) == [("39611", "requirements.txt", 3)]
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    assert report["not-run"] == []


_BLOCKED_RUN = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # import of NAME now raises ModuleNotFoundError
from ci_actions.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_gate_without_policy_files_or_requirements_imports_neither_yaml_nor_packaging(
    repo: tuple[Path, str],
) -> None:
    # start-up counts on a pull request: yaml is for the policy and allowlist files,
    # packaging for requirements; a code-only diff-aware gate needs neither
    root, base = repo
    _commit(root, _append(root, "service/store.py", HARMLESS))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    args = ["security-gate", "--scanners", "bandit", "--diff-base", base, "--cache-dir", "off"]
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKED_RUN, "yaml,packaging", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "security gate passed" in done.stdout + done.stderr
