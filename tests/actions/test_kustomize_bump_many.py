"""Ten `ci-actions kustomize-bump` processes, each setting 20 images in 50 tenant overlays
as one commit, push to one bare remote at the same moment."""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.act import git
from tests.support.cli import parse_delimited
from tests.support.gitops import clone, make_remote, show
from tests.support.many_overlays import IMAGES, base, overlay

pytestmark = pytest.mark.slow  # ten processes rewriting 50 files each: 10 to 30 s here

TENANTS = [f"tenants/t{t:02d}" for t in range(50)]
PROCESSES = 10


def _version(process: int, image: int) -> str:
    """Process k alone moves image k (so each of the ten has a change of its own); the
    other ten images get a different version from every process, 1.0.0 to 10.0.0."""
    if image < PROCESSES:
        return f"2.{process}.0" if image == process else "0.1.0"
    return f"{(process * 3 + image) % PROCESSES + 1}.0.0"


def _newest(image: int) -> str:
    versions = {_version(k, image) for k in range(PROCESSES)}
    return max(versions, key=lambda v: tuple(int(part) for part in v.split(".")))


def test_ten_bumps_of_twenty_images_in_fifty_overlays_all_land_unforced(tmp_path: Path) -> None:
    files = {f"{t}/kustomization.yaml": overlay(t.replace("/", "-")) for t in TENANTS}
    remote = make_remote(tmp_path, {**files, **base()})
    git(remote, "config", "core.logAllRefUpdates", "always")  # the remote records every move
    git(remote, "config", "receive.denyNonFastForwards", "true")  # and refuses a forced one
    cli = Path(sys.executable).parent / "ci-actions"
    go = tmp_path / "go"
    order = list(range(PROCESSES))
    random.Random(14).shuffle(order)
    procs = []
    for k in order:
        work = clone(tmp_path, remote, f"c{k}")
        output = tmp_path / f"c{k}.out"
        output.write_text("")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))},
            "GITHUB_OUTPUT": str(output),
        }
        argv = [str(cli), "kustomize-bump", "--paths", "tenants/*", "--mode", "commit",
                "--ordering", "semver", "--push-retries", "20"]  # fmt: skip
        for i, name in enumerate(IMAGES):
            argv += ["--images", f"{name}:{_version(k, i)}"]
        script = f'while [ ! -e "{go}" ]; do sleep 0.01; done; exec "$0" "$@"'
        proc = subprocess.Popen(
            ["sh", "-c", script, *argv], cwd=work, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        procs.append((k, output, proc))
    time.sleep(0.5)
    go.touch()
    shas = {}
    for k, output, proc in procs:
        log, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"process {k}:\n{log}"
        shas[k] = parse_delimited(output.read_text())["commit-sha"]

    history = git(remote, "rev-list", "--first-parent", "main").split()
    assert len(history) == 1 + PROCESSES  # one commit each, on top of the seed
    assert git(remote, "rev-list", "--merges", "main") == ""  # linear
    assert sorted(shas.values()) == sorted(history[:-1])  # each process's own commit landed
    # none forced: the remote recorded exactly these ten moves of main, each from a
    # commit to its child (a forced push would leave a move that history no longer has)
    moves = git(remote, "reflog", "show", "--format=%H", "refs/heads/main").split()
    assert moves == history[:-1]
    for child, parent in itertools.pairwise(history):
        assert git(remote, "rev-parse", f"{child}^") == parent
    for tenant in TENANTS:
        final = show(remote, f"{tenant}/kustomization.yaml")
        for i, name in enumerate(IMAGES):
            entry = f'  - name: {name}\n    newTag: "{_newest(i)}"  # set by CI\n'
            assert entry in final, (tenant, name)
    # under ordering semver, no commit took an image back to an older version
    for sha in history[:-1]:
        before = git(remote, "show", f"{sha}^:{TENANTS[0]}/kustomization.yaml")
        after = git(remote, "show", f"{sha}:{TENANTS[0]}/kustomization.yaml")
        assert all(a >= b for a, b in zip(_tags(after), _tags(before), strict=True)), sha


def _tags(text: str) -> list[tuple[int, ...]]:
    return [
        tuple(int(p) for p in line.split('"')[1].split("."))
        for line in text.splitlines()
        if "newTag:" in line
    ]
