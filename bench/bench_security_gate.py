"""security-gate: the four scanners in parallel vs the same scanners one after another.

The original pipeline ran bandit, semgrep, safety and pip-audit in sequence.
On a generated project of ~200 Python files and a pinned requirements file,
this measures, in the same run:
  - each scanner alone (through the gate's own adapter), and their sum (sequential);
  - the whole `ci-actions security-gate` action with all four (parallel).
Target: gate <= 1.15 x the slowest single scanner.
    python bench/bench_security_gate.py     (BENCH_ROUNDS=N, default 2; median is reported)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support.osv import serve_osv  # noqa: E402

from ci_actions.cli import main  # noqa: E402
from ci_actions.scanners.base import ScanRequest, run_scanner, search_path  # noqa: E402
from ci_actions.scanners.targets import python_files  # noqa: E402
from ci_actions.scanners.tools import SCANNERS  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "security_gate"
FILES = 200
SCANNER_ORDER = ("bandit", "semgrep", "safety", "pip-audit")

MODULE = '''"""Generated module {n}."""

import hashlib
import json
import subprocess


def handler_{n}(request, db):
    name = request.args.get("name", "")
    rows = db.execute("SELECT id, name FROM items WHERE owner = ?", (name,)).fetchall()
    payload = json.dumps([dict(r) for r in rows])
    digest = hashlib.sha256(payload.encode()).hexdigest()
    return {{"items": payload, "etag": digest}}


def report_{n}(items):
    total = 0
    for item in items:
        total += item.get("count", 0)
    return {{"total": total, "n": len(items)}}


def cleanup_{n}(path):
    subprocess.run(["rm", "-f", path], check=False)
'''

RISKY = """

def risky_{n}(host, password):
    subprocess.check_output("ping -c 1 " + host, shell=True)
    return hashlib.md5(password.encode()).hexdigest()
"""


def generate(root: Path) -> None:
    for n in range(FILES):
        pkg = root / "service" / f"pkg{n // 20}"
        pkg.mkdir(parents=True, exist_ok=True)
        text = MODULE.format(n=n) + (RISKY.format(n=n) if n % 10 == 0 else "")
        (pkg / f"mod{n}.py").write_text(text)
    pins = [
        "flask==2.0.0",
        "pyyaml==5.3.1",
        "requests==2.25.0",
        "jinja2==3.1.6",
        "click==8.1.7",
        "itsdangerous==2.1.2",
        "werkzeug==2.0.3",
        "markupsafe==2.1.5",
        "idna==3.7",
        "certifi==2024.7.4",
    ]
    (root / "requirements.txt").write_text("\n".join(pins) + "\n")


def one_scanner(name: str, root: Path, osv_url: str, work: Path) -> float:
    request = ScanRequest(
        root=root,
        work_dir=work,
        requirements=("requirements.txt",),
        safety_db=FIXTURES / "safety-db",
        osv_url=osv_url,
        python_files=tuple(python_files(root, (".",), ())),  # what the gate gives bandit
        environ=dict(os.environ) | {"PATH": search_path(os.environ)},
    )
    started = time.monotonic()
    run = run_scanner(SCANNERS[name], request)
    seconds = time.monotonic() - started
    if not run.ok:
        raise SystemExit(f"{name} failed: {run.error}\n{run.stderr[-2000:]}")
    return seconds


def whole_gate(root: Path, osv_url: str) -> float:
    args = [
        "security-gate",
        "--scanners",
        ",".join(SCANNER_ORDER),
        "--safety-db",
        str(FIXTURES / "safety-db"),
        "--osv-url",
        osv_url,
    ]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))
    }
    old = Path.cwd()
    os.chdir(root)
    try:
        started = time.monotonic()
        with (
            contextlib.redirect_stdout(io.StringIO()) as out,
            contextlib.redirect_stderr(io.StringIO()),
        ):
            code = main([*args, "--json"], env)
        seconds = time.monotonic() - started
    finally:
        os.chdir(old)
    if code not in (0, 1):
        raise SystemExit(f"the gate failed with exit {code}: {out.getvalue()[-2000:]}")
    return seconds


def bench() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "2"))
    records = json.loads((FIXTURES / "osv-records.json").read_text())
    with tempfile.TemporaryDirectory() as tmp, serve_osv(records) as osv:
        root = Path(tmp) / "project"
        generate(root)
        work = Path(tmp) / "work"
        work.mkdir()
        single: dict[str, list[float]] = {name: [] for name in SCANNER_ORDER}
        sequential: list[float] = []
        gate: list[float] = []
        for _ in range(rounds):
            times = {name: one_scanner(name, root, osv.url, work) for name in SCANNER_ORDER}
            for name, seconds in times.items():
                single[name].append(seconds)
            sequential.append(sum(times.values()))
            gate.append(whole_gate(root, osv.url))
    med = {name: statistics.median(v) for name, v in single.items()}
    slowest = max(med, key=lambda n: med[n])
    g, s = statistics.median(gate), statistics.median(sequential)
    print(
        f"project: {FILES} Python files, 10 pinned requirements; {os.cpu_count()} CPU(s); median of {rounds} round(s)"
    )
    for name in SCANNER_ORDER:
        print(f"  {name:<10} alone: {med[name]:6.2f} s")
    print(f"  sequential (sum): {s:6.2f} s")
    print(f"  gate (parallel, whole action): {g:6.2f} s")
    print(
        f"ratio gate / slowest single scanner ({slowest}): {g / med[slowest]:.2f}  (target <= 1.15)"
    )
    print(f"ratio gate / sequential: {g / s:.2f}  (speed-up {s / g:.2f}x)")


if __name__ == "__main__":
    bench()
