"""kustomize-bump: one image across 1,000 kustomization files, and commit+push latency.

Yardstick: `kubectl kustomize` rendering one overlay, measured in the same run.
Prints wall times, the per-file cost and the ratios.
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

FILES = 1000
IMAGE = "registry.local:5000/team/api"
OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
# tenant {n}: synced by Argo CD
namespace: tenant-{n}
resources:
  - ../../base
commonLabels:
  tenant: "t{n}"
images:
  - name: {image}
    newTag: "1.0.0"  # set by CI
  - name: registry.local:5000/team/worker
    newTag: "1.0.0"
patches:
  - path: replicas.yaml
    target: {{kind: Deployment, name: api}}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
        - {{name: api, image: "{image}:0.1.0"}}
"""
CLI = str(Path(sys.executable).parent / "ci-actions")
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))}


def git(cwd: Path, *args: str) -> str:
    env = {
        **ENV,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


def make_repo(root: Path) -> None:
    (root / "base").mkdir(parents=True)
    (root / "base" / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    (root / "base" / "deployment.yaml").write_text(DEPLOYMENT.format(image=IMAGE))
    for n in range(FILES):
        d = root / "tenants" / f"t{n:04d}"
        d.mkdir(parents=True)
        (d / "kustomization.yaml").write_text(OVERLAY.format(n=n, image=IMAGE))
        (d / "replicas.yaml").write_text(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec: {replicas: 2}\n"
        )


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=ENV, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def bump_cli(root: Path, tag: str) -> float:
    return timed(
        [CLI, "kustomize-bump", "--paths", "tenants/*", "--images", f"{IMAGE}:{tag}"], root
    )


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix="bench-kustomize-bump-"))
    try:
        repo = work / "repo"
        make_repo(repo)
        # in-process core: the cost per file without interpreter start-up
        from ci_actions.kustomize import find_files, parse_image_arg, plan
        from ci_actions.kustomize.rendered import overlay_images

        core, planned, checked = [], [], []
        for i in range(3):
            start = time.perf_counter()
            result = plan(repo, find_files(repo, ["tenants/*"]), [parse_image_arg(f"{IMAGE}:c{i}")])
            planned.append(time.perf_counter() - start)
            check = time.perf_counter()  # does each setting deploy something? (read, no kustomize)
            assert not any(o.unused() for o in overlay_images(repo, result, work))
            checked.append(time.perf_counter() - check)
            start += checked[-1]  # the core figure stays read, plan, write
            assert len(result.write()) == FILES
            core.append(time.perf_counter() - start)
        floor = []
        for i in range(3):  # the filesystem alone: write a temp file and rename it, 1,000 times
            start = time.perf_counter()
            for n in range(FILES):
                target = repo / "tenants" / f"t{n:04d}" / "floor.yaml"
                tmp = target.with_suffix(".tmp")
                tmp.write_text(f"{i}\n")
                os.replace(tmp, target)
            floor.append(time.perf_counter() - start)
        cli = [bump_cli(repo, f"v{i}") for i in range(3)]
        kubectl = [timed(["kubectl", "kustomize", "tenants/t0000"], repo) for _ in range(5)]

        # commit + push of one overlay to a local bare remote
        remote = work / "remote.git"
        git(work, "init", "-q", "--bare", "-b", "main", str(remote))
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "seed")
        git(repo, "remote", "add", "origin", str(remote))
        git(repo, "push", "-q", "origin", "main")
        push = [
            timed(
                [
                    CLI,
                    "kustomize-bump",
                    "--paths",
                    "tenants/t0001",
                    "--images",
                    f"{IMAGE}:p{i}",
                    "--mode",
                    "commit",
                ],
                repo,
            )
            for i in range(5)
        ]
        assert git(remote, "rev-list", "--count", "main").strip() == "6"
        git_only = []
        for i in range(5):  # the git part alone: commit and push a one-line change
            (repo / "tenants/t0002/kustomization.yaml").write_text(
                OVERLAY.format(n=2, image=IMAGE) + f"# {i}\n"
            )
            start = time.perf_counter()
            git(repo, "commit", "-q", "-am", f"g{i}")
            git(repo, "push", "-q", "origin", "main")
            git_only.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    per_file_ms = med(core) / FILES * 1000
    print(
        f"bump one image in {FILES} kustomizations, CLI wall (median of 3): {med(cli):.3f} s (target <= 2 s)"
    )
    print(
        f"  in-process core (read, plan, write): {med(core):.3f} s = {per_file_ms:.3f} ms per file"
    )
    print(
        f"    read and plan {med(planned):.3f} s, write (temp files, renamed) {med(core) - med(planned):.3f} s"
    )
    print(f"    filesystem floor, 1,000 plain temp-file writes and renames: {med(floor):.3f} s")
    print(
        f"  deploy check of {FILES} overlays (images read through the base, in process, median of 3): "
        f"{med(checked):.3f} s = {med(checked) / FILES * 1000:.3f} ms per overlay"
    )
    print(f"kubectl kustomize of one overlay (median of 5): {med(kubectl) * 1000:.1f} ms")
    print(
        f"  ratio per-file cost / one kubectl kustomize: {per_file_ms / (med(kubectl) * 1000):.3f}"
    )
    print(f"  ratio 1,000-file CLI bump / one kubectl kustomize: {med(cli) / med(kubectl):.1f}x")
    print(
        f"commit+push of one overlay to a local bare remote, CLI wall (median of 5): {med(push) * 1000:.0f} ms"
    )
    print(f"  of which plain git commit+push (median of 5): {med(git_only) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
