"""Under act: a workflow bumps an overlay in a separate local GitOps repo and pushes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.act import Consumer, git
from tests.support.gitops import OVERLAY, gitops_files, make_remote, show

pytestmark = pytest.mark.act

API = "registry.local:5000/team/api"

WORKFLOW = """
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - id: setup
        uses: ci-actions/ci-actions@v1
      - id: bump
        uses: ci-actions/ci-actions/actions/kustomize-bump@v1
        with:
          repository: file://{remote}
          paths: overlays/prod
          images: |
            {api}:2.0.0
          mode: commit
          commit-message: "deploy {{{{ images[0].new_tag }}}} to {{{{ environment }}}}"
      - name: use the outputs
        env:
          CHANGED: ${{{{ steps.bump.outputs.changed }}}}
          PREVIOUS: ${{{{ steps.bump.outputs.previous-images }}}}
        run: test "$CHANGED" = true && echo "$PREVIOUS" | grep -q '1.0.0'
"""


def test_workflow_bumps_an_overlay_in_another_repo(tmp_path: Path, consumer: Consumer) -> None:
    remote = make_remote(tmp_path, gitops_files())
    consumer.commit({"app.py": "print('hi')\n"}, "app")
    run = consumer.run(WORKFLOW.format(remote=remote, api=API))
    assert run.returncode == 0, run.log[-5000:]
    outputs = run.outputs("bump")
    assert outputs["changed"] == "true"
    assert json.loads(outputs["changed-files"]) == ["overlays/prod/kustomization.yaml"]
    assert outputs["commit-sha"] == git(remote, "rev-parse", "main")
    assert json.loads(outputs["previous-images"]) == {API: f"{API}:1.0.0"}
    assert git(remote, "log", "-1", "--format=%s", "main") == "deploy 2.0.0 to prod"
    assert show(remote, "overlays/prod/kustomization.yaml") == OVERLAY.format(env="prod").replace(
        '"1.0.0"  # set', '"2.0.0"  # set'
    )
