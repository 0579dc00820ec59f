"""image-build and image-promote: promote vs rebuild for one new tag; push of 1 vs 10 tags.

Runs the real CLI (`ci-actions`, buildah with vfs storage and chroot
isolation) against Debian's docker-registry on 127.0.0.1, with a build
context holding a 16 MiB file so blob uploads weigh what they would.

    scripts/bench bench/bench_image_build.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.registry import running_registry  # noqa: E402

ROUNDS = 3
PAYLOAD_MIB = 16
ENV = {**os.environ, "STORAGE_DRIVER": "vfs", "BUILDAH_ISOLATION": "chroot"}
CLI = str(Path(sys.executable).parent / "ci-actions")


def make_context(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "payload.bin").write_bytes(os.urandom(PAYLOAD_MIB * 1024 * 1024))
    (folder / "app.txt").write_text("app\n")
    (folder / "Dockerfile").write_text(
        "FROM scratch AS assets\nCOPY payload.bin app.txt /src/\n"
        "FROM scratch\nCOPY --from=assets /src/ /app/\n"
    )
    return folder


def cli(*args: str) -> tuple[float, dict[str, str]]:
    started = time.perf_counter()
    done = subprocess.run([CLI, *args, "--json"], env=ENV, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ci-actions {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout)


def build(context: Path, host: str, tags: list[str]) -> tuple[float, dict[str, object]]:
    seconds, out = cli(
        "image-build",
        "--context", str(context),
        "--tags", "\n".join(f"{host}/bench/app:{t}" for t in tags),
        "--push", "true",
        "--insecure-registries", host,
    )  # fmt: skip
    meta: dict[str, object] = json.loads(out["metadata"])
    return seconds, meta


def promote(host: str, source: str, tag: str) -> float:
    seconds, _ = cli(
        "image-promote",
        "--source",
        f"{host}/bench/app:{source}",
        "--tags",
        tag,
        "--insecure",
        "true",
    )
    return seconds


def promote_in_process(host: str, tag: str) -> float:
    """The registry calls alone, without the CLI's process start and imports."""
    from ci_actions.registry.client import RegistryClient
    from ci_actions.registry.promote import Target, promote

    started = time.perf_counter()
    promote(RegistryClient(host, insecure=True), "bench/app", "base", [Target("bench/app", tag)])
    return time.perf_counter() - started


def main() -> None:
    if shutil.which("buildah") is None:
        raise SystemExit("buildah is not installed (scripts/bootstrap)")
    work = Path(tempfile.mkdtemp(prefix="bench-image-build-"))
    try:
        context = make_context(work / "context")
        with running_registry() as registry:
            host = registry.host
            build(context, host, ["base"])  # warm: the first build fills caches

            rebuild = [build(context, host, [f"rebuild-{i}"])[0] for i in range(ROUNDS)]
            promoted = [promote(host, "base", f"promoted-{i}") for i in range(ROUNDS)]
            api_only = [promote_in_process(host, f"api-{i}") for i in range(ROUNDS)]

            one, ten, one_push, ten_push, uploads = [], [], [], [], []
            for i in range(ROUNDS):
                seconds, meta = build(context, host, [f"one-{i}"])
                one.append(seconds)
                one_push.append(float(meta["push-seconds"]))  # type: ignore[arg-type]
                before = registry.blob_uploads()
                seconds, meta = build(context, host, [f"ten-{i}-{n}" for n in range(10)])
                ten.append(seconds)
                ten_push.append(float(meta["push-seconds"]))  # type: ignore[arg-type]
                uploads.append(registry.blob_uploads() - before)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    print(f"image: {PAYLOAD_MIB} MiB layer, multi-stage FROM scratch; median of {ROUNDS} runs")
    print(f"rebuild + push, one new tag : {med(rebuild):6.2f} s  (baseline)")
    print(
        f"promote, one new tag        : {med(promoted):6.2f} s  ({med(rebuild) / med(promoted):.1f}x faster)"
    )
    print(f"  of which registry calls   : {med(api_only):6.3f} s  (in-process, no CLI start)")
    print(f"build + push  1 tag         : {med(one):6.2f} s  (push {med(one_push):.2f} s)")
    print(f"build + push 10 tags        : {med(ten):6.2f} s  (push {med(ten_push):.2f} s)")
    print(
        f"10 tags / 1 tag             : total {med(ten) / med(one):.2f}x, push {med(ten_push) / med(one_push):.2f}x"
    )
    print(f"blob uploads for 10 tags    : {uploads} (each blob at most once)")


if __name__ == "__main__":
    main()
