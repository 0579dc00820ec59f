"""The setup action and `changes` under act, on real commits."""

from __future__ import annotations

import json

import pytest

from tests.support.act import Consumer

pytestmark = pytest.mark.act

WORKFLOW = """
on: push
jobs:
  detect:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {fetch-depth: 0}
      - id: setup
        uses: ci-actions/ci-actions@v1
      - id: changes
        uses: ci-actions/ci-actions/actions/changes@v1
        with:
          filters: |
            backend: ['src/**']
      - name: skipped for docs-only changes
        id: build
        if: steps.changes.outputs.docs-only != 'true'
        run: echo build
"""


def test_setup_and_changes_under_act(consumer: Consumer) -> None:
    check_setup_and_changes(consumer)


@pytest.mark.xdist_group("container-engine")
def test_setup_and_changes_in_a_job_container(container_consumer: Consumer) -> None:
    """The setup action installs the package inside the runner image (from PyPI, into the
    tool cache), and `changes` reads the workspace copied into the container."""
    check_setup_and_changes(container_consumer)


def check_setup_and_changes(consumer: Consumer) -> None:
    consumer.commit({"src/app.py": "print(1)\n"}, "first")
    before = consumer.commit({"src/app.py": "print(2)\n"}, "code")
    after = consumer.commit({"README.md": "docs\n", "docs/a.md": "a\n"}, "docs")
    run = consumer.run(WORKFLOW, payload={"before": before, "after": after})
    assert run.returncode == 0, run.log[-5000:]
    assert run.outputs("setup")["version"]
    out = run.outputs("changes")
    assert out["docs-only"] == "true"
    assert json.loads(out["changed-files"]) == ["README.md", "docs/a.md"]
    assert json.loads(out["filters"]) == {"backend": False}
    assert run.outcome("build") == "skipped"

    # A code change: the build step runs.
    after2 = consumer.commit({"src/app.py": "print(3)\n"}, "code again")
    run = consumer.run(WORKFLOW, payload={"before": after, "after": after2})
    assert run.returncode == 0, run.log[-5000:]
    assert run.outputs("changes")["docs-only"] == "false"
    assert json.loads(run.outputs("changes")["filters"]) == {"backend": True}
    assert run.outcome("build") == "success"


OWNED_BY_ANOTHER_USER = """
on: push
jobs:
  detect:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4  # act copies the local repository here, with its owner
        with: {fetch-depth: 0}
      - name: the workspace belongs to the host user (uid 1000), as when act runs as them
        run: chown -R 1000:1000 "$GITHUB_WORKSPACE"
      - id: setup
        uses: ci-actions/ci-actions@v1
      - id: changes
        uses: ci-actions/ci-actions/actions/changes@v1
"""


@pytest.mark.xdist_group("container-engine")
def test_changes_reads_a_workspace_owned_by_the_host_user(container_consumer: Consumer) -> None:
    """git refuses a repository owned by another uid ("dubious ownership"); in a job container
    the setup action trusts the job's own workspace, so `changes` reads it."""
    before = container_consumer.commit({"src/app.py": "print(1)\n"}, "first")
    after = container_consumer.commit({"docs/a.md": "a\n"}, "docs")
    run = container_consumer.run(OWNED_BY_ANOTHER_USER, payload={"before": before, "after": after})
    assert run.returncode == 0, run.log[-5000:]
    assert json.loads(run.outputs("changes")["changed-files"]) == ["docs/a.md"]
