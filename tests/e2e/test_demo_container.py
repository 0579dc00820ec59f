"""`scripts/demo --container` against the default demo: the demo's own entry
(examples/demo/pipeline_demo.py, what scripts/demo runs after bootstrap) once per mode, each
run 1 (a change of the shared package: both services built and deployed) then run 2 (a change
that breaks the collector only: it alone is built, fails its dev probe and is rolled back), and
the outcomes compared as read from what the runs left on disk (tests/support/demo_artifacts.py):
per service and environment the ledger, each overlay's two image entries, the deploy tags on
the application's remote, the registry's tags per repository. Both must be the pipeline's
contract, written below by hand, and equal to each other.

The two whole demos take 10 to 19 minutes on two cores, so they run only when asked for:
`scripts/test --demo-container` (CI_ACTIONS_DEMO_CONTAINER=1). By default run: the faults of
container mode (no podman, no runner image), checked without a run, and the comparison with the
contract on what a real container-mode run left (tests/fixtures/demo-outcome), as captured and
with one outcome broken at a time.
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

from tests.support.container_engine import Engine
from tests.support.demo_artifacts import REGISTRY_STORAGE, DemoArtifacts, git
from tests.support.tools import needs, path_without

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo" / "pipeline_demo.py"
# service -> its image's repository in the registry (the GitOps base's names)
REPOSITORIES = {"api": "blocklist", "collector": "blocklist-collector"}
ENVIRONMENTS = ("dev", "prod")
# a run of the whole demo: two pipelines, each of up to eleven jobs (a container each)
DEMO_TIMEOUT = 3600
OPT_IN = "CI_ACTIONS_DEMO_CONTAINER"


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
        check=False,
    )
    return DemoRun(done.returncode, done.stdout + done.stderr, state)


def outcome(run: DemoRun) -> dict[str, Any]:
    """What the two pipelines did, each tag and commit named by its change (shared/broken), each
    image by its repository (the registry's port differs between runs)."""
    found = DemoArtifacts(run.state)
    broken, shared = git(found.app, "log", "-2", "--format=%H").split()  # run 2's, run 1's
    commits = {shared: "shared", broken: "broken"}
    label = {f"sha-{sha[:7]}": name for sha, name in commits.items()}
    ledger = found.ledger()
    releases: dict[str, list[dict[str, Any]]] = {}  # "service/environment" -> oldest first
    for entry in ledger.releases(restored=True):
        replaced = ledger.rollback_of(entry)
        releases.setdefault(f"{entry['file-service']}/{entry['file-environment']}", []).append(
            {
                "tag": label.get(entry["tag"], entry["tag"]),
                "statuses": ledger.statuses(entry),
                "rollback-of": label[replaced["tag"]] if replaced else None,
            }
        )
    registry = {repo: found.registry_tags(repo) for repo in REPOSITORIES.values()}
    overlays = {}
    for env in ENVIRONMENTS:
        overlays[env] = {}
        for name, entry in found.overlay(env).items():
            repo = name.partition("/")[2]
            tag = entry["newTag"]
            digest = "the tag's" if registry[repo].get(tag) == entry["digest"] else entry["digest"]
            overlays[env][repo] = {"tag": label.get(tag, tag), "digest": digest}
    return {
        "ledger": releases,
        "overlays": overlays,
        "deploy-tags": {t: commits.get(c, c) for t, c in found.deploy_tags().items()},
        "registry": {
            repo: sorted(
                "<day>" if re.fullmatch(r"\d{8}", tag) else label.get(tag, tag) for tag in tags
            )
            for repo, tags in registry.items()
        },
    }


HEALTHY = ["deployed", "healthy"]
# The pipeline's contract for the two runs, written from the workflow (cicd.yml) and the demo's
# description, not read from a run. Run 1 is one release per service and environment, each
# healthy and deploy-tagged. Run 2 is one release of the collector in dev, rolled back: the
# rollback is a new release of run 1's build in dev, recorded as deployed and judged healthy by
# the probe of the restored version; a broken build gets no deploy tag; prod never sees it.
# image-tags' default rules tag each build with its commit, the branch, latest and the day.
EXPECTED = {
    "ledger": {
        "api/dev": [{"tag": "shared", "statuses": HEALTHY, "rollback-of": None}],
        "api/prod": [{"tag": "shared", "statuses": HEALTHY, "rollback-of": None}],
        "collector/dev": [
            {"tag": "shared", "statuses": HEALTHY, "rollback-of": None},
            {"tag": "broken", "statuses": ["deployed", "rolled-back"], "rollback-of": None},
            {"tag": "shared", "statuses": HEALTHY, "rollback-of": "broken"},
        ],
        "collector/prod": [{"tag": "shared", "statuses": HEALTHY, "rollback-of": None}],
    },
    "overlays": {
        env: {repo: {"tag": "shared", "digest": "the tag's"} for repo in REPOSITORIES.values()}
        for env in ENVIRONMENTS
    },
    "deploy-tags": {
        f"deploy/{env}/{service}/1": "shared" for env in ENVIRONMENTS for service in REPOSITORIES
    },
    "registry": {
        "blocklist": ["<day>", "latest", "main", "shared"],
        "blocklist-collector": ["<day>", "broken", "latest", "main", "shared"],
    },
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
    """A test of the two demo runs: only when asked for (CI_ACTIONS_DEMO_CONTAINER=1); act, the
    tests' engine, the self-hosted run's tools, and a time limit for two whole demos (the
    fixture's setup counts against the first test)."""
    marks = [
        pytest.mark.skipif(
            os.environ.get(OPT_IN) != "1",
            reason=f"the demo in both modes takes 10-19 minutes; run it with "
            f"scripts/test --demo-container tests/e2e/test_demo_container.py ({OPT_IN}=1)",
        ),
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
def test_each_mode_ends_as_the_contract_says(runs: Runs, mode: str) -> None:
    run: DemoRun = getattr(runs, mode)
    assert run.code == 0, run.output[-6000:]
    said = "container: every job in" if mode == "container" else "self-hosted: every job on"
    assert f"mode          {said}" in run.output
    assert outcome(run) == EXPECTED
    assert "every outcome as expected" in run.output


@both_modes
def test_both_modes_have_the_same_outcomes(runs: Runs) -> None:
    assert (runs.self_hosted.code, runs.container.code) == (0, 0)
    assert outcome(runs.container) == outcome(runs.self_hosted)


@both_modes
def test_container_mode_built_with_docker_and_left_nothing_behind(runs: Runs) -> None:
    for run, builder in ((runs.container, "docker"), (runs.self_hosted, "buildah")):
        first = (run.state / "run-1.log").read_text()
        for service in REPOSITORIES:  # run 1 built both services, each with the mode's builder
            said = [line for line in first.splitlines()
                    if f"[cicd/image ({service})" in line and f"builder: {builder}" in line]  # fmt: skip
            assert said, f"{service}: no 'builder: {builder}' in {run.state / 'run-1.log'}"
    assert runs.engine.containers() == []
    images = runs.engine.podman("images", "--format", "{{.Repository}}").split()
    left = [i for i in images for repo in REPOSITORIES.values() if i.endswith(f"/{repo}")]
    assert left == [], images


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


# -- the contract's comparison, on the artifacts of a real container-mode run ----------------
CAPTURED = ROOT / "tests" / "fixtures" / "demo-outcome"  # from a `pipeline_demo.py --container`


def captured_state(state: Path, change: Callable[[dict[str, str]], None] | None = None) -> Path:
    """A state folder holding what a container-mode demo left (tests/fixtures/demo-outcome):
    the application's two runs as new commits, the captured tags renamed after them; `change`
    edits the captured files (relative path -> text) first."""
    capture = json.loads((CAPTURED / "capture.json").read_text())
    files = {
        str(p.relative_to(CAPTURED)): p.read_text()
        for p in sorted(CAPTURED.rglob("*"))
        if p.is_file() and p.name != "capture.json"
    }
    files["capture.json"] = json.dumps(capture)
    if change:
        change(files)
    capture = json.loads(files.pop("capture.json"))
    app = state / "blocklist"
    app.mkdir(parents=True)
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    git(app, "init", "-q", "-b", "main")
    renamed: dict[str, str] = {}
    for run in ("shared", "broken"):
        git(app, *ident, "commit", "-q", "--allow-empty", "-m", run)
        renamed[capture["commits"][run]] = git(app, "rev-parse", "HEAD")
    rename = dict(renamed) | {f"sha-{old[:7]}": f"sha-{new[:7]}" for old, new in renamed.items()}

    def fix(text: str) -> str:
        for old, new in rename.items():
            text = text.replace(old, new)
        return text

    origin = state / "remotes" / "blocklist.git"
    git(state, "clone", "-q", "--bare", str(app), str(origin))
    for tag, commit in capture["deploy-tags"].items():
        git(origin, "tag", tag, fix(commit))
    work = state / "gitops-work"
    for rel, text in files.items():
        if rel.startswith("ledger/"):  # ledger/<env>/<service>.jsonl
            target = work / ".ci-ledger" / rel.partition("/")[2]
        else:  # overlays/<env>.yaml
            target = work / "overlays" / Path(rel).stem / "kustomization.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(fix(text))
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, *ident, "commit", "-q", "-m", "captured")
    git(state, "clone", "-q", "--bare", str(work), str(state / "remotes" / "gitops.git"))
    for repo, tags in capture["registry"].items():
        for tag, digest in tags.items():
            link = state / REGISTRY_STORAGE / repo / "_manifests/tags" / fix(tag) / "current/link"
            link.parent.mkdir(parents=True)
            link.write_text(digest)
    return state


def _append(rel: str, line: dict[str, Any]) -> Callable[[dict[str, str]], None]:
    def change(files: dict[str, str]) -> None:
        files[rel] += json.dumps(line) + "\n"

    return change


def _api_rolled_back_in_dev(files: dict[str, str]) -> None:
    first = json.loads(files["ledger/dev/api.jsonl"].splitlines()[0])
    _append("ledger/dev/api.jsonl", {"type": "status", "v": 1, "id": first["id"],
                                     "status": "rolled-back", "at": "2026-12-04T09:50:00Z"})(files)  # fmt: skip


def _overlay_digest_of_the_broken_build(files: dict[str, str]) -> None:
    capture = json.loads(files["capture.json"])
    tags = capture["registry"]["blocklist-collector"]
    shared = f"sha-{capture['commits']['shared'][:7]}"
    broken = f"sha-{capture['commits']['broken'][:7]}"
    files["overlays/dev.yaml"] = files["overlays/dev.yaml"].replace(tags[shared], tags[broken])


def _deploy_tag_for_the_broken_build(files: dict[str, str]) -> None:
    capture = json.loads(files["capture.json"])
    capture["deploy-tags"]["deploy/dev/collector/2"] = capture["commits"]["broken"]
    files["capture.json"] = json.dumps(capture)


def _api_built_in_run_2(files: dict[str, str]) -> None:
    capture = json.loads(files["capture.json"])
    broken = f"sha-{capture['commits']['broken'][:7]}"
    capture["registry"]["blocklist"][broken] = "sha256:" + "0" * 64
    files["capture.json"] = json.dumps(capture)


def test_the_captured_container_run_meets_the_contract(tmp_path: Path) -> None:
    state = captured_state(tmp_path / "demo")
    assert outcome(DemoRun(0, "", state)) == EXPECTED


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        (_api_rolled_back_in_dev, "ledger"),
        (_overlay_digest_of_the_broken_build, "overlays"),
        (_deploy_tag_for_the_broken_build, "deploy-tags"),
        (_api_built_in_run_2, "registry"),
    ],
)
def test_a_run_that_breaks_the_contract_is_told_apart(
    tmp_path: Path, change: Callable[[dict[str, str]], None], differs: str
) -> None:
    found = outcome(DemoRun(0, "", captured_state(tmp_path / "demo", change)))
    assert [key for key in EXPECTED if found[key] != EXPECTED[key]] == [differs]
