"""release-ledger `stats` with the four DORA keys on 100,000 entries (~80 MB).

Target: <= 1.0 s for the whole CLI call. The ledger is one service in one
environment: 100,000 entries, every one with its git-commit-time, deployed
and judged (90% healthy; 10% failed, rolled back, and the previous image
re-deployed healthy by a rollback entry), every time inside the window.

Run it as a script to make the ledger and print the two commands to time;
time them side by side with any whole-process timer, e.g.
`/usr/bin/time -v`, the new `stats` (DORA) against the `stats` of the same
ledger from a checkout before the metrics existed.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

ENTRIES = 100_000
START = 1_780_000_000  # 2026-05-28T...Z; one entry every 4 minutes: ~278 days


def stamp(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def make_ledger(root: Path) -> Path:
    path = root / ".ci-ledger" / "prod" / "api.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    out = []
    previous = ""
    for i in range(ENTRIES):
        t = START + i * 240
        entry_id = f"api-{i:06d}"
        digest = f"sha256:{rng.getrandbits(256):064x}"
        rollback = i > 0 and rng.random() < 0.1 and previous
        entry = {
            "type": "entry",
            "v": 1,
            "id": entry_id,
            "service": "api",
            "environment": "prod",
            "image": "registry.local:5000/team/api",
            "tag": f"1.{i // 1000}.{i % 1000}",
            "digest": previous if rollback else digest,
            "created": stamp(t),
            "status": "deployed" if rollback else "built",
            "git-commit-time": stamp(t - 3600 - rng.randint(0, 86400)),
            "git-commit": f"{rng.getrandbits(160):040x}",
            "git-branch": "main",
            "workflow-run": f"https://github.com/acme/api/actions/runs/{1000000 + i}",
            "actor": "kim",
            "vulnerabilities": 0,
            "metadata": {"rollback-of": f"api-{i - 1:06d}"} if rollback else {},
        }
        out.append(json.dumps(entry, separators=(",", ":")))
        statuses = (
            ["healthy"]
            if rollback
            else ["deployed", "healthy"]
            if rng.random() < 0.9
            else ["deployed", "failed", "rolled-back"]
        )
        for k, status in enumerate(statuses, 1):
            line = {
                "type": "status",
                "v": 1,
                "id": entry_id,
                "status": status,
                "at": stamp(t + 30 * k),
                "reason": "probe",
                "actor": "kim",
                "workflow-run": "",
            }
            out.append(json.dumps(line, separators=(",", ":")))
        if not rollback:
            previous = digest
    path.write_text("\n".join(out) + "\n")
    return path


def command(root: Path, python: str = sys.executable) -> list[str]:
    return [
        python,
        "-m",
        "ci_actions",
        "release-ledger",
        "--command",
        "stats",
        "--service",
        "api",
        "--environment",
        "prod",
        "--push",
        "false",
        "--since",
        "2026-05-01",
        "--until",
        "2027-06-01",
        "--json",
    ]


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/bench-dora")
    path = make_ledger(root)
    lines = sum(1 for _ in path.open("rb"))
    print(
        f"ledger: {ENTRIES:,} entries, {lines:,} lines, {path.stat().st_size / 1e6:.1f} MB in {root}"
    )
    import subprocess

    t0 = time.perf_counter()
    out = json.loads(
        subprocess.run(command(root), cwd=root, capture_output=True, text=True, check=True).stdout
    )
    wall = time.perf_counter() - t0
    dora = json.loads(out["dora"])
    print(
        f"stats with DORA: {wall:.3f} s wall (one run; time it properly with a whole-process timer)"
    )
    print(
        json.dumps(
            {
                k: dora[k]
                for k in (
                    "deployment-frequency",
                    "lead-time",
                    "change-failure-rate",
                    "time-to-restore",
                )
            }
        )
    )
    assert dora["deployment-frequency"]["count"] > 80_000
    print("time:", " ".join(command(root)), f"(cwd {root})")


if __name__ == "__main__":
    main()
