"""`changes` on a monorepo: 50 services, 5,000 files, a range touching a few of them.

The repository is a real git repository made here (50 services under
`services/`, a shared `lib/`, docs, the services file); the range changes one
service's code, a shared file and a doc. Each side runs as a fresh process, A
and B in turn, and the ratio is taken pair by pair:

- A: `ci-actions changes --base BASE --head HEAD --json` in the repository;
- B: `git diff --name-only BASE HEAD` then `python -c pass` (the floor: the
  same git work plus the interpreter's start-up).

Targets: A <= 0.5 s, A/B <= 1.5.

Where A's time goes beyond B, measured the same way:

- C: B, then importing every module A loads (the CLI, `changes`, the services
  code, PyYAML) and nothing else: A - C is the work itself;
- S: B, then importing only the standard modules the code is written with
  (dataclasses, pathlib, subprocess, json) and PyYAML: the floor of any `changes`
  written with them, however lazy its own imports.

    .venv/bin/python bench/bench_changes.py [runs]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SERVICES = 50
FILES = 5000
SHARED = ("lib/common/util.py", "pyproject.toml")
BIN = Path(sys.executable).parent
# What `ci-actions changes` loads with a services file (tests/test_import_cost.py keeps
# it to that), and the standard modules and parser it is written with.
LOADED = ("ci_actions.cli", "ci_actions.actions.changes", "ci_actions.services.parse",
          "ci_actions.services.select", "ci_actions.yamlsafe")  # fmt: skip
STDLIB = ("dataclasses", "pathlib", "subprocess", "json", "yaml")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}  # fmt: skip


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip()


def services_yml() -> str:
    lines = ["services:"]
    for i in range(SERVICES):
        lines += [
            f"  - name: svc{i:02d}",
            f"    context: services/svc{i:02d}",
            f"    image: registry.example/acme/svc{i:02d}",
            f"    paths: [{', '.join(SHARED) if i % 10 == 0 else 'lib/other/**'}]",
            "    environments:",
            f"      dev: {{workloads: [deployment/svc{i:02d}], health-url: 'http://svc{i:02d}.dev/health'}}",
            f"      prod: {{workloads: [deployment/svc{i:02d}], auto-rollback: false}}",
        ]
    return "\n".join(lines) + "\n"


def make_repo(repo: Path) -> tuple[str, str]:
    """The repository and the range (base, head) the benchmark compares."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    files: dict[str, str] = {
        ".github/ci-actions.yml": services_yml(),
        "pyproject.toml": "[project]\n",
    }
    for i in range(SERVICES):
        files[f"services/svc{i:02d}/Dockerfile"] = "FROM scratch\nCOPY . /app\n"
    n = 0
    while len(files) < FILES:
        where = n % (SERVICES + 2)
        folder = (
            f"services/svc{where:02d}/app/m{n // 100}"
            if where < SERVICES
            else ("lib/common" if where == SERVICES else "docs/guide")
        )
        files[f"{folder}/f{n}.{'md' if where > SERVICES else 'py'}"] = f"VALUE = {n}\n"
        n += 1
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD")
    for rel in ("services/svc07/app/m0/f7.py", "lib/common/util.py", "docs/guide/f51.md"):
        with (repo / rel).open("a") as fh:
            fh.write("# changed\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    return base, git(repo, "rev-parse", "HEAD")


def wall(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def in_process(repo: Path, files: list[str], rounds: int = 50) -> float:
    """Median seconds to read, check and select the services (YAML parser already loaded)."""
    from ci_actions import yamlsafe
    from ci_actions.actions.changes import DEFAULT_DOCS_GLOBS
    from ci_actions.pathfilter import compile_glob
    from ci_actions.services.parse import parse_services
    from ci_actions.services.select import select

    docs = DEFAULT_DOCS_GLOBS.split("\n")
    times = []
    for _ in range(rounds):
        compile_glob.cache_clear()
        start = time.perf_counter()
        text = (repo / ".github" / "ci-actions.yml").read_text()
        select(parse_services(yamlsafe.load(text), repo), files, docs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bounded_vs_plain(repo: Path, rounds: int = 200) -> float:
    """Median, pair by pair, of the bounded loader's time over a plain libyaml load."""
    import yaml

    from ci_actions import yamlsafe

    text = (repo / ".github" / "ci-actions.yml").read_text()
    ratios = []
    for _ in range(rounds):
        start = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        plain = time.perf_counter() - start
        start = time.perf_counter()
        yamlsafe.load(text)
        ratios.append((time.perf_counter() - start) / plain)
    return statistics.median(ratios)


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "mono"
        base, head = make_repo(repo)
        plain = Path(tmp) / "plain"  # the same history, no services file in the checkout
        git(Path(tmp), "clone", "-q", "--shared", str(repo), str(plain))
        (plain / ".github" / "ci-actions.yml").unlink()
        count = len(git(repo, "ls-files").splitlines())
        ours = [str(BIN / "ci-actions"), "changes", "--base", base, "--head", head, "--json"]
        floor, imports, stdlib = (
            ["sh", "-c", f'git diff --name-only {base} {head} >/dev/null && exec "$0" -c "$1"',
             sys.executable, code]
            for code in ("pass", f"import {', '.join(LOADED)}", f"import {', '.join(STDLIB)}")
        )  # fmt: skip
        # As on a runner whose cached venv has run before: bytecode written once and reused
        # (kept in a temp dir, not in the installation)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "RUNNER_", "PYTHONDONTWRITEBYTECODE"))
        }
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        _, out = wall(ours, repo, env)  # warm-up, and what it answers
        wall(ours, plain, env)
        wall(floor, repo, env)
        wall(imports, repo, env)
        wall(stdlib, repo, env)
        result = json.loads(out)
        a, a0, b, c, s = [], [], [], [], []
        for _ in range(runs):
            a.append(wall(ours, repo, env)[0])
            a0.append(wall(ours, plain, env)[0])
            b.append(wall(floor, repo, env)[0])
            c.append(wall(imports, repo, env)[0])
            s.append(wall(stdlib, repo, env)[0])
        ratios = [x / y for x, y in zip(a, b, strict=True)]
        plain_ratios = [x / y for x, y in zip(a0, b, strict=True)]
        files = json.loads(result["changed-files"])
        ms = 1000
        print(f"repository: {SERVICES} services, {count} files; the range changes {len(files)}")
        print(f"changed-services: {result['changed-services']}")
        for label, xs in (
            ("A  ci-actions changes, services file", a),
            ("A0 ci-actions changes, no services file", a0),
            ("B  git diff --name-only + python -c pass", b),
            ("C  B + import what A loads", c),
            ("S  B + import dataclasses, pathlib, ..., yaml", s),
        ):
            print(f"{label:44} median {statistics.median(xs) * ms:6.1f} ms"
                  f"  (min {min(xs) * ms:.1f}, max {max(xs) * ms:.1f})")  # fmt: skip
        print(f"{'A/B, pair by pair':44} median {statistics.median(ratios):6.2f}x"
              f"  (min {min(ratios):.2f}, max {max(ratios):.2f}; target <= 1.5x, A <= 500 ms)")  # fmt: skip
        print(f"{'A0/B, pair by pair':44} median {statistics.median(plain_ratios):6.2f}x")
        for label, xs, ys in (("C/B", c, b), ("S/B", s, b), ("A/S", a, s)):
            pairs = [x / y for x, y in zip(xs, ys, strict=True)]
            print(f"{label + ', pair by pair':44} median {statistics.median(pairs):6.2f}x")
        print(f"{'in process: read, check, select 50 services':44} median "
              f"{in_process(repo, files) * ms:6.1f} ms")  # fmt: skip
        print(f"{'in process: bounded / plain YAML load':44} median {bounded_vs_plain(repo):6.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
