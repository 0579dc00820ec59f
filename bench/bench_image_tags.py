"""One `ci-actions image-tags` invocation vs docker/metadata-action run with node.

Both run as fresh processes on identical inputs (a tag push with semver,
sha and ref rules, two images, custom labels) against the same fake GitHub
API on 127.0.0.1; wall time from process start until it exits with its
outputs written. The node action's dist/index.cjs is fetched into a temp dir
for the run (see tests/support/anchor.py) and never kept.

    .venv/bin/python bench/bench_image_tags.py [runs]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.anchor import Case, fake_api, fetch_anchor, run_node  # noqa: E402

CASE = Case(
    "bench",
    event="push_tag",
    ref="refs/tags/v2.3.4",
    inputs={
        "images": "ghcr.io/acme/app\ndocker.io/acme/app",
        "tags": "type=ref,event=branch\ntype=ref,event=pr\ntype=semver,pattern={{version}}\n"
        "type=semver,pattern={{major}}.{{minor}}\ntype=sha\ntype=raw,value={{date 'YYYYMMDD'}}",
        "labels": "org.opencontainers.image.vendor=ACME\nmaintainer=platform",
    },
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ours_once(api_url: str, work: Path) -> tuple[float, float]:
    out, envf = work / "output", work / "env"
    out.write_text("")
    envf.write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work),
        "GITHUB_OUTPUT": str(out),
        "GITHUB_ENV": str(envf),
        "RUNNER_TEMP": str(work),
        **CASE.environment(api_url),
    }
    exe = Path(sys.executable).parent / "ci-actions"
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run([str(exe), "image-tags"], env=env, capture_output=True, check=False)
    elapsed, cpu = time.perf_counter() - start, _cpu() - cpu
    if done.returncode != 0 or "tags<<" not in out.read_text():
        raise SystemExit(
            f"ci-actions image-tags failed:\n{done.stdout.decode()}{done.stderr.decode()}"
        )
    return elapsed, cpu


def _node_once(index: Path, api_url: str, work: Path) -> tuple[float, float]:
    cpu, start = _cpu(), time.perf_counter()
    outcome = run_node(index, CASE, api_url, work)
    elapsed, cpu = time.perf_counter() - start, _cpu() - cpu
    if not outcome.ok:
        raise SystemExit(f"node action failed:\n{outcome.log}")
    return elapsed, cpu


def _median_ms(samples: list[tuple[float, float]], index: int) -> float:
    return statistics.median(s[index] for s in samples) * 1000


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory(prefix="bench-image-tags-") as tmp:
        work = Path(tmp)
        found = fetch_anchor(work) if _has_node() else None
        with fake_api() as fake:
            _ours_once(fake.url, work)  # warm the file cache
            if found is None:
                ours = [_ours_once(fake.url, work) for _ in range(runs)]
                print(
                    f"ci-actions image-tags: median {_median_ms(ours, 0):.0f} ms wall, "
                    f"{_median_ms(ours, 1):.0f} ms CPU over {runs} runs"
                )
                print(
                    "docker/metadata-action: not measured (no node or no dist/index.cjs reachable)"
                )
                return 0
            index, commit = found
            _node_once(index, fake.url, work / "node")
            ours, node = [], []
            for _ in range(runs):  # interleaved, so load changes hit both alike
                ours.append(_ours_once(fake.url, work))
                node.append(_node_once(index, fake.url, work / "node"))
        for name, samples in (
            ("ci-actions image-tags", ours),
            (f"docker/metadata-action@{commit[:12]} (node)", node),
        ):
            print(
                f"{name}: median {_median_ms(samples, 0):.0f} ms wall, "
                f"{_median_ms(samples, 1):.0f} ms CPU over {runs} runs"
            )
        print(
            f"ratio ours/node: wall {_median_ms(ours, 0) / _median_ms(node, 0):.2f}x, "
            f"CPU {_median_ms(ours, 1) / _median_ms(node, 1):.2f}x (target <= 0.50x wall)"
        )
    return 0


def _has_node() -> bool:
    from shutil import which

    return which("node") is not None


if __name__ == "__main__":
    raise SystemExit(main())
