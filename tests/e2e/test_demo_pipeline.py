"""The demo pipeline end to end under act, on the example repository of two services (the
API and the collector) and the package they share.

Run 1 changes the shared package: both images are built, each environment gets ONE GitOps
commit setting both, each service is recorded, probed and marked healthy in dev, then prod.
Run 2 breaks the collector only: only it is built, it fails its dev probe and only it is
rolled back there; the API's dev version is untouched and prod never sees the build.
Run 3 fixes the collector with a github.token the application's remote refuses: it is
deployed and healthy everywhere, only its deploy tags are missing.

Both git remotes are served over HTTP and refuse a push without the token, as GitHub does.
Assertions read the registry's tags and digests (from its storage folder), the GitOps remote
(its log and the overlays at each commit), the ledger in it (both through
tests/support/demo_artifacts.py, as the e2e test of both act modes does), the application's
tags, the git server's log, the deployers' state and the running services themselves."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.demo_artifacts import DemoArtifacts, Ledger
from tests.support.git_http import Request
from tests.support.tools import needs

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "demo"))

import pipeline_demo as demo  # noqa: E402

pytestmark = [pytest.mark.act, needs("buildah", "skopeo", "docker-registry", "bandit", "semgrep")]

API, COLLECTOR, SERVICES = demo.API, demo.COLLECTOR, demo.SERVICES
ENVS = ("dev", "prod")


@dataclass
class Snapshot:
    run: demo.Run
    tags: dict[str, dict[str, str]]  # service -> tag -> digest, read right after the run
    overlays: dict[str, dict[str, dict[str, Any]]]  # env -> image name -> images: entry
    commits: list[demo.GitopsCommit]  # the GitOps commits of the run, oldest first
    changes: dict[str, list[dict[str, str]]]  # env -> per overlay commit: image -> tag it set
    ledger: Ledger
    health: dict[tuple[str, str], tuple[int, Any]]  # (service, env) -> /health
    releases: dict[tuple[str, str], int]  # (service, env) -> the deployer's release count
    refused: list[Request]  # requests the git server answered 401 during the run

    @property
    def version(self) -> str:
        return demo.short(self.run.commit)

    @property
    def code(self) -> int:
        return self.run.code

    def entries(self, tag: str) -> list[dict[str, Any]]:
        """The ledger entries (not status lines) of a tag, restored ones left out."""
        return self.ledger.releases(tag)

    def statuses(self, entry: dict[str, Any]) -> list[str]:
        return self.ledger.statuses(entry)


@dataclass
class Pipeline:
    d: demo.Demo
    ref: str
    shared: Snapshot
    broken: Snapshot
    fixed: Snapshot  # run with a github.token the application's remote refuses


def snapshot(d: demo.Demo, run: demo.Run, since: int) -> Snapshot:
    assert d.server is not None
    found = DemoArtifacts(d.state)
    return Snapshot(
        run=run,
        tags={s.name: found.registry_tags(s.repository) for s in SERVICES},
        overlays={env: found.overlay(env) for env in ENVS},
        commits=d.gitops_commits(run.gitops_before),
        changes={env: demo.overlay_commits(d, run, env) for env in ENVS},
        ledger=found.ledger(),
        health={(s.name, env): d.health(s, env) for s in SERVICES for env in ENVS},
        releases={(s.name, env): d.release(s, env) for s in SERVICES for env in ENVS},
        refused=[r for r in d.server.requests[since:] if r.status == 401],
    )


def requests_so_far(d: demo.Demo) -> int:
    assert d.server is not None
    return len(d.server.requests)


FIX = {COLLECTOR.dockerfile: (demo.BROKEN[1], demo.BROKEN[0])}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    ref = demo.git(ROOT, "rev-parse", "HEAD")
    with demo.demo(tmp_path_factory.mktemp("demo")) as d:
        demo.setup(d, ref, scanners="bandit", probe_timeout="20s")
        since = requests_so_far(d)
        run = d.run(ref, "run-1", "blockstore: a change both services ship", demo.SHARED_CHANGE)
        shared = snapshot(d, run, since)
        assert shared.code == 0, (d.state / "run-1.log").read_text()[-6000:]
        since = requests_so_far(d)
        run = d.run(ref, "run-2", "collector: move the database", demo.BROKEN_CHANGE)
        demo.wait_for(
            lambda: d.serving(COLLECTOR, "dev") == shared.version, 60, "the collector's rollback"
        )
        broken = snapshot(d, run, since)
        since = requests_so_far(d)
        run = d.run(ref, "run-3", "collector: the database stays put", FIX,
                    github_token="a-token-the-remote-refuses")  # fmt: skip
        yield Pipeline(d, ref, shared, broken, snapshot(d, run, since))


def reference(snap: Snapshot, service: demo.Service, d: demo.Demo) -> dict[str, Any]:
    """The images: entry the pipeline writes for a service's build of the snapshot's run."""
    return {
        "name": d.image(service),
        "newTag": snap.version,
        "digest": snap.tags[service.name][snap.version],
    }


# -- run 1: the shared package changed --------------------------------------------------
def test_the_shared_change_builds_both_images_each_on_one_digest(pipeline: Pipeline) -> None:
    shared = pipeline.shared
    for service in SERVICES:
        tags = shared.tags[service.name]
        assert set(tags) >= {shared.version, "latest", "main"}, service.name
        assert len(set(tags.values())) == 1, tags
    assert shared.tags[API.name]["main"] != shared.tags[COLLECTOR.name]["main"]


def test_the_shared_change_is_one_gitops_commit_per_environment_setting_both(
    pipeline: Pipeline,
) -> None:
    d, shared = pipeline.d, pipeline.shared
    both = {d.image(s): shared.version for s in SERVICES}
    assert shared.changes == {"dev": [both], "prod": [both]}
    # dev is bumped (and judged healthy) before prod is touched
    touched = [env for c in shared.commits for env in ENVS if c.touches(env)]
    assert touched == ["dev", "prod"]
    for env in ENVS:
        for service in SERVICES:
            assert shared.overlays[env][d.image(service)] == reference(shared, service, d)
    assert not [c for c in shared.commits if "roll back" in c.subject]


def test_the_shared_change_is_recorded_probed_and_tagged_per_service(pipeline: Pipeline) -> None:
    d, shared = pipeline.d, pipeline.shared
    entries = shared.entries(shared.version)
    assert sorted((e["file-service"], e["file-environment"]) for e in entries) == [
        (s.name, env) for s in SERVICES for env in ENVS
    ]
    for entry in entries:
        assert entry["git-commit"] == shared.run.commit
        assert shared.statuses(entry) == ["deployed", "healthy"], entry
    tags = demo.git(d.origin, "tag", "--points-at", shared.run.commit).split()
    assert sorted(tags) == sorted(f"deploy/{env}/{s.name}/1" for s in SERVICES for env in ENVS)
    for (service, env), (status, body) in shared.health.items():
        assert status == 200 and body["version"] == shared.version, (service, env)


# -- run 2: the collector broken ----------------------------------------------------------
def test_the_broken_collector_is_the_only_image_built(pipeline: Pipeline) -> None:
    shared, broken = pipeline.shared, pipeline.broken
    assert broken.code != 0
    assert broken.version in broken.tags[COLLECTOR.name]
    assert broken.version not in broken.tags[API.name]
    assert broken.tags[API.name] == shared.tags[API.name]  # not one tag of the API moved


def test_only_the_collector_is_bumped_and_rolled_back_in_dev_and_prod_never_sees_it(
    pipeline: Pipeline,
) -> None:
    d, shared, broken = pipeline.d, pipeline.shared, pipeline.broken
    collector = d.image(COLLECTOR)
    # set to the broken build, then back to run 1's; the API's entry never in a commit
    assert broken.changes == {
        "dev": [{collector: broken.version}, {collector: shared.version}],
        "prod": [],
    }
    rollbacks = [c.subject.split(" to ")[0] for c in broken.commits if "roll back" in c.subject]
    assert rollbacks == ["release-ledger: roll back collector in dev"]
    # dev is back where run 1 left it, to the digest; prod is run 1's
    assert broken.overlays["dev"] == shared.overlays["dev"]
    assert broken.overlays["prod"] == shared.overlays["prod"]


def test_the_ledger_has_the_collectors_rollback_and_nothing_of_the_api(pipeline: Pipeline) -> None:
    shared, broken = pipeline.shared, pipeline.broken
    (bad,) = broken.entries(broken.version)
    assert (bad["file-service"], bad["file-environment"]) == ("collector", "dev")
    history = [line for line in broken.ledger.lines if line.get("id") == bad["id"]]
    assert [line["status"] for line in history] == ["deployed", "rolled-back"]
    assert history[-1]["reason"]
    (restored,) = [
        e for e in broken.ledger.releases(restored=True) if broken.ledger.rollback_of(e) == bad
    ]
    assert restored["tag"] == shared.version and restored["file-service"] == "collector"
    assert broken.statuses(restored)[-1] == "healthy"  # probed again after the rollback
    report = pipeline.d.ledger_report()
    assert report is not None and broken.version in report.read_text()


def test_the_api_kept_running_and_every_service_serves_the_good_version(pipeline: Pipeline) -> None:
    shared, broken = pipeline.shared, pipeline.broken
    for (service, env), (status, body) in broken.health.items():
        assert status == 200 and body["version"] == shared.version, (service, env)
    for env in ENVS:  # the deployer never replaced the API's process
        assert broken.releases[("api", env)] == shared.releases[("api", env)]
    # the collector in dev: the broken release, then the restored one
    assert broken.releases[("collector", "dev")] == shared.releases[("collector", "dev")] + 2
    assert broken.releases[("collector", "prod")] == shared.releases[("collector", "prod")]


# -- run 3 and the rest --------------------------------------------------------------------
def test_a_refused_deploy_tag_warns_and_the_release_stays_healthy(pipeline: Pipeline) -> None:
    """github.token the application's remote refuses: only the collector's tags are missing."""
    d, shared, fixed = pipeline.d, pipeline.shared, pipeline.fixed
    log = (d.state / "run-3.log").read_text()
    assert fixed.code == 0, log[-6000:]
    assert "deploy tag was not pushed" in log
    # what was refused is the application's remote only, never the GitOps repository
    assert fixed.refused and {r.path.split("/")[1] for r in fixed.refused} == {f"{demo.REPO}.git"}
    entries = fixed.entries(fixed.version)
    assert sorted((e["file-service"], e["file-environment"]) for e in entries) == [
        ("collector", "dev"), ("collector", "prod")
    ]  # fmt: skip
    assert all(fixed.statuses(e) == ["deployed", "healthy"] for e in entries)
    assert fixed.changes == {env: [{d.image(COLLECTOR): fixed.version}] for env in ENVS}
    for env in ENVS:
        assert fixed.overlays[env][d.image(COLLECTOR)] == reference(fixed, COLLECTOR, d)
        assert fixed.overlays[env][d.image(API)] == shared.overlays[env][d.image(API)]
        assert fixed.health[("collector", env)][1]["version"] == fixed.version
        assert fixed.health[("api", env)][1]["version"] == shared.version
    assert demo.git(d.origin, "tag", "--points-at", fixed.run.commit) == ""


def ledger_list(pipeline: Pipeline, service: str, env: str) -> list[str]:
    argv = [
        str(demo.VENV_BIN / "ci-actions"), "release-ledger", "--json",
        "--command", "list", "--repository", str(pipeline.d.gitops),
        "--service", service, "--environment", env,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, cwd=pipeline.d.state, check=False)
    assert done.returncode == 0, done.stderr
    return [e["tag"] for e in json.loads(json.loads(done.stdout)["history"])]


def test_ledger_list_reads_each_services_history(pipeline: Pipeline) -> None:
    shared, broken, fixed = pipeline.shared, pipeline.broken, pipeline.fixed
    assert ledger_list(pipeline, "collector", "dev")[:4] == [
        fixed.version, shared.version, broken.version, shared.version
    ]  # fmt: skip
    assert ledger_list(pipeline, "api", "dev") == [shared.version]
    assert ledger_list(pipeline, "collector", "prod") == [fixed.version, shared.version]


def test_every_git_request_of_the_runs_with_the_token_authenticates(pipeline: Pipeline) -> None:
    """The GitOps clone, bumps, ledger writes and the deploy tags all sent the token."""
    assert pipeline.shared.refused == []
    assert pipeline.broken.refused == []


def test_the_git_server_refuses_a_push_without_the_token(pipeline: Pipeline) -> None:
    d = pipeline.d
    work = d.state / "unauthenticated"
    demo.git(d.state, "clone", "-q", str(d.origin), str(work))
    demo.git(work, "tag", "not-allowed")
    with pytest.raises(subprocess.CalledProcessError) as caught:
        demo.git(work, "push", "-q", d.url(d.origin), "refs/tags/not-allowed")
    assert "Authentication failed" in caught.value.stderr or "Username" in caught.value.stderr
    assert "not-allowed" not in demo.git(d.origin, "tag", "-l").split()


def test_manual_rollback_of_one_service(pipeline: Pipeline) -> None:
    """rollback.yml for the collector in dev with a version: set, recorded, probed, healthy;
    the API's overlay entry and process untouched. (Runs last: it moves dev.)"""
    d, shared = pipeline.d, pipeline.shared
    found = DemoArtifacts(d.state)
    before, api_before = found.ledger().lines, found.overlay("dev")[d.image(API)]
    inputs = {"service": "collector", "environment": "dev", "version": shared.version,
              "reason": "drill"}  # fmt: skip
    payload = {"inputs": inputs}
    code = d.run_workflow(pipeline.ref, "rollback", "workflow_dispatch", payload, "rollback")
    assert code == 0, (d.state / "rollback.log").read_text()[-6000:]
    new = [e for e in found.ledger().lines if e not in before]
    (entry,) = [e for e in new if e.get("tag")]
    assert (entry["file-service"], entry["file-environment"], entry["tag"]) == (
        "collector", "dev", shared.version
    )  # fmt: skip
    assert [e["status"] for e in new if e.get("id") == entry["id"]][-1] == "healthy"
    overlay = found.overlay("dev")
    assert overlay[d.image(COLLECTOR)]["newTag"] == shared.version
    assert overlay[d.image(API)] == api_before
    assert d.serving(COLLECTOR, "dev") == shared.version
    assert d.release(API, "dev") == pipeline.fixed.releases[("api", "dev")]
