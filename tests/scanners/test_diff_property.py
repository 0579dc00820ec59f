"""The diff-aware shortcut is safe: on the changed files it judges as a full scan does.

For generated changes to a small seeded project (vulnerable lines added,
removed, duplicated and moved; files renamed, added and edited without a
finding; an unrelated file edited), the diff-aware gate's new findings and
verdict must equal those of a full scan of the head, judged against a
baseline of a full scan of the base, restricted to the changed files. The
real bandit runs every scan; the expected side never uses diff-base.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.act import git
from tests.support.cli import CliRun, invoke

HEADER = "import hashlib\nimport pickle\nimport subprocess\n\ncmd = data = ''\n"
# bandit: B602 shell=True (high), B324 md5 (high), B307 eval (medium), B301 pickle (medium)
RISKY = (
    "subprocess.call(cmd, shell=True)",
    "hashlib.md5(data)",
    "eval(data)",
    "pickle.loads(data)",
)
HARMLESS = ("x = len(data)", "y = data.upper()")
SEED = {
    "app.py": [RISKY[0], HARMLESS[0], RISKY[1]],
    "store.py": [RISKY[2], RISKY[2], HARMLESS[1]],
    "pkg/util.py": [RISKY[3], HARMLESS[0]],
}

Files = dict[str, list[str]]


@dataclass(frozen=True)
class Op:
    kind: str
    file: int
    line: int
    text: int
    to: int

    def apply(self, files: Files) -> None:
        names = sorted(files)
        name = names[self.file % len(names)]
        body = files[name]
        at = self.line % (len(body) + 1)
        if self.kind == "add":
            body.insert(at, (RISKY + HARMLESS)[self.text % (len(RISKY) + len(HARMLESS))])
        elif self.kind == "remove" and body:
            body.pop(at % len(body))
        elif self.kind == "duplicate" and body:
            body.insert(at, body[at % len(body)])
        elif self.kind == "move" and body:
            line = body.pop(at % len(body))
            body.insert(self.to % (len(body) + 1), line)
        elif self.kind == "rename":
            files[f"renamed_{self.to % 3}_{name.replace('/', '_')}"] = files.pop(name)
        elif self.kind == "new-file":
            files[f"new_{self.to % 3}.py"] = [RISKY[self.text % len(RISKY)], HARMLESS[0]]


OPS = st.builds(
    Op,
    kind=st.sampled_from(["add", "remove", "duplicate", "move", "rename", "new-file", "readme"]),
    file=st.integers(0, 9),
    line=st.integers(0, 9),
    text=st.integers(0, 9),
    to=st.integers(0, 9),
)


def _write(root: Path, files: Files, readme: str) -> None:
    for old in root.rglob("*.py"):
        old.unlink()
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(HEADER + "".join(f"{line}\n" for line in body))
    (root / "README.txt").write_text(readme)


def _gate(root: Path, *args: str) -> CliRun:
    argv = ["--scanners", "bandit", "--fail-on", "medium", *args]
    run = invoke(root.parent / "runner", "security-gate", argv, cwd=root)
    assert run.code in (0, 1), run.log[-3000:]
    return run


def _scan(root: Path, *args: str) -> tuple[CliRun, list[tuple[str, str, str, str]]]:
    """(the run, its new findings as (file, rule, fingerprint, severity))."""
    out = root.parent / "report.json"
    run = _gate(root, *args, "--report-file", str(out))
    report = json.loads(out.read_text())
    assert report["passed"] == (run.code == 0)
    new = [(f["file"], f["rule-id"], f["fingerprint"], f["severity"]) for f in report["findings"]]
    return run, sorted(
        n for n, f in zip(new, report["findings"], strict=True) if f["status"] == "new"
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, min_size=1, max_size=5))
def test_diff_aware_verdict_equals_a_full_scan_restricted_to_the_changed_files(
    ops: list[Op],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        files = {name: list(body) for name, body in SEED.items()}
        _write(root, files, "base\n")
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "base")
        base = git(root, "rev-parse", "HEAD")
        baseline = Path(tmp) / "baseline.txt"
        _gate(root, "--baseline", str(baseline), "--update-baseline", "true")
        readme = "base\n"
        for op in ops:
            if op.kind == "readme":
                readme += "edited\n"
            else:
                op.apply(files)
        _write(root, files, readme)
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", "change")

        diff_run, diff_new = _scan(root, "--diff-base", base)
        changed = set(json.loads(diff_run.outputs["scanned-files"]))
        assert diff_run.outputs["diff-aware"] == "true"
        _, full_new = _scan(root, "--baseline", str(baseline))

        expected = [f for f in full_new if f[0] in changed]
        assert diff_new == expected
        # the verdict on the changed files: fail-on medium
        assert (diff_run.code == 0) == all(f[3] == "low" for f in expected)
        # and the changed files are exactly the Python files the change touched
        touched = set(git(root, "diff", "--name-only", base, "HEAD").split())
        assert changed == {f for f in touched if f.endswith(".py") and (root / f).exists()}
