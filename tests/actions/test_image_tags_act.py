"""`actions/image-tags` under act on a branch push and a tag push."""

from __future__ import annotations

import json

import pytest

from tests.support.act import Consumer
from tests.support.fake_github import FakeGitHub

pytestmark = pytest.mark.act

WORKFLOW = """
on: push
jobs:
  meta:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: setup
        uses: ci-actions/ci-actions@v1
      - id: meta
        uses: ci-actions/ci-actions/actions/image-tags@v1
        with:
          images: ghcr.io/Acme/App
          tags: |
            type=ref,event=branch
            type=semver,pattern={{version}}
            type=semver,pattern={{major}}.{{minor}}
            type=sha
          labels: org.opencontainers.image.vendor=ACME
      - id: env
        run: echo "version=$DOCKER_METADATA_OUTPUT_VERSION" >> "$GITHUB_OUTPUT"
"""

REPO = {
    "name": "webapp",
    "full_name": "acme/webapp",
    "default_branch": "main",
    "html_url": "https://github.com/acme/webapp",
    "description": "from the event",
}


def test_branch_and_tag_pushes(consumer: Consumer) -> None:
    check_branch_and_tag_pushes(consumer)


@pytest.mark.xdist_group("container-engine")
def test_branch_and_tag_pushes_in_a_job_container(container_consumer: Consumer) -> None:
    """The fake GitHub API listens on the host's 127.0.0.1, which the job reaches (host network)."""
    check_branch_and_tag_pushes(container_consumer)


def check_branch_and_tag_pushes(consumer: Consumer) -> None:
    head = consumer.commit({"app.py": "print(1)\n"}, "app")
    short = head[:7]
    with FakeGitHub() as fake:
        fake.add_repo("acme/webapp", description="from the API")
        # act sets GITHUB_REF from the payload's `ref` and GITHUB_SHA from HEAD; it
        # overrides a job's GITHUB_API_URL, but not one given with --env.
        env = {"GITHUB_REPOSITORY": "acme/webapp", "GITHUB_API_URL": fake.url}
        push = {"ref": "refs/heads/main", "after": head, "repository": REPO}
        run = consumer.run(WORKFLOW, payload=push, env=env)
        assert run.returncode == 0, run.log[-5000:]
        out = run.outputs("meta")
        assert out["version"] == "main"
        assert out["tags"].split("\n") == ["ghcr.io/acme/app:main", f"ghcr.io/acme/app:sha-{short}"]
        labels = out["labels"].split("\n")
        assert "org.opencontainers.image.vendor=ACME" in labels
        assert "org.opencontainers.image.description=from the API" in labels
        assert json.loads(out["json"])["tag-names"] == ["main", f"sha-{short}"]
        assert run.outputs("env")["version"] == "main"

        tag = {
            "ref": "refs/tags/v1.2.3",
            "after": head,
            "base_ref": "refs/heads/main",
            "repository": REPO,
        }
        run = consumer.run(
            WORKFLOW,
            payload=tag,
            env=env,
        )
        assert run.returncode == 0, run.log[-5000:]
        out = run.outputs("meta")
        assert out["tag-names"].split("\n") == ["1.2.3", "1.2", f"sha-{short}", "latest"]
        assert run.outputs("env")["version"] == "1.2.3"
