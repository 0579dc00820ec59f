"""semgrep's two command lines through the gate's adapter: the same findings, and fail closed.

The gate runs semgrep's OCaml command line (osemgrep, `semgrep scan
--experimental`) and falls back to the Python one (pysemgrep) only when
osemgrep cannot run at all. That is sound only while the two find the same
things with the gate's own arguments, so each case below runs both, real
semgrep, on the same request and compares their findings, the files they
say they scanned and, first, the findings worked out by hand.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from bench.bench_security_gate import generate

from ci_actions.scanners.base import ScanRequest, ToolRun, run_scanner, search_path
from ci_actions.scanners.findings import sort_key
from ci_actions.scanners.targets import python_files
from ci_actions.scanners.tools import BUNDLED_RULES, SCANNERS, OSemgrep, PySemgrep
from tests.support.tools import needs

pytestmark = needs("semgrep")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "security_gate"
SHELL = "subprocess-shell-with-variable"
MD5 = "weak-password-hash"
RISKY = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
EVAL_RULE = """rules:
  - id: eval-used
    languages: [python]
    severity: WARNING
    message: eval of data
    pattern: eval(...)
"""

Found = list[tuple[str, str, int]]  # (rule, file, line), sorted


@dataclass(frozen=True)
class Case:
    """A project to build, what to hand semgrep, and what it must find (worked out by hand)."""

    build: Callable[[Path], None]
    found: Found | Callable[[], Found]
    files: tuple[str, ...] | None = None  # given files (diff-aware, cache); None = walk `paths`
    paths: tuple[str, ...] = (".",)
    exclude: tuple[str, ...] = ()
    configs: tuple[str, ...] = ()
    repository_config: bool = False
    scanned: tuple[str, ...] | None = None  # when the case checks the scanned list too
    extra: dict[str, str] = field(default_factory=dict)


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")


def _files(files: dict[str, str | bytes]) -> Callable[[Path], None]:
    return lambda root: _write(root, files)


def _copy(source: Path) -> Callable[[Path], None]:
    return lambda root: shutil.copytree(source, root, dirs_exist_ok=True)


def _rule_cases() -> Found:
    """The `# ruleid: X` annotations of the ruleset's own cases: the next line matches X."""
    lines = (FIXTURES / "rules" / "python-security.py").read_text().splitlines()
    return sorted(
        (line.split("# ruleid: ")[1].strip(), "python-security.py", n + 1)
        for n, line in enumerate(lines, 1)
        if "# ruleid: " in line
    )


# The 200-file project of the benchmarks: every tenth module (n % 10 == 0) has a
# risky_n with a shell=True call on its line 28 and an md5 of a password on line 29.
BENCH_FOUND = sorted(
    (rule, f"service/pkg{n // 20}/mod{n}.py", line)
    for n in range(0, 200, 10)
    for rule, line in ((SHELL, 28), (MD5, 29))
)
# The gate's fixture project: see the comments in tests/actions/test_security_gate.py.
FIXTURE_FOUND = sorted(
    [
        ("sql-built-from-strings", "service/app.py", 15),
        (SHELL, "service/app.py", 22),
        ("open-redirect", "service/app.py", 27),
        ("flask-debug-enabled", "service/app.py", 31),
        (MD5, "service/store.py", 7),
    ]
)

CASES = {
    "the ruleset's annotated cases": Case(
        _copy(FIXTURES / "rules"), _rule_cases, files=("python-security.py",)
    ),
    "the fixture project, walked from the root": Case(
        _copy(FIXTURES / "project"), FIXTURE_FOUND, scanned=("service/app.py", "service/store.py")
    ),
    "the 200-file benchmark project, walked": Case(generate, BENCH_FOUND),
    "the 200-file benchmark project, every file given": Case(generate, BENCH_FOUND, files=()),
    "nosemgrep comments are not honoured": Case(
        _files(
            {
                "a.py": RISKY.replace("shell=True)", "shell=True)  # nosemgrep")
                + "\n\ndef two(cmd):\n    # nosemgrep: "
                + SHELL
                + "\n"
                "    return subprocess.call(cmd, shell=True)\n",
            }
        ),
        [(SHELL, "a.py", 5), (SHELL, "a.py", 10)],
    ),
    "semgrepignore files and semgrep's default ignores are off": Case(
        _files(
            {
                ".semgrepignore": "ignored.py\n",
                "ignored.py": RISKY,
                "tests/test_a.py": RISKY,
                "pkg/build/b.py": RISKY,
            }
        ),
        [(SHELL, "ignored.py", 5), (SHELL, "pkg/build/b.py", 5), (SHELL, "tests/test_a.py", 5)],
    ),
    "allow-repository-config reads .semgrepignore": Case(
        _files({".semgrepignore": "ignored.py\n", "ignored.py": RISKY, "kept.py": RISKY}),
        [(SHELL, "kept.py", 5)],
        repository_config=True,
    ),
    "the root's default excludes are anchored, exclude patterns apply": Case(
        _files(
            {
                "build/b.py": RISKY,
                ".venv/v.py": RISKY,
                "node_modules/n.py": RISKY,
                "src/build/kept.py": RISKY,
                "src/gen/skip.py": RISKY,
                "src/vendor/x/skip.py": RISKY,
            }
        ),
        [(SHELL, "src/build/kept.py", 5)],
        exclude=("src/gen/*", "vendor"),
    ),
    "a file over 1 MB is scanned": Case(
        # one long comment line: over 1 MB, quick to parse (no rule time-out under load)
        _files({"big.py": "# " + "x" * 1_100_000 + "\n" + RISKY}),
        [(SHELL, "big.py", 6)],
    ),
    "a Latin-1 file, a non-ASCII name, hidden folders, an empty file": Case(
        _files(
            {
                "latin1.py": b"# caf\xe9\n" + RISKY.encode(),
                "caf\u00e9/m.py": RISKY,
                ".hidden/h.py": RISKY,
                "pkg/.h.py": RISKY,
                "empty.py": "",
            }
        ),
        [
            (SHELL, ".hidden/h.py", 5),
            (SHELL, "caf\u00e9/m.py", 5),
            (SHELL, "latin1.py", 6),
            (SHELL, "pkg/.h.py", 5),
        ],
        files=(),
    ),
    "a rules folder and a second rules file": Case(
        _files(
            {
                "rules/a.yml": BUNDLED_RULES.read_text(),
                "rules/b.yaml": EVAL_RULE,
                "e.py": "eval(x)\n",
                "s.py": RISKY,
            }
        ),
        [("eval-used", "e.py", 1), (SHELL, "s.py", 5)],
        files=(),
        configs=("rules",),
    ),
    "paths that look like semgrep's own switches": Case(
        _files({"--legacy/a.py": RISKY, "--experimental/b.py": RISKY, "--pro/c.py": RISKY}),
        [(SHELL, "--experimental/b.py", 5), (SHELL, "--legacy/a.py", 5), (SHELL, "--pro/c.py", 5)],
        paths=("--legacy", "--experimental", "--pro"),
    ),
}


def _request(case: Case, root: Path, work: Path) -> ScanRequest:
    given = None
    if case.files is not None:
        given = case.files or tuple(python_files(root, case.paths, case.exclude))
    return ScanRequest(
        root=root,
        work_dir=work,
        paths=case.paths,
        exclude=case.exclude,
        semgrep_configs=tuple(root / c for c in case.configs),
        semgrep_files=given,
        repository_config=case.repository_config,
        environ=dict(os.environ) | {"PATH": search_path(os.environ)},
    )


def _found(run: ToolRun) -> Found:
    assert run.ok, f"{run.cli}: {run.error}\n{run.stderr[-2000:]}"
    return sorted((f.rule_id, f.file, f.line) for f in run.findings)


def _both(request: ScanRequest) -> tuple[ToolRun, ToolRun]:
    return run_scanner(OSemgrep(), request), run_scanner(PySemgrep(), request)


@pytest.mark.parametrize("name", sorted(CASES))
def test_osemgrep_finds_what_pysemgrep_finds(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    root, work = tmp_path / "project", tmp_path / "work"
    root.mkdir()
    work.mkdir()
    case.build(root)
    request = _request(case, root, work)
    native, python = _both(request)
    assert (native.cli, python.cli) == ("osemgrep", "pysemgrep")
    assert (native.note, python.note) == ("", "")
    expected = case.found() if callable(case.found) else case.found
    assert _found(native) == expected
    assert _found(python) == expected
    # beyond (rule, file, line): the same messages, severities and confidences
    assert sorted(native.findings, key=sort_key) == sorted(python.findings, key=sort_key)
    assert native.scanned == python.scanned
    if case.scanned is not None:
        assert native.scanned == len(case.scanned)


def test_the_gate_runs_osemgrep() -> None:
    assert isinstance(SCANNERS["semgrep"], OSemgrep)
    assert isinstance(SCANNERS["semgrep"].fallback, PySemgrep)


BAD_RULES = {
    "a pattern that does not parse": "rules:\n  - id: x\n    languages: [python]\n"
    "    message: m\n    severity: ERROR\n    pattern: foo(\n",
    "an unknown severity": "rules:\n  - id: x\n    languages: [python]\n"
    "    message: m\n    severity: BOGUS\n    pattern: foo()\n",
    "no pattern": "rules:\n  - id: x\n    languages: [python]\n    message: m\n    severity: ERROR\n",
    "not a rules file": "hello: world\n",
}


@pytest.mark.parametrize("problem", sorted(BAD_RULES))
def test_bad_rules_fail_both_command_lines(problem: str, tmp_path: Path) -> None:
    _write(tmp_path, {"rules.yml": BAD_RULES[problem], "a.py": RISKY})
    request = _request(Case(lambda _: None, [], files=("a.py",)), tmp_path, tmp_path)
    request = replace(request, semgrep_configs=(tmp_path / "rules.yml",))
    for run in _both(request):
        assert not run.ok, f"{run.cli} passed with {problem}"
        assert run.note == ""  # a real failure is judged, never a reason to fall back


def test_a_target_that_vanished_fails_both_even_beside_a_good_one(tmp_path: Path) -> None:
    # osemgrep scans the good file and exits 1 (findings) but lists the missing one as an error
    _write(tmp_path, {"a.py": RISKY})
    request = _request(Case(lambda _: None, [], files=("gone.py", "a.py")), tmp_path, tmp_path)
    for run in _both(request):
        assert not run.ok and "Invalid scanning root" in run.error, (run.cli, run.error)


def test_a_symlinked_file_is_scanned_by_osemgrep_and_refused_by_pysemgrep(tmp_path: Path) -> None:
    """The one difference found: pysemgrep refuses a symlink given as a target (the gate then
    fails closed); osemgrep scans the file it points to, as bandit does."""
    _write(tmp_path, {"real.py": RISKY})
    (tmp_path / "link.py").symlink_to("real.py")
    request = _request(Case(lambda _: None, [], files=("link.py", "real.py")), tmp_path, tmp_path)
    native, python = _both(request)
    assert _found(native) == [(SHELL, "link.py", 5), (SHELL, "real.py", 5)]
    assert not python.ok and "is a symbolic link" in python.error
