"""Foundation figures: the setup action's install cost and the CLI's start-up cost.

1. `ci-actions --version` vs `python -c pass` (the floor), interleaved, medians.
2. The setup action under act: a cold install with uv, a cold install with
   pip, and the warm cost (venv already there), each read from act's own step
   timing. "Cold" = a new, empty tool cache; the package caches of uv and pip
   stay as they are (as on a self-hosted runner that has installed before).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.act import Consumer  # noqa: E402

BIN = Path(sys.executable).parent
RUNS = 25
STEP = re.compile(r"Main Install ci-actions \[([0-9.]+)(ms|s)\]")


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def startup() -> None:
    cli, floor = [], []
    for _ in range(RUNS):
        cli.append(wall([str(BIN / "ci-actions"), "--version"]))
        floor.append(wall([sys.executable, "-c", "pass"]))
    c, f = statistics.median(cli), statistics.median(floor)
    print(f"ci-actions --version     median {c * 1000:6.1f} ms")
    print(f"python -c pass (floor)   median {f * 1000:6.1f} ms")
    print(f"ratio                    {c / f:6.2f}x   (target <= 3x)")


WORKFLOW = """
on: push
jobs:
  setup:
    runs-on: ubuntu-latest
    steps:
      - uses: ci-actions/ci-actions@v1
"""


def step_seconds(log: str) -> float:
    match = STEP.search(log)
    if not match:
        raise SystemExit("no install step timing in the act log:\n" + log[-3000:])
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def setup_action() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        consumer = Consumer(Path(tmp) / "consumer")
        consumer.commit({"README.md": "x\n"})
        for label, env in (("uv", {}), ("pip", {"CI_ACTIONS_NO_UV": "1"})):
            cache = Path(tmp) / f"cache-{label}"
            env = {**env, "CI_ACTIONS_CACHE_DIR": str(cache)}
            cold = consumer.run(WORKFLOW, env=env)
            warm = [step_seconds(consumer.run(WORKFLOW, env=env).log) for _ in range(5)]
            assert cold.returncode == 0, cold.log[-3000:]
            print(f"setup action, cold, {label:3}  {step_seconds(cold.log):6.2f} s")
            print(f"setup action, warm, {label:3}  {statistics.median(warm):6.3f} s (median of 5)")


if __name__ == "__main__":
    startup()
    setup_action()
