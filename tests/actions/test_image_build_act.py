"""Under act: image-tags -> image-build (buildah) -> image-promote against a local registry.

The registry has basic auth; the password comes from a workflow secret.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.act import Consumer
from tests.support.fake_github import FakeGitHub, repo_json, serve
from tests.support.registry import Registry

pytestmark = pytest.mark.act

FIXTURE = Path(__file__).parents[1] / "fixtures" / "image-build" / "multistage"

WORKFLOW = """
on: push
jobs:
  release:
    runs-on: ubuntu-latest
    env:
      STORAGE_DRIVER: vfs
      BUILDAH_ISOLATION: chroot
      GITHUB_API_URL: __API__
    steps:
      - uses: actions/checkout@v4
      - id: meta
        uses: ci-actions/ci-actions/actions/image-tags@v1
        with:
          images: __REG__/team/api
          tags: |
            type=ref,event=branch
            type=sha
      - id: build
        uses: ci-actions/ci-actions/actions/image-build@v1
        with:
          context: app
          tags: ${{ steps.meta.outputs.tags }}
          labels: ${{ steps.meta.outputs.labels }}
          build-args: VERSION=${{ steps.meta.outputs.version }}
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


def test_tags_build_promote_under_act(consumer: Consumer, registry_auth: Registry) -> None:
    files = {f"app/{p.name}": p.read_text() for p in FIXTURE.iterdir()}
    sha = consumer.commit(files, "app")
    repo = {"name": "api", "full_name": "team/api", "default_branch": "main"}
    fake = FakeGitHub(repos={"team/api": repo_json("team/api", default_branch="main")})
    with serve(fake):
        workflow = WORKFLOW.replace("__REG__", registry_auth.host).replace("__API__", fake.url)
        run = consumer.run(
            workflow,
            payload={"ref": "refs/heads/main", "after": sha, "repository": repo},
            env={"GITHUB_REPOSITORY": "team/api"},
            secrets={"PUSH_PASSWORD": registry_auth.password},
        )
    assert run.returncode == 0, run.log[-6000:]
    built = run.outputs("build")
    digest = built["digest"]
    assert digest.startswith("sha256:")
    assert built["image-ref"] == f"{registry_auth.host}/team/api@{digest}"
    assert built["tags"] == run.outputs("meta")["tags"]
    assert json.loads(built["metadata"])["builder"] == "buildah"
    assert run.outputs("promote")["digest"] == digest

    expected = sorted(["main", f"sha-{sha[:7]}", "stable", "prod"])
    assert registry_auth.tags("team/api") == expected
    assert {registry_auth.digest("team/api", t) for t in expected} == {digest}
    assert registry_auth.blob_uploads() == 2  # config + one layer, once for four tags
    assert registry_auth.password not in run.log

    config_digest = registry_auth.get(
        f"/v2/team/api/manifests/{digest}", Accept="application/vnd.oci.image.manifest.v1+json"
    ).json()["config"]["digest"]
    labels = registry_auth.get(f"/v2/team/api/blobs/{config_digest}").json()["config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == sha  # from image-tags' labels
    assert labels["org.opencontainers.image.version"] == "main"
