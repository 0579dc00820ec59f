"""Detection latency of health-probe's rollout wait vs `kubectl rollout status`.

Both watch the same deployment on the fake API server (127.0.0.1) at the same
time. Once both are watching, the fake reports the rollout complete (or
ProgressDeadlineExceeded); we time from that write to each verdict: our
waiter returning, kubectl exiting (what a pipeline step waits for).

    python bench/bench_health_probe.py [ROUNDS]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.fake_k8s import FakeCluster  # noqa: E402
from tests.support.k8s_workloads import (  # noqa: E402
    complete_status,
    condition,
    install_deployment,
    start_update,
)

from ci_actions.probes.kube import KubeClient  # noqa: E402
from ci_actions.probes.rollout import Workload  # noqa: E402
from ci_actions.probes.wait import wait_for_rollout  # noqa: E402

SETTLE = 2.0  # time for kubectl to start and open its watch


def decisive(outcome: str):  # type: ignore[no-untyped-def]
    if outcome == "complete":
        return lambda c: c.patch_status(
            "deploy", "default", "web", complete_status(2, generation=2)
        )
    return lambda c: c.patch_status(
        "deploy",
        "default",
        "web",
        {
            "observedGeneration": 2,
            "conditions": [condition("Progressing", "False", "ProgressDeadlineExceeded")],
        },
    )


def one_round(outcome: str, workdir: Path) -> tuple[float, float | None]:
    with FakeCluster() as cluster:
        install_deployment(cluster, "web", ["reg/web:1"])
        start_update(cluster, "default", "web", "reg/web:2")
        kubeconfig = cluster.write_kubeconfig(workdir / "kubeconfig")
        kube = KubeClient.from_kubeconfig(kubeconfig)
        ours: dict[str, float] = {}

        def probe() -> None:
            wait_for_rollout(kube, Workload("deployment", "web", "default"), 30)
            ours["at"] = time.monotonic()

        thread = threading.Thread(target=probe)
        thread.start()
        kubectl = None
        if shutil.which("kubectl"):
            kubectl = subprocess.Popen(
                [
                    "kubectl",
                    "--kubeconfig",
                    str(kubeconfig),
                    "rollout",
                    "status",
                    "deploy/web",
                    "--timeout=30s",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        time.sleep(SETTLE)
        written = time.monotonic()
        decisive(outcome)(cluster)
        kubectl_latency = None
        if kubectl is not None:
            kubectl.wait(30)
            kubectl_latency = time.monotonic() - written
        thread.join(30)
        kube.close()
        return ours["at"] - written, kubectl_latency


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    workdir = Path(tempfile.mkdtemp(prefix="bench-health-probe-"))
    try:
        for outcome in ("complete", "deadline"):
            ours, theirs = [], []
            for _ in range(rounds):
                mine, kubectl = one_round(outcome, workdir)
                ours.append(mine * 1000)
                if kubectl is not None:
                    theirs.append(kubectl * 1000)
            line = f"{outcome:9s} health-probe median {statistics.median(ours):7.1f} ms  max {max(ours):7.1f} ms"
            if theirs:
                ratio = statistics.median(theirs) / max(statistics.median(ours), 0.001)
                line += f" | kubectl rollout status median {statistics.median(theirs):7.1f} ms  max {max(theirs):7.1f} ms | kubectl/ours {ratio:.1f}x"
            print(line, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
