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


SERVICES_WORKFLOW = """
on: push
jobs:
  changes:
    runs-on: ubuntu-latest
    outputs:
      changed-services: ${{ steps.changes.outputs.changed-services }}
      matrix: ${{ steps.changes.outputs.matrix }}
    steps:
      - uses: actions/checkout@v4
        with: {fetch-depth: 0}
      - uses: ci-actions/ci-actions@v1
      - id: changes
        uses: ci-actions/ci-actions/actions/changes@v1
  build:
    needs: changes
    if: needs.changes.outputs.changed-services != '[]'
    runs-on: ubuntu-latest
    strategy:
      matrix: ${{ fromJSON(needs.changes.outputs.matrix) }}
    steps:
      - env:
          NAME: ${{ matrix.name }}
          IMAGE: ${{ matrix.image }}
        run: echo "building $NAME as $IMAGE"
"""

SERVICES_FILE = """\
services:
  - {name: api, context: services/api, image: 127.0.0.1:5000/api, paths: [lib/**]}
  - {name: web, context: services/web, image: 127.0.0.1:5000/web}
"""


def test_the_matrix_and_its_guard_under_act(consumer: Consumer) -> None:
    """The documented pattern: a matrix job over the changed services, skipped when none."""
    consumer.commit(
        {
            ".github/ci-actions.yml": SERVICES_FILE,
            "services/api/Dockerfile": "FROM scratch\n",
            "services/web/Dockerfile": "FROM scratch\n",
            "lib/x.py": "1\n",
        },
        "first",
    )
    before = consumer.commit({"services/web/Dockerfile": "FROM busybox\n"}, "web")
    after = consumer.commit({"lib/x.py": "2\n"}, "shared lib")
    run = consumer.run(SERVICES_WORKFLOW, payload={"before": before, "after": after})
    assert run.returncode == 0, run.log[-5000:]
    assert "building api as 127.0.0.1:5000/api" in run.log
    assert "building web" not in run.log

    docs = consumer.commit({"README.md": "docs\n"}, "docs")
    run = consumer.run(SERVICES_WORKFLOW, payload={"before": after, "after": docs})
    assert run.returncode == 0, run.log[-5000:]  # an empty include never reaches the matrix
    assert "building" not in run.log


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
