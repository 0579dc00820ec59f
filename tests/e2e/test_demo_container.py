"""`scripts/demo --container` against the default demo: the demo's own entry
(examples/demo/pipeline_demo.py, what scripts/demo runs after bootstrap) once per mode,
each a good change then a broken build, and the outcomes compared as read from what the
runs left on disk: the ledger of the GitOps remote, the overlays, the deploy tags on the
application's remote, the registry's tags. Both must be the pipeline's contract (good
deployed and healthy in dev then prod; broken deployed to dev only, rolled back, the good
version restored and healthy) and equal to each other.

The faults of container mode are checked without a run: no podman, no runner image.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from tests.support.container_engine import Engine
from tests.support.tools import needs, path_without

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo" / "pipeline_demo.py"
IMAGE = "blocklist"
# a run of the whole demo: two pipelines, each of six jobs (one container each in container mode)
DEMO_TIMEOUT = 3600


@dataclass
class DemoRun:
    code: int
    output: str
    state: Path


def run_demo(state: Path, *args: str, env: dict[str, str] | None = None) -> DemoRun:
    done = subprocess.run(
        [sys.executable, str(DEMO), "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        env={**os.environ, **(env or {})},
    )
    return DemoRun(done.returncode, done.stdout + done.stderr, state)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def outcome(run: DemoRun) -> dict[str, Any]:
    """What the two pipelines did, with each image tag named by its change (good/broken)."""
    app, gitops = run.state / "blocklist", run.state / "remotes" / "gitops.git"
    broken, good = git(app, "log", "-2", "--format=%H").split()
    label = {f"sha-{good[:7]}": "good", f"sha-{broken[:7]}": "broken"}
    commits = {good: "good", broken: "broken"}
    lines: list[dict[str, Any]] = []
    for path in git(gitops, "ls-tree", "-r", "--name-only", "main", ".ci-ledger").splitlines():
        text = git(gitops, "show", f"main:{path}")
        lines += [json.loads(line) for line in text.splitlines() if line.strip()]
    records = [e for e in lines if e.get("tag")]
    by_id = {e["id"]: e for e in records}
    ledger: dict[str, list[dict[str, Any]]] = {}  # environment -> its releases, oldest first
    for e in records:
        rollback_of = e.get("metadata", {}).get("rollback-of")
        ledger.setdefault(e["environment"], []).append(
            {
                "image": label.get(e["tag"], e["tag"]),
                "statuses": [s["status"] for s in lines if s.get("id") == e["id"]],
                "rollback-of": label[by_id[rollback_of]["tag"]] if rollback_of else None,
            }
        )
    overlays = {}
    for env in ("dev", "prod"):
        text = git(gitops, "show", f"main:overlays/{env}/kustomization.yaml")
        (entry,) = yaml.safe_load(text)["images"]
        overlays[env] = label.get(entry["newTag"], entry["newTag"])
    origin = run.state / "remotes" / f"{IMAGE}.git"
    deploy_tags = {
        tag: commits.get(git(origin, "rev-list", "-n", "1", tag), "?")
        for tag in git(origin, "tag", "-l", "deploy/*").split()
    }
    tags_dir = run.state / "registry/docker/registry/v2/repositories" / IMAGE / "_manifests/tags"
    registry = sorted(
        "<date>" if re.fullmatch(r"\d{8}", p.name) else label.get(p.name, p.name)
        for p in tags_dir.iterdir()
    )
    return {
        "ledger": ledger,
        "overlays": overlays,
        "deploy-tags": deploy_tags,
        "registry": registry,
    }


# The pipeline's contract for a good change followed by a broken build, written from the
# workflow (cicd.yml) and the demo's description, not read from a run.
# The rollback is a new release of the good version in dev, recorded as deployed and judged
# healthy by the probe of the restored version.
EXPECTED = {
    "ledger": {
        "dev": [
            {"image": "good", "statuses": ["deployed", "healthy"], "rollback-of": None},
            {"image": "broken", "statuses": ["deployed", "rolled-back"], "rollback-of": None},
            {"image": "good", "statuses": ["deployed", "healthy"], "rollback-of": "broken"},
        ],
        "prod": [
            {"image": "good", "statuses": ["deployed", "healthy"], "rollback-of": None},
        ],
    },
    "overlays": {"dev": "good", "prod": "good"},
    "deploy-tags": {"deploy/dev/blocklist/1": "good", "deploy/prod/blocklist/1": "good"},
    # image-tags' default rules: the commit, the branch, latest and the day
    "registry": ["<date>", "broken", "good", "latest", "main"],
}  # fmt: skip


@dataclass
class Runs:
    self_hosted: DemoRun
    container: DemoRun
    engine: Engine


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, container_engine: Engine) -> Iterator[Runs]:
    """One demo per mode, one after the other (the container run on the tests' engine)."""
    self_hosted = run_demo(tmp_path_factory.mktemp("self-hosted") / "demo")
    engine_env = {"CI_ACTIONS_ENGINE_DIR": str(container_engine.state)}
    container = run_demo(
        tmp_path_factory.mktemp("container") / "demo", "--container", env=engine_env
    )
    yield Runs(self_hosted, container, container_engine)


F = TypeVar("F", bound=Callable[..., None])


def both_modes(test: F) -> F:
    """A test of the two demo runs: act, the tests' engine, the self-hosted run's tools, and
    a time limit for two whole demos (the fixture's setup counts against the first test)."""
    marks = [
        pytest.mark.act,
        pytest.mark.xdist_group("container-engine"),
        needs("buildah", "skopeo", "docker-registry", "bandit", "semgrep"),
        pytest.mark.timeout(2 * DEMO_TIMEOUT),
    ]
    for mark in marks:
        test = mark(test)
    return test


@pytest.mark.parametrize("mode", ["self_hosted", "container"])
@both_modes
def test_each_mode_deploys_the_good_change_and_rolls_the_broken_one_back(
    runs: Runs, mode: str
) -> None:
    run: DemoRun = getattr(runs, mode)
    assert run.code == 0, run.output[-6000:]
    said = "container: every job in" if mode == "container" else "self-hosted: every job on"
    assert f"mode          {said}" in run.output
    assert outcome(run) == EXPECTED
    assert "dev rolled back" in run.output


@both_modes
def test_both_modes_have_the_same_outcomes(runs: Runs) -> None:
    assert (runs.self_hosted.code, runs.container.code) == (0, 0)
    assert outcome(runs.container) == outcome(runs.self_hosted)


@both_modes
def test_container_mode_built_with_docker_and_left_nothing_behind(runs: Runs) -> None:
    log = (runs.container.state / "run-1.log").read_text()
    assert "builder: docker" in log
    host = (runs.self_hosted.state / "run-1.log").read_text()
    assert "builder: buildah" in host
    assert runs.engine.containers() == []
    images = runs.engine.podman("images", "--format", "{{.Repository}}").split()
    assert not [i for i in images if i.endswith(f"/{IMAGE}")], images


# -- faults: exit 3, one line, nothing left running ---------------------------------------------
def last_line(run: DemoRun) -> str:
    return run.output.strip().splitlines()[-1]


@needs("act")
def test_no_podman_is_exit_3_naming_it(tmp_path: Path) -> None:
    engine = tmp_path / "engine"
    run = run_demo(
        tmp_path / "demo",
        "--container",
        env={"PATH": path_without("podman", tmp_path), "CI_ACTIONS_ENGINE_DIR": str(engine)},
    )
    assert run.code == 3, run.output
    assert last_line(run) == (
        "demo --container: no container engine: container-engine: podman is not installed; "
        "run scripts/bootstrap (apt-get install podman runc)"
    )
    assert not (tmp_path / "demo").exists()  # nothing was set up


@needs("act")
def test_no_runner_image_is_exit_3_and_the_engine_started_for_it_is_stopped(
    tmp_path: Path,
) -> None:
    if subprocess.run(["sh", "-c", "command -v podman"], capture_output=True).returncode:
        pytest.skip("podman is not installed (scripts/bootstrap)")
    engine = tmp_path / "engine"  # a new state folder: an engine without the image
    run = run_demo(tmp_path / "demo", "--container", env={"CI_ACTIONS_ENGINE_DIR": str(engine)})
    assert run.code == 3, run.output
    line = last_line(run)
    assert line.startswith("demo --container: runner-image: localhost/ci-actions-runner:"), line
    assert line.endswith("is not built; build it with scripts/runner-image"), line
    assert not (tmp_path / "demo").exists()
    # the demo started the engine to look for the image, and stopped it again
    assert (engine / "service.log").exists()
    assert not (engine / "podman.sock").exists()
    assert serving(engine / "podman.sock") == []


def serving(socket: Path) -> list[int]:
    """The processes whose command line names `socket` (the engine's API service)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(socket).encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found
