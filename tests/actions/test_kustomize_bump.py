"""kustomize-bump through the CLI, against real git with bare remotes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.act import git
from tests.support.cli import invoke
from tests.support.gitops import OVERLAY, clone, gitops_files, make_remote, show

API = "registry.local:5000/team/api"


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return make_remote(tmp_path, gitops_files())


def test_commit_mode_pushes_only_the_changed_scalar(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    run = invoke(
        tmp_path / "out",
        "kustomize-bump",
        ["--paths", "overlays/prod", "--images", f"{API}:1.2.3", "--mode", "commit"],
        cwd=work,
    )
    assert run.code == 0, run.log
    expected = OVERLAY.format(env="prod").replace(
        'newTag: "1.0.0"  # set', 'newTag: "1.2.3"  # set'
    )
    assert show(remote, "overlays/prod/kustomization.yaml") == expected
    assert show(remote, "overlays/dev/kustomization.yaml") == OVERLAY.format(env="dev")
    assert run.outputs["changed"] == "true"
    assert json.loads(run.outputs["changed-files"]) == ["overlays/prod/kustomization.yaml"]
    assert run.outputs["commit-sha"] == git(remote, "rev-parse", "main")
    assert json.loads(run.outputs["previous-images"]) == {API: f"{API}:1.0.0"}
    subject = git(remote, "log", "-1", "--format=%s%n%an <%ae>", "main")
    assert subject == (
        f"prod: set {API} to 1.2.3\n"
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    )
    assert git(work, "status", "--porcelain") == ""
