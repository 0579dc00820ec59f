"""The demo pipeline end to end under act: the rendered cicd.yml builds, pushes,
bumps, records and probes a good change; a broken one is probed, rolled back
and recorded; a good one whose deploy tag the application's remote refuses
stays deployed. Both git remotes are served over HTTP and refuse a push
without the token, as GitHub does. Assertions read the registry API, the
GitOps remote, the ledger in it, the application's tags, the git server's
log and the running services themselves."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.git_http import Request
from tests.support.tools import needs

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "demo"))

import pipeline_demo as demo  # noqa: E402

pytestmark = [pytest.mark.act, needs("buildah", "skopeo", "docker-registry", "bandit", "semgrep")]

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


@dataclass
class Snapshot:
    code: int
    commit: str
    tags: dict[str, str]  # tag -> digest, read right after the run
    overlays: dict[str, dict[str, Any]]
    ledger: list[dict[str, Any]]
    health: dict[str, tuple[int, Any]]
    refused: list[Request]  # requests the git server answered 401 during the run


@dataclass
class Pipeline:
    d: demo.Demo
    ref: str
    good: Snapshot
    broken: Snapshot
    refused: Snapshot  # a good change run with a github.token the app's remote refuses


def digest_of(d: demo.Demo, tag: str) -> str:
    request = urllib.request.Request(
        f"http://{d.registry}/v2/{demo.IMAGE}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": MANIFEST_TYPES},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return str(resp.headers["Docker-Content-Digest"])


def overlay_image(d: demo.Demo, env: str) -> dict[str, Any]:
    text = demo.git(d.gitops, "show", f"main:overlays/{env}/kustomization.yaml")
    (entry,) = yaml.safe_load(text)["images"]
    return dict(entry)


def snapshot(d: demo.Demo, code: int, since: int) -> Snapshot:
    assert d.server is not None
    return Snapshot(
        code=code,
        commit=demo.git(d.app, "rev-parse", "HEAD"),
        tags={tag: digest_of(d, tag) for tag in d.registry_tags()},
        overlays={env: overlay_image(d, env) for env in ("dev", "prod")},
        ledger=d.ledger(),
        health={env: d.version(env) for env in ("dev", "prod")},
        refused=[r for r in d.server.requests[since:] if r.status == 401],
    )


def requests_so_far(d: demo.Demo) -> int:
    assert d.server is not None
    return len(d.server.requests)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    ref = demo.git(ROOT, "rev-parse", "HEAD")
    with demo.demo(tmp_path_factory.mktemp("demo")) as d:
        demo.setup(d, ref, scanners="bandit", probe_timeout="20s")
        commits = d.push("feat: a change", {"app/VERSION": ("0.0.0-dev", "0.1.0-dev")})
        since = requests_so_far(d)
        good = snapshot(d, d.run_pipeline(ref, commits, "run-1"), since)
        assert good.code == 0, (d.state / "run-1.log").read_text()[-6000:]
        version = good.health["dev"][1]["version"]
        commits = d.push("refactor: move the database", {"Dockerfile": demo.BROKEN})
        since = requests_so_far(d)
        code = d.run_pipeline(ref, commits, "run-2")
        demo.wait_for(lambda: d.version("dev")[1]["version"] == version, 60, "the rollback")
        broken = snapshot(d, code, since)
        commits = d.push("fix: the database stays put", {"Dockerfile": BROKEN_BACK})
        since = requests_so_far(d)
        code = d.run_pipeline(ref, commits, "run-3", github_token="a-token-the-remote-refuses")
        yield Pipeline(d, ref, good, broken, snapshot(d, code, since))


BROKEN_BACK = (demo.BROKEN[1], demo.BROKEN[0])


def short(commit: str) -> str:
    return f"sha-{commit[:7]}"


def test_good_run_pushes_every_tag_on_one_digest(pipeline: Pipeline) -> None:
    good = pipeline.good
    version = short(good.commit)
    assert set(good.tags) >= {version, "latest", "main"}
    assert len(set(good.tags.values())) == 1, good.tags
    # the broken build moved the branch tags and kept the good one where it was
    broken = pipeline.broken.tags
    assert broken[version] == good.tags[version]
    assert broken["main"] == broken[short(pipeline.broken.commit)] != good.tags["main"]


def test_good_run_bumps_both_overlays_to_the_built_digest(pipeline: Pipeline) -> None:
    good = pipeline.good
    digest = good.tags[short(good.commit)]
    for env in ("dev", "prod"):
        assert good.overlays[env] == {
            "name": f"{pipeline.d.registry}/{demo.IMAGE}",
            "newTag": short(good.commit),
            "digest": digest,
        }
    log = demo.git(pipeline.d.gitops, "log", "--format=%s", "main").splitlines()
    # dev is bumped and judged healthy before prod is touched
    bumps = [line for line in log if line.startswith(("dev:", "prod:"))]
    assert [b.split(":")[0] for b in reversed(bumps)][:2] == ["dev", "prod"]


def test_good_run_records_deployed_then_healthy_and_tags_the_commit(pipeline: Pipeline) -> None:
    good = pipeline.good
    entries = [e for e in good.ledger if e.get("tag")]
    assert {(e["environment"], e["tag"], e["git-commit"]) for e in entries} == {
        ("dev", short(good.commit), good.commit),
        ("prod", short(good.commit), good.commit),
    }
    statuses = {
        e["id"]: [s["status"] for s in good.ledger if s.get("id") == e["id"]] for e in entries
    }
    assert all(history == ["deployed", "healthy"] for history in statuses.values()), statuses
    tags = demo.git(pipeline.d.origin, "tag", "--points-at", good.commit).split()
    assert sorted(tags) == ["deploy/dev/blocklist/1", "deploy/prod/blocklist/1"]
    for env in ("dev", "prod"):
        status, body = good.health[env]
        assert status == 200 and body["version"] == short(good.commit)


def test_broken_run_fails_and_rolls_dev_back(pipeline: Pipeline) -> None:
    good, broken = pipeline.good, pipeline.broken
    assert broken.code != 0
    # the broken image was built and pushed ...
    assert short(broken.commit) in broken.tags
    # ... dev got it, failed its probe and is back on the good digest; prod never saw it
    assert broken.overlays["dev"]["newTag"] == short(good.commit)
    assert broken.overlays["dev"]["digest"] == good.overlays["dev"]["digest"]
    assert broken.overlays["prod"] == good.overlays["prod"]
    log = demo.git(pipeline.d.gitops, "log", "--format=%s", "main").splitlines()
    assert any(line.startswith("dev: set ") and short(broken.commit) in line for line in log)
    assert not any(line.startswith("prod:") and short(broken.commit) in line for line in log)
    for env in ("dev", "prod"):
        status, body = broken.health[env]
        assert status == 200 and body["version"] == short(good.commit)


def test_broken_run_is_in_the_ledger_as_rolled_back(pipeline: Pipeline) -> None:
    good, broken = pipeline.good, pipeline.broken
    (bad,) = [e for e in broken.ledger if e.get("tag") == short(broken.commit)]
    assert bad["environment"] == "dev"
    history = [s for s in broken.ledger if s.get("id") == bad["id"]]
    assert [s["status"] for s in history] == ["deployed", "rolled-back"]
    assert history[-1]["reason"]
    restored = [e for e in broken.ledger if e.get("metadata", {}).get("rollback-of") == bad["id"]]
    assert len(restored) == 1 and restored[0]["tag"] == short(good.commit)
    # the restored version was probed again and judged healthy
    assert [s["status"] for s in broken.ledger if s.get("id") == restored[0]["id"]][-1] == "healthy"
    report = pipeline.d.ledger_report()
    assert report is not None and short(broken.commit) in report.read_text()


def test_ledger_list_reads_the_same_history(pipeline: Pipeline) -> None:
    argv = [
        str(demo.VENV_BIN / "ci-actions"), "release-ledger", "--json",
        "--command", "list", "--repository", str(pipeline.d.gitops),
        "--service", demo.IMAGE, "--environment", "dev",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, cwd=pipeline.d.state)
    assert done.returncode == 0, done.stderr
    history = json.loads(json.loads(done.stdout)["history"])
    assert [e["tag"] for e in history[:4]] == [
        short(pipeline.refused.commit),
        short(pipeline.good.commit),
        short(pipeline.broken.commit),
        short(pipeline.good.commit),
    ]


def test_manual_rollback_workflow(pipeline: Pipeline) -> None:
    """rollback.yml dispatched for dev with a version: set, recorded, probed, judged healthy.

    (Without a version it goes to the last good one before the current; after
    the automatic rollback there is none left, so the version is given.)
    """
    d, good = pipeline.d, pipeline.good
    before = d.ledger()
    payload = {"inputs": {"target": "dev", "version": short(good.commit), "reason": "drill"}}
    code = d.run_workflow(pipeline.ref, "rollback", "workflow_dispatch", payload, "rollback")
    assert code == 0, (d.state / "rollback.log").read_text()[-6000:]
    new = [e for e in d.ledger() if e not in before]
    (entry,) = [e for e in new if e.get("tag")]
    assert entry["environment"] == "dev" and entry["tag"] == short(good.commit)
    statuses = [e["status"] for e in new if e.get("id") == entry["id"]]
    assert statuses[-1] == "healthy"
    assert overlay_image(d, "dev")["newTag"] == short(good.commit)
    assert d.version("dev")[1]["version"] == short(good.commit)


def test_every_git_request_of_the_good_runs_authenticates(pipeline: Pipeline) -> None:
    """The GitOps clone, bump, ledger writes and the deploy tag all sent the token."""
    assert pipeline.good.refused == []
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


def test_a_refused_deploy_tag_warns_and_the_release_stays_healthy(pipeline: Pipeline) -> None:
    """github.token the application's remote refuses: only the tag is missing."""
    refused = pipeline.refused
    log = (pipeline.d.state / "run-3.log").read_text()
    assert refused.code == 0, log[-6000:]
    assert "deploy tag was not pushed" in log
    # what was refused is the application's remote only, never the GitOps repository
    assert refused.refused and {r.path.split("/")[1] for r in refused.refused} == {
        f"{demo.IMAGE}.git"
    }
    entries = [e for e in refused.ledger if e.get("tag") == short(refused.commit)]
    assert {e["environment"] for e in entries} == {"dev", "prod"}
    for entry in entries:
        history = [s["status"] for s in refused.ledger if s.get("id") == entry["id"]]
        assert history == ["deployed", "healthy"], history
    rollbacks = [e for e in refused.ledger if e.get("metadata", {}).get("rollback-of")]
    assert len(rollbacks) == 1  # the broken run's, none from this run
    for env in ("dev", "prod"):
        assert refused.overlays[env]["newTag"] == short(refused.commit)
        status, body = refused.health[env]
        assert status == 200 and body["version"] == short(refused.commit)
    assert demo.git(pipeline.d.origin, "tag", "--points-at", refused.commit) == ""
