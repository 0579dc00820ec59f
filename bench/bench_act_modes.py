"""act's two modes on the same workflow: self-hosted (jobs on this host) vs container (jobs in
the runner image on the private podman engine), plus the runner image's own costs.

1. `scripts/runner-image` into a new engine state folder: the import of the kept root file
   system, and (with --cold) the mmdebstrap build too.
2. (`--runs=N`, default 3) A workflow of the setup action, `changes` and one shell step, warm caches in both modes (the
   venv already in the tool cache), interleaved; wall time of the `act` process, medians.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.act import Consumer  # noqa: E402
from tests.support.container_engine import (  # noqa: E402
    ENGINE_SCRIPT,
    RUNNER_IMAGE_SCRIPT,
    Engine,
    parse_exports,
    run_script,
)

RUNS = int(next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--runs=")), "3"))
WORKFLOW = """
on: push
jobs:
  detect:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4  # self-hosted: the workspace is empty until checked out
        with: {fetch-depth: 0}
      - id: setup
        uses: ci-actions/ci-actions@v1
      - id: changes
        uses: ci-actions/ci-actions/actions/changes@v1
      - run: echo built
"""


def timed_run(consumer: Consumer, before: str, after: str) -> float:
    start = time.perf_counter()
    run = consumer.run(WORKFLOW, payload={"before": before, "after": after})
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(run.log[-3000:])
    return elapsed


def main() -> None:
    cold = "--cold" in sys.argv
    state = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    if cold:
        shutil.rmtree(ROOT / ".cache" / "runner-image", ignore_errors=True)
    try:
        run_script(ENGINE_SCRIPT, state, "start")
        start = time.perf_counter()
        image = run_script(RUNNER_IMAGE_SCRIPT, state).strip()
        print(
            f"| runner image {'built and imported' if cold else 'imported'} | {time.perf_counter() - start:.1f} s |"
        )
        engine = Engine(state, parse_exports(run_script(ENGINE_SCRIPT, state, "env")), image)
        work = Path(tempfile.mkdtemp(prefix="bench-act-"))
        modes = {
            "self-hosted": Consumer(work / "host"),
            "container": Consumer(work / "ctr", engine),
        }
        commits = {}
        for name, consumer in modes.items():
            before = consumer.commit({"src/a.py": "1\n"}, "one")
            after = consumer.commit({"src/a.py": "2\n"}, "two")
            commits[name] = (before, after)
            timed_run(consumer, before, after)  # warm the tool cache
        times: dict[str, list[float]] = {name: [] for name in modes}
        for _ in range(RUNS):
            for name, consumer in modes.items():
                times[name].append(timed_run(consumer, *commits[name]))
        for name, values in times.items():
            print(
                f"| {name}: setup + changes + one step, warm, median of {RUNS} | {statistics.median(values):.1f} s |"
            )
    finally:
        run_script(ENGINE_SCRIPT, state, "stop")
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
