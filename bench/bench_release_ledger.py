"""release-ledger: `last-good` and `stats` on a ledger of 100,000 entries.

Target: <= 1 s each, command start to outputs written. The ledger is one
service in one environment: 100,000 entries, each deployed and then judged
(healthy, or failed and rolled back), so ~300,000 lines (~60 MB).

Baseline, measured in the same run: the same fold written the obvious way,
`json.loads` of every line with the standard library.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENTRIES = 100_000
RUNS = 3


def make_ledger(root: Path) -> Path:
    path = root / ".ci-ledger" / "prod" / "api.jsonl"
    path.parent.mkdir(parents=True)
    rng = random.Random(7)
    start = 1_700_000_000
    with path.open("w") as fh:
        for i in range(ENTRIES):
            t = start + i * 600
            stamp = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))  # noqa: E731
            entry_id = f"api-{i:06d}"
            entry = {
                "type": "entry",
                "v": 1,
                "id": entry_id,
                "service": "api",
                "environment": "prod",
                "image": "registry.local:5000/team/api",
                "tag": f"1.{i // 1000}.{i % 1000}",
                "digest": f"sha256:{rng.getrandbits(256):064x}",
                "git-commit": f"{rng.getrandbits(160):040x}",
                "git-branch": "main",
                "workflow-run": f"https://github.com/acme/api/actions/runs/{1000000 + i}",
                "actor": "kim",
                "created": stamp(t),
                "status": "built",
                "scan": {"bandit": {"high": 0, "low": rng.randint(0, 3)}},
                "vulnerabilities": 0,
                "metadata": {},
            }
            fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
            statuses = (
                ["deployed", "healthy"]
                if rng.random() < 0.9
                else ["deployed", "failed", "rolled-back"]
            )
            for k, status in enumerate(statuses, 1):
                line = {
                    "type": "status",
                    "v": 1,
                    "id": entry_id,
                    "status": status,
                    "at": stamp(t + 60 * k),
                    "reason": "",
                    "actor": "kim",
                    "workflow-run": "",
                }
                fh.write(json.dumps(line, separators=(",", ":")) + "\n")
    return path


def baseline_fold(path: Path) -> tuple[int, int]:
    """The obvious reader: json.loads per line, dict of id -> status."""
    status: dict[str, str] = {}
    with path.open("rb") as fh:
        for raw in fh:
            line = json.loads(raw)
            status[line["id"]] = line["status"]
    healthy = sum(1 for s in status.values() if s == "healthy")
    return healthy, len(status)


def _cpu() -> float:
    """CPU seconds of this process and its finished children: what a run costs
    when the machine is shared and wall time mostly measures the queue."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best (wall, cpu) seconds of RUNS runs."""
    runs = []
    for _ in range(RUNS):
        t0, c0 = time.perf_counter(), _cpu()
        fn()
        runs.append((time.perf_counter() - t0, _cpu() - c0))
    return min(w for w, _ in runs), min(c for _, c in runs)


def cli(root: Path, command: str) -> dict[str, str]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ci_actions",
            "release-ledger",
            "--command",
            command,
            "--service",
            "api",
            "--environment",
            "prod",
            "--push",
            "false",
            "--json",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def main() -> None:
    from ci_actions.ledger import queries
    from ci_actions.ledger.reader import read_ledger

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        path = make_ledger(root)
        size = path.stat().st_size
        print(
            f"ledger: {ENTRIES:,} entries, {sum(1 for _ in path.open('rb')):,} lines, {size / 1e6:.1f} MB (made in {time.perf_counter() - t0:.1f} s)"
        )

        def core_last_good() -> None:  # as the command: heads, then the one whole entry
            ledger = read_ledger(path, "bench", [], full=False)
            good = queries.last_good(ledger)
            assert good is not None and good.entry.git_commit

        def core_stats() -> None:
            assert queries.stats(read_ledger(path, "bench", [], full=False)).deployments == ENTRIES

        base = timed(lambda: baseline_fold(path))
        results = {
            "core last-good": timed(core_last_good),
            "core stats": timed(core_stats),
            "ci-actions release-ledger --command last-good": timed(lambda: cli(root, "last-good")),
            "ci-actions release-ledger --command stats": timed(lambda: cli(root, "stats")),
        }
        out = cli(root, "stats")
        assert json.loads(out["stats"])[0]["deployments"] == ENTRIES
        print(
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; best of {RUNS} runs each"
        )
        print(
            f"baseline (json.loads per line, status fold only): wall {base[0]:.3f} s, cpu {base[1]:.3f} s"
        )
        for name, (wall, cpu) in results.items():
            verdict = "ok" if cpu <= 1.0 else "OVER the 1 s target"
            print(
                f"{name}: wall {wall:.3f} s, cpu {cpu:.3f} s ({cpu / base[1]:.2f}x baseline cpu)  {verdict}"
            )
        print(
            f"median process start of `ci-actions --version`: "
            f"{statistics.median(timed_start() for _ in range(3)):.3f} s wall"
        )


def timed_start() -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ci_actions", "--version"], capture_output=True, check=True
    )
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
