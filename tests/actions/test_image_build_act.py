"""Under act: image-build (buildah) then image-promote against a local registry with basic auth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.act import Consumer
from tests.support.registry import Registry

pytestmark = pytest.mark.act

FIXTURE = Path(__file__).parents[1] / "fixtures" / "image-build" / "multistage"

# Plain `tags` lists here; a pipeline feeds image-tags' `tags` output the same way.
WORKFLOW = """
on: push
jobs:
  release:
    runs-on: ubuntu-latest
    env:
      STORAGE_DRIVER: vfs
      BUILDAH_ISOLATION: chroot
    steps:
      - uses: actions/checkout@v4
      - id: build
        uses: ci-actions/ci-actions/actions/image-build@v1
        with:
          builder: auto
          context: app
          tags: |
            __REG__/team/api:sha-${{ github.sha }}
            __REG__/team/api:main
          build-args: VERSION=1.0.0
          push: true
          username: ci
          password: ${{ secrets.PUSH_PASSWORD }}
          insecure-registries: __REG__
      - id: promote
        uses: ci-actions/ci-actions/actions/image-promote@v1
        with:
          source: ${{ steps.build.outputs.image-ref }}
          tags: |
            stable
            prod
          username: ci
          password: ${{ secrets.PUSH_PASSWORD }}
          insecure: true
"""


def test_build_then_promote_under_act(consumer: Consumer, registry_auth: Registry) -> None:
    files = {f"app/{p.name}": p.read_text() for p in FIXTURE.iterdir()}
    sha = consumer.commit(files, "app")
    run = consumer.run(
        WORKFLOW.replace("__REG__", registry_auth.host),
        payload={"after": sha},
        secrets={"PUSH_PASSWORD": registry_auth.password},
    )
    assert run.returncode == 0, run.log[-6000:]
    built = run.outputs("build")
    digest = built["digest"]
    assert digest.startswith("sha256:")
    assert built["image-ref"] == f"{registry_auth.host}/team/api@{digest}"
    assert json.loads(built["metadata"])["builder"] == "buildah"
    promoted = run.outputs("promote")
    assert promoted["digest"] == digest
    expected = sorted([f"sha-{sha}", "main", "stable", "prod"])
    assert registry_auth.tags("team/api") == expected
    assert {registry_auth.digest("team/api", t) for t in expected} == {digest}
    assert registry_auth.blob_uploads() == 2  # config + one layer, once for four tags
    assert registry_auth.password not in run.log
