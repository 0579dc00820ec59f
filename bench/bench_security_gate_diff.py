"""security-gate on a pull request: diff-aware and cached vs a full scan, in the same run.

The 200-file project of bench_security_gate.py is committed as the base; a
pull request changes 5 of its Python files (one gets a new risky line).
Each scenario is one `ci-actions security-gate` process (bandit, semgrep,
safety with the local database), runs interleaved, median of BENCH_ROUNDS:
  - full, cold: every file, an empty cache folder each run;
  - diff-aware, cold: `diff-base`, an empty cache folder each run;
  - diff-aware, warm: `diff-base`, the cache of a previous run of the same change;
  - full, warm, no change: the cache of a previous full run, nothing edited.
Targets: diff cold <= 0.35x full cold; diff warm <= 0.2x; full warm <= 0.15x.
    python bench/bench_security_gate_diff.py     (BENCH_ROUNDS=N, default 5;
        BENCH_SCANNERS=bandit,semgrep for the code scanners alone)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_security_gate import FIXTURES, generate  # noqa: E402

SCANNERS = os.environ.get("BENCH_SCANNERS", "bandit,semgrep,safety")
CHANGED = 5


def git(repo: Path, *args: str) -> str:
    env = os.environ | {
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.com",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.com",
    }
    done = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()


def project(tmp: Path) -> tuple[Path, str]:
    """The benchmark project on a branch that changes CHANGED files; (root, base SHA)."""
    root = tmp / "project"
    generate(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "change")
    for n in range(CHANGED):
        m = n * 40 + 1
        mod = root / "service" / f"pkg{m // 20}" / f"mod{m}.py"
        extra = f"\n\ndef added_{n}(x):\n    return x * {n}\n"
        if n == 0:
            extra += "\n\ndef shell(cmd):\n    return subprocess.call(cmd, shell=True)\n"
        mod.write_text(mod.read_text() + extra)
    git(root, "commit", "-q", "-am", "change")
    return root, base


def gate(root: Path, cache: Path, *extra: str) -> float:
    exe = str(Path(sys.executable).parent / "ci-actions")
    argv = [
        exe,
        "security-gate",
        "--scanners",
        SCANNERS,
        "--safety-db",
        str(FIXTURES / "safety-db"),
    ]
    argv += ["--cache-dir", str(cache), *extra]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))
    }
    started = time.monotonic()
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"gate exit {done.returncode}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds


def bench() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    with tempfile.TemporaryDirectory() as tmp:
        root, base = project(Path(tmp))
        cold = Path(tmp) / "cold-cache"
        warm_diff, warm_full = Path(tmp) / "warm-diff", Path(tmp) / "warm-full"
        gate(root, warm_diff, "--diff-base", base)  # fills the caches
        gate(root, warm_full)
        times: dict[str, list[float]] = {k: [] for k in ("full", "diff", "diff-warm", "full-warm")}
        for _ in range(rounds):
            shutil.rmtree(cold, ignore_errors=True)
            times["full"].append(gate(root, cold))
            shutil.rmtree(cold, ignore_errors=True)
            times["diff"].append(gate(root, cold, "--diff-base", base))
            times["diff-warm"].append(gate(root, warm_diff, "--diff-base", base))
            times["full-warm"].append(gate(root, warm_full))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"200 Python files, {CHANGED} changed; {SCANNERS}; {os.cpu_count()} CPU(s); median of {rounds}"
    )
    for name, label in (
        ("full", "full gate, cold cache"),
        ("diff", "diff-aware gate, cold cache"),
        ("diff-warm", "diff-aware gate, warm cache"),
        ("full-warm", "full gate, warm cache, no change"),
    ):
        print(f"  {label:<34} {med[name]:6.2f} s  ({med[name] / med['full']:.2f}x full cold)")
    print("targets: diff cold <= 0.35x, diff warm <= 0.2x, full warm <= 0.15x")


if __name__ == "__main__":
    bench()
