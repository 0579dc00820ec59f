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


def _ours_once(api_url: str, work: Path) -> float:
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
    start = time.perf_counter()
    done = subprocess.run([str(exe), "image-tags"], env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or "tags<<" not in out.read_text():
        raise SystemExit(
            f"ci-actions image-tags failed:\n{done.stdout.decode()}{done.stderr.decode()}"
        )
    return elapsed


def _node_once(index: Path, api_url: str, work: Path) -> float:
    start = time.perf_counter()
    outcome = run_node(index, CASE, api_url, work)
    elapsed = time.perf_counter() - start
    if not outcome.ok:
        raise SystemExit(f"node action failed:\n{outcome.log}")
    return elapsed


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory(prefix="bench-image-tags-") as tmp:
        work = Path(tmp)
        found = fetch_anchor(work)
        with fake_api() as fake:
            _ours_once(fake.url, work)  # warm the file cache
            ours = [_ours_once(fake.url, work) for _ in range(runs)]
            ours_ms = statistics.median(ours) * 1000
            print(f"ci-actions image-tags: median {ours_ms:.0f} ms over {runs} runs")
            if found is None or not _has_node():
                print(
                    "docker/metadata-action: not measured (no node or no dist/index.cjs reachable)"
                )
                return 0
            index, commit = found
            _node_once(index, fake.url, work / "node")
            node = [_node_once(index, fake.url, work / "node") for _ in range(runs)]
            node_ms = statistics.median(node) * 1000
            print(
                f"docker/metadata-action@{commit[:12]} (node): median {node_ms:.0f} ms over {runs} runs"
            )
            print(f"ratio ours/node: {ours_ms / node_ms:.2f}x (target <= 0.50x)")
    return 0


def _has_node() -> bool:
    from shutil import which

    return which("node") is not None


if __name__ == "__main__":
    raise SystemExit(main())
