"""`validate-manifests` under act: a good overlay passes, a broken one fails with annotations."""

from __future__ import annotations

import re

import pytest

from tests.manifests.support import FIXTURES
from tests.support.act import Consumer

pytestmark = pytest.mark.act

WORKFLOW = """
on: push
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: setup
        uses: ci-actions/ci-actions@v1
      - id: good
        uses: ci-actions/ci-actions/actions/validate-manifests@v1
        with:
          paths: |
            deploy/overlays/dev
            deploy/overlays/prod
          crd-paths: deploy/crds
          required-labels: app.kubernetes.io/name
      - id: broken
        continue-on-error: true
        uses: ci-actions/ci-actions/actions/validate-manifests@v1
        with:
          paths: deploy/overlays/broken
"""


def fixture_tree() -> dict[str, str]:
    files = {}
    for part in ("base", "crds", "overlays"):
        for path in (FIXTURES / part).rglob("*.yaml"):
            files[f"deploy/{path.relative_to(FIXTURES).as_posix()}"] = path.read_text()
    return files


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_good_overlay_passes_and_broken_one_fails_with_annotations(consumer: Consumer) -> None:
    files = fixture_tree()
    consumer.commit(files, "manifests")
    run = consumer.run(WORKFLOW)
    assert run.returncode == 0, run.log[-5000:]
    good = run.outputs("good")
    assert (good["valid"], good["errors"], good["warnings"]) == ("true", "0", "0")
    assert run.outcome("good") == "success"
    assert run.outcome("broken") == "failure"
    broken = run.outputs("broken")
    assert (broken["valid"], broken["errors"]) == ("false", "2")
    assert broken["report-file"].endswith("validate-manifests-report.json")

    worker = files["deploy/overlays/broken/worker.yaml"]
    annotations = sorted(
        set(re.findall(r"::error file=([^,]+),line=(\d+),title=([^:]+)::", run.log))
    )
    assert annotations == sorted(
        [
            (
                "deploy/overlays/broken/worker.yaml",
                str(line_of(worker, "imagePullPolicyy")),
                "validate-manifests%3A schema",
            ),
            (
                "deploy/overlays/broken/worker.yaml",
                str(line_of(worker, "image: registry")),
                "validate-manifests%3A image-tag",
            ),
        ]
    )
