"""kustomize-bump: one commit setting 20 images in 50 tenant overlays, and 10 such at once.

The GitOps repository is made here: a base whose one Deployment runs 20 images,
and 50 tenant overlays (`tenants/tNN/kustomization.yaml`) each listing all 20.
Behind it, a bare remote on this machine.

- one commit: `ci-actions kustomize-bump --paths tenants/* --images ... (20 lines)
  --mode commit` in a clone, timed as a whole process (plan, render check of the
  50 overlays, write 50 files, commit, push); yardstick: plain `git commit -a` and
  `git push` of the same 50-file change. Target: <= 2 s.
- ten at once: ten clones, ten processes started together, each setting the 20
  images (`--ordering semver`): all land as ten commits on a linear history, none
  forced, and each image ends at the newest version any of them asked for.

    .venv/bin/python bench/bench_kustomize_bump_many.py [runs]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from tests.support.many_overlays import IMAGES, base, overlay  # noqa: E402

TENANTS = 50
CONCURRENT = 10
CLI = str(Path(sys.executable).parent / "ci-actions")
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))},
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def make_remote(work: Path) -> Path:
    remote = work / "remote.git"
    work.mkdir(parents=True, exist_ok=True)
    git(work, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = work / "seed"
    git(work, "clone", "-q", str(remote), str(seed))
    files = {
        **base(),
        **{
            f"tenants/t{t:02d}/kustomization.yaml": overlay(f"tenant-{t:02d}")
            for t in range(TENANTS)
        },
    }
    for rel, text in files.items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        (seed / rel).write_text(text)
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    git(seed, "push", "-q", "origin", "HEAD:main")
    return remote


def bump_argv(versions: list[str], *extra: str) -> list[str]:
    argv = [CLI, "kustomize-bump", "--paths", "tenants/*", "--mode", "commit", *extra]
    for name, version in zip(IMAGES, versions, strict=True):
        argv += ["--images", f"{name}:{version}"]
    return argv


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[:2]} exit {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return elapsed


def one_commit(work: Path, remote: Path, runs: int) -> tuple[list[float], list[float]]:
    """CLI bump+commit+push, and plain git commit+push of the same change, in turn."""
    repo = work / "one"
    plain = work / "plain"
    git(work, "clone", "-q", str(remote), str(repo))
    git(work, "clone", "-q", str(remote), str(plain))
    ours, yardstick = [], []
    for run in range(1, runs + 1):
        ours.append(timed(bump_argv([f"1.{run}.0"] * len(IMAGES)), repo))
        git(plain, "pull", "-q", "--ff-only")
        for t in range(TENANTS):  # the same 50-file change, written by hand
            path = plain / f"tenants/t{t:02d}/kustomization.yaml"
            path.write_text(path.read_text().replace(f'"1.{run}.0"', f'"9.{run}.0"'))
        start = time.perf_counter()
        git(plain, "commit", "-q", "-am", f"plain {run}")
        git(plain, "push", "-q", "origin", "HEAD:main")
        yardstick.append(time.perf_counter() - start)
        git(repo, "pull", "-q", "--ff-only")
    return ours, yardstick


def version(process: int, image: int) -> str:
    """Process k owns image k (every process changes something); the other ten
    images get a different version from each process, 1.0.0 .. 10.0.0."""
    if image < CONCURRENT:
        return f"2.{process}.0" if image == process else "0.1.0"
    return f"{(process * 3 + image) % CONCURRENT + 1}.0.0"


def ten_at_once(work: Path) -> float:
    remote = make_remote(work / "many")
    git(remote, "config", "core.logAllRefUpdates", "always")  # every move of main recorded
    git(remote, "config", "receive.denyNonFastForwards", "true")  # a forced push refused
    clones = [work / "many" / f"c{k}" for k in range(CONCURRENT)]
    for path in clones:
        git(work, "clone", "-q", str(remote), str(path))
    go = work / "many" / "go"
    procs = []
    for k, path in enumerate(clones):
        argv = bump_argv([version(k, i) for i in range(len(IMAGES))], "--ordering", "semver",
                         "--push-retries", "20")  # fmt: skip
        script = f'while [ ! -e "{go}" ]; do sleep 0.005; done; exec "$0" "$@"'
        procs.append(subprocess.Popen(["sh", "-c", script, *argv], cwd=path, env=ENV,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))  # fmt: skip
    time.sleep(0.5)
    start = time.perf_counter()
    go.touch()
    for k, proc in enumerate(procs):
        log, _ = proc.communicate(timeout=300)
        if proc.returncode != 0:
            raise SystemExit(f"process {k} exit {proc.returncode}:\n{log}")
    elapsed = time.perf_counter() - start
    check_history(remote)
    return elapsed


def check_history(remote: Path) -> None:
    """Ten commits on a linear history, every move of main recorded from a commit to its
    child (none forced), each image at the newest version asked for."""
    history = git(remote, "rev-list", "--first-parent", "main").split()
    assert len(history) == 1 + CONCURRENT, f"{len(history) - 1} commits, not {CONCURRENT}"
    assert git(remote, "rev-list", "--merges", "main") == "", "a merge commit"
    assert git(remote, "reflog", "show", "--format=%H", "refs/heads/main").split() == history[:-1]
    for t in range(TENANTS):
        text = git(remote, "show", f"main:tenants/t{t:02d}/kustomization.yaml")
        for i, name in enumerate(IMAGES):
            newest = max(
                (version(k, i) for k in range(CONCURRENT)),
                key=lambda v: tuple(int(p) for p in v.split(".")),
            )
            assert f'  - name: {name}\n    newTag: "{newest}"' in text, (t, name, newest)


def main(runs: int) -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix="bench-kustomize-bump-many-"))
    try:
        remote = make_remote(work)
        ours, yardstick = one_commit(work, remote, runs)
        together = ten_at_once(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = statistics.median
    ratios = [a / b for a, b in zip(ours, yardstick, strict=True)]
    print(
        f"{len(IMAGES)} images in {TENANTS} tenant overlays, one commit pushed to a local bare remote"
    )
    print(f"  ci-actions kustomize-bump --mode commit   median {med(ours):.3f} s"
          f"  (min {min(ours):.3f}, max {max(ours):.3f}; target <= 2 s)")  # fmt: skip
    print(f"  git commit -a + git push, same change     median {med(yardstick):.3f} s")
    print(f"  ratio, run by run                         median {med(ratios):.1f}x")
    print(f"{CONCURRENT} such bumps at once from {CONCURRENT} clones (--ordering semver):"
          f" all landed in {together:.2f} s; linear, {CONCURRENT} commits, newest versions")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
