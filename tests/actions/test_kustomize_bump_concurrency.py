"""Twelve `ci-actions kustomize-bump` processes push to one remote at the same moment."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from tests.support.act import git
from tests.support.cli import parse_delimited
from tests.support.gitops import clone, make_remote, show

IMAGES = [f"registry.local:5000/team/svc{i}" for i in range(10)]
SHARED = "registry.local:5000/team/shared"


def _overlay() -> str:
    lines = ["resources:", "  - ../../base", "images:"]
    for name in sorted([*IMAGES, SHARED]):
        lines += [f"  - name: {name}", '    newTag: "1"']
    return "\n".join(lines) + "\n"


def _base() -> dict[str, str]:
    """A base whose one Deployment runs every image (each bump must deploy something)."""
    containers = "".join(
        f"        - name: c{i}\n          image: {name}:0\n"
        for i, name in enumerate(sorted([*IMAGES, SHARED]))
    )
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: all\nspec:\n"
        "  selector:\n    matchLabels: {app: all}\n  template:\n"
        "    metadata:\n      labels: {app: all}\n    spec:\n      containers:\n" + containers
    )
    return {"base/kustomization.yaml": "resources:\n  - all.yaml\n", "base/all.yaml": deployment}


def test_all_concurrent_bumps_land_in_a_linear_history(tmp_path: Path) -> None:
    remote = make_remote(tmp_path, {"overlays/prod/kustomization.yaml": _overlay(), **_base()})
    jobs = [(f"{name}:2", f"w{i}") for i, name in enumerate(IMAGES)]
    jobs += [(f"{SHARED}:5", "s5"), (f"{SHARED}:6", "s6")]
    go = tmp_path / "go"
    cli = Path(sys.executable).parent / "ci-actions"
    procs = []
    for image, name in jobs:
        work = clone(tmp_path, remote, name)
        output = tmp_path / f"{name}.out"
        output.write_text("")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))},
            "GITHUB_OUTPUT": str(output),
        }
        # every process waits for the same start signal
        script = (
            f'while [ ! -e "{go}" ]; do sleep 0.01; done; exec "{cli}" kustomize-bump'
            f" --paths overlays/prod --images {image} --mode commit --push-retries 12"
        )
        procs.append(
            (
                name,
                output,
                subprocess.Popen(
                    ["sh", "-c", script],
                    cwd=work,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
            )
        )
    time.sleep(0.5)
    go.touch()
    shas = {}
    for name, output, proc in procs:
        log, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"{name}:\n{log}"
        shas[name] = parse_delimited(output.read_text())["commit-sha"]

    history = git(remote, "rev-list", "main").split()
    assert len(history) == 1 + len(jobs)  # every bump is one commit on top of the seed
    assert git(remote, "rev-list", "--merges", "main") == ""  # linear
    assert set(shas.values()) <= set(history)
    final = show(remote, "overlays/prod/kustomization.yaml")
    for name in IMAGES:
        assert f'  - name: {name}\n    newTag: "2"\n' in final
    # the shared image holds the value of whichever of its two bumps landed last
    last = next(sha for sha in history if sha in (shas["s5"], shas["s6"]))
    expected = "5" if last == shas["s5"] else "6"
    assert f'  - name: {SHARED}\n    newTag: "{expected}"\n' in final
    assert final.count("newTag:") == 11


def test_with_ordering_semver_concurrent_bumps_end_at_the_newest_version(tmp_path: Path) -> None:
    """Ten bumps of 1.0.0..10.0.0 start in random order: the newest wins, whoever pushes last."""
    overlay = f'resources:\n  - ../../base\nimages:\n  - name: {SHARED}\n    newTag: "0.1.0"\n'
    remote = make_remote(tmp_path, {"overlays/prod/kustomization.yaml": overlay, **_base()})
    versions = [f"{i}.0.0" for i in range(1, 11)]
    random.Random(24).shuffle(versions)
    go = tmp_path / "go"
    cli = Path(sys.executable).parent / "ci-actions"
    procs = []
    for order, version in enumerate(versions):
        work = clone(tmp_path, remote, f"v{version}")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
        script = (
            f'while [ ! -e "{go}" ]; do sleep 0.01; done; sleep 0.0{order}; exec "{cli}"'
            f" kustomize-bump --paths overlays/prod --images {SHARED}:{version}"
            " --mode commit --push-retries 15 --ordering semver"
        )
        procs.append(
            (
                version,
                subprocess.Popen(
                    ["sh", "-c", script],
                    cwd=work,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
            )
        )
    time.sleep(0.5)
    go.touch()
    skipped = []
    for version, proc in procs:
        log, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"{version}:\n{log}"
        if "not replaced (ordering: semver)" in log:
            skipped.append(version)

    final = show(remote, "overlays/prod/kustomization.yaml")
    assert f'  - name: {SHARED}\n    newTag: "10.0.0"\n' in final
    assert "10.0.0" not in skipped
    # every version that landed is newer than the one before it on the branch
    landed = []
    for sha in reversed(git(remote, "rev-list", "main").split()[:-1]):
        text = git(remote, "show", f"{sha}:overlays/prod/kustomization.yaml")
        landed.append(int(text.split('newTag: "')[1].split(".")[0]))
    assert landed == sorted(landed) and len(set(landed)) == len(landed), landed
    assert len(landed) + len(skipped) == len(versions)
