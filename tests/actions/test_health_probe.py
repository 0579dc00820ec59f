"""`ci-actions health-probe` end to end, in-process, against the fake cluster and service."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.fake_k8s import FakeCluster
from tests.support.fake_service import FakeService
from tests.support.k8s_workloads import DeploymentController, install_deployment

NS = "default"


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster() as fake:
        yield fake


@pytest.fixture
def service() -> Iterator[FakeService]:
    with FakeService(version="2.0.0") as svc:
        yield svc


def shown(log: str) -> str:
    """The log as a reader sees it: `::add-mask::` commands are consumed by the runner."""
    return "\n".join(line for line in log.splitlines() if not line.startswith("::add-mask::"))


def image_of(cluster: FakeCluster) -> str:
    deploy = cluster.get("deploy", NS, "web")
    assert deploy is not None
    return str(deploy["spec"]["template"]["spec"]["containers"][0]["image"])


def set_image_over_http(cluster: FakeCluster, image: str) -> None:
    """What `kubectl set image` sends: a strategic merge patch of the template."""
    import requests

    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    response = requests.patch(
        f"{cluster.url}/apis/apps/v1/namespaces/{NS}/deployments/web",
        json=patch,
        headers={"Content-Type": "application/strategic-merge-patch+json"},
        timeout=5,
    )
    response.raise_for_status()


def crash_looping_release(cluster: FakeCluster) -> None:
    """web runs reg/web:1; reg/web:2 crash-loops and hits its progress deadline."""
    install_deployment(cluster, "web", ["reg/web:1"])
    DeploymentController(
        cluster, delay=0.1, healthy=lambda image: not image.endswith(":2"), deadline_after=0.8
    )
    set_image_over_http(cluster, "reg/web:2")


def test_healthy_release(cluster: FakeCluster, service: FakeService, tmp_path: Path) -> None:
    install_deployment(cluster, "web", ["reg/web:1", "reg/web:2"])
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc")
    run = invoke(
        tmp_path,
        "health-probe",
        [
            "--workloads",
            "deployment/web",
            "--expected-images",
            "app=reg/web:2",
            "--url",
            service.url(),
            "--expected-version",
            "2.0.0",
            "--timeout",
            "5s",
            "--report-file",
            str(tmp_path / "report.json"),
        ],
        env={"KUBECONFIG": str(kubeconfig)},
    )
    assert run.code == 0, run.log
    assert run.outputs["healthy"] == "true"
    assert run.outputs["rolled-back"] == "false"
    assert run.outputs["failure-reason"] == ""
    assert float(run.outputs["latency-p50-ms"]) >= 0
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    assert report["rollouts"][0]["healthy"] is True
    assert report["images"]["workloads"][0]["mismatches"] == []
    assert len(report["images"]["workloads"][0]["pods"]) == 2
    assert report["http"]["checks"][0]["attempts"][0]["status"] == 200
    assert "### Health probe: healthy" in run.summary
    assert "p50" in run.summary


def test_crash_loop_is_diagnosed_and_rolled_back(cluster: FakeCluster, tmp_path: Path) -> None:
    crash_looping_release(cluster)
    kubeconfig_text = cluster.write_kubeconfig(
        tmp_path / "kc", token="s3cr3t-cluster-token"
    ).read_text()
    run = invoke(
        tmp_path,
        "health-probe",
        ["--workloads", "deployment/web", "--rollout-timeout", "20s", "--rollback", "on-failure"],
        env={"INPUT_KUBECONFIG": kubeconfig_text},
    )
    assert run.code == 1, run.log
    assert run.outputs["healthy"] == "false"
    assert run.outputs["failure-reason"] == "progress-deadline-exceeded"
    assert run.outputs["rolled-back"] == "true"
    assert image_of(cluster) == "reg/web:1"
    deploy = cluster.get("deploy", NS, "web")
    assert (
        deploy is not None
        and deploy["status"]["observedGeneration"] == deploy["metadata"]["generation"]
    )
    summary = run.summary
    assert "CrashLoopBackOff" in summary
    assert "unable to open database file" in summary  # the previous container's log
    assert "BackOff" in summary  # the pods' events
    assert "Rollback (kubernetes): done" in summary
    assert "revision 2 → 1 (reg/web:1)" in summary
    assert "s3cr3t-cluster-token" not in shown(run.log)
    assert "::add-mask::s3cr3t-cluster-token" in run.log
    assert "CrashLoopBackOff" in run.log
    assert not list(tmp_path.glob("kubeconfig-*")), "the kubeconfig temp file is removed"


def test_image_mismatch_fails_a_completed_rollout(cluster: FakeCluster, tmp_path: Path) -> None:
    install_deployment(cluster, "web", ["reg/web:1", "reg/web:2"])
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc")
    run = invoke(
        tmp_path,
        "health-probe",
        ["--workloads", "deployment/web", "--expected-images", "reg/web:3"],
        env={"KUBECONFIG": str(kubeconfig)},
    )
    assert run.code == 1, run.log
    assert run.outputs["failure-reason"] == "image-mismatch"
    assert "expected `reg/web:3`, found `reg/web:2`" in run.summary


def test_http_failure_after_a_good_rollout_rolls_back(
    cluster: FakeCluster, service: FakeService, tmp_path: Path
) -> None:
    install_deployment(cluster, "web", ["reg/web:1", "reg/web:2"])
    DeploymentController(cluster, delay=0.1)
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc")
    run = invoke(
        tmp_path,
        "health-probe",
        [
            "--workloads",
            "deployment/web",
            "--url",
            service.url("/fail"),
            "--timeout",
            "1s",
            "--interval",
            "0.2",
            "--rollback",
            "on-failure",
        ],
        env={"KUBECONFIG": str(kubeconfig)},
    )
    assert run.code == 1, run.log
    assert run.outputs["failure-reason"] == "http-check-failed"
    assert run.outputs["rolled-back"] == "true"
    assert image_of(cluster) == "reg/web:1"
    assert "status 500" in run.summary


def test_paused_deployment_is_not_rolled_back(cluster: FakeCluster, tmp_path: Path) -> None:
    install_deployment(cluster, "web", ["reg/web:1", "reg/web:2"])
    cluster.modify("deploy", NS, "web", lambda d: d["spec"].update(paused=True, replicas=3))
    cluster.patch_status(
        "deploy", NS, "web", {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2}
    )
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc")
    run = invoke(
        tmp_path,
        "health-probe",
        ["--workloads", "deployment/web", "--rollback", "on-failure", "--rollout-timeout", "3s"],
        env={"KUBECONFIG": str(kubeconfig)},
    )
    assert run.code == 1, run.log
    assert run.outputs["failure-reason"] == "paused"
    assert run.outputs["rolled-back"] == "false"
    assert "is paused; resume it" in run.summary
    assert image_of(cluster) == "reg/web:2"


def test_unreachable_cluster_is_an_environment_failure(tmp_path: Path) -> None:
    from tests.support.fake_k8s import write_kubeconfig
    from tests.support.fake_service import closed_port

    kubeconfig = write_kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{closed_port()}")
    run = invoke(
        tmp_path,
        "health-probe",
        ["--workloads", "deployment/web"],
        env={"KUBECONFIG": str(kubeconfig)},
    )
    assert run.code == 3, run.log
    assert "cannot reach the Kubernetes API" in run.log
    assert run.outputs["healthy"] == "false"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--workloads", "pod/web"], "input 'workloads'"),
        (["--url", "http://x/", "--version-from", "body:v"], "input 'version-from'"),
        (["--url", "http://x/", "--expected-status", "2xx"], "input 'expected-status'"),
        (["--url", "http://x/", "--rollout-timeout", "soon"], "input 'rollout-timeout'"),
        (["--url", "ftp://x/"], "input 'url'"),
        ([], "nothing to probe"),
        (
            [
                "--url",
                "http://x/",
                "--rollback",
                "on-failure",
                "--rollback-mode",
                "gitops",
                "--gitops-paths",
                "envs/prod",
            ],
            "input 'previous-images'",
        ),
        (
            ["--workloads", "deployment/web", "--expected-images", "a/b=reg/x:1"],
            "input 'expected-images'",
        ),
        (["--url", "http://x/", "--checks", "- method: GET"], "check 1 has no url"),
        (["--url", "http://x/", "--auth-header", "token-without-name"], "input 'auth-header'"),
    ],
)
def test_bad_input_is_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    run = invoke(tmp_path, "health-probe", args)
    assert run.code == 2, run.log
    assert words in run.log


def test_checks_yaml_and_masked_auth_header(service: FakeService, tmp_path: Path) -> None:
    checks = f"""
- url: {service.url()}
  json: {{status: ok, db.items: ">= 1"}}
  expected-version: 2.0.0
- url: {service.url()}
  version-from: header:X-Version
  expected-version: 2.0.0
  max-latency-ms: 5000
"""
    run = invoke(
        tmp_path,
        "health-probe",
        [
            "--checks",
            checks,
            "--auth-header",
            "Authorization: Bearer very-secret-value",
            "--timeout",
            "5s",
        ],
    )
    assert run.code == 0, run.log
    assert "very-secret-value" not in shown(run.log)
    assert "::add-mask::very-secret-value" in run.log
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    assert [c["healthy"] for c in report["http"]["checks"]] == [True, True]


def test_flapping_service_is_unhealthy_and_its_flaps_are_reported(
    service: FakeService, tmp_path: Path
) -> None:
    """A service answering 200, 503, 200, … passed 10/10 with one success required."""
    run = invoke(
        tmp_path,
        "health-probe",
        ["--url", service.url("/flap?code=503"), "--timeout", "2s", "--interval", "0.1"],
    )
    assert run.code == 1, run.log
    assert run.outputs["failure-reason"] == "http-check-failed"
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    [check] = report["http"]["checks"]
    statuses = [a["status"] for a in check["attempts"]]
    expected_flaps = sum(1 for a, b in itertools.pairwise(statuses) if a == 200 and b == 503)
    assert expected_flaps >= 3, statuses
    assert check["flaps"] == report["http"]["flaps"] == expected_flaps
    assert run.outputs["flaps"] == str(expected_flaps)
    assert "3 successes in a row not reached" in run.summary
    assert f"flaps (a success followed by a failure): {expected_flaps}" in run.summary


# ---- gitops rollback through kustomize-bump and release-ledger (stubs registered here only)


Call = tuple[str, object]  # (action, the typed inputs it was called with)


@pytest.fixture
def stub_actions(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """kustomize-bump and release-ledger replaced by recorders that answer as they document."""
    from ci_actions.actions import kustomize_bump, release_ledger
    from ci_actions.result import Result

    calls: list[Call] = []

    def bump(inputs: object, ctx: object) -> Result:
        calls.append(("kustomize-bump", inputs))
        return Result(outputs={"changed": True, "commit-sha": "f" * 40, "previous-images": {}})

    def ledger(inputs: object, ctx: object) -> Result:
        calls.append(("release-ledger", inputs))
        image = "127.0.0.1:5000/team/web"
        return Result(outputs={"id": "e1", "image": image, "tag": "1.3.0", "digest": DIGEST_D})

    monkeypatch.setattr(kustomize_bump, "run", bump)
    monkeypatch.setattr(release_ledger, "run", ledger)
    return calls


DIGEST_D = "sha256:" + "d" * 64


def test_gitops_rollback_from_previous_images(
    service: FakeService, tmp_path: Path, stub_actions: list[Call]
) -> None:
    from ci_actions.actions.kustomize_bump import BumpInputs, Mode
    from ci_actions.gitops import GitOpsTarget

    run = invoke(
        tmp_path,
        "health-probe",
        [
            "--url",
            service.url("/fail"),
            "--timeout",
            "0.5s",
            "--rollback",
            "on-failure",
            "--rollback-mode",
            "gitops",
            "--gitops-paths",
            "envs/prod\n# a comment\nenvs/prod-eu",
            "--gitops-repository",
            "https://git.example/team/gitops.git",
            "--gitops-branch",
            "live",
            "--gitops-token",
            "gitops-s3cret",
            "--previous-images",
            json.dumps({"reg/web": "reg/web:1.4.0@sha256:" + "c" * 64, "reg/side": ""}),
        ],
    )
    assert run.code == 1, run.log
    assert run.outputs["rolled-back"] == "true"
    [(name, values)] = stub_actions
    assert name == "kustomize-bump"
    assert isinstance(values, BumpInputs)
    assert values.mode is Mode.COMMIT
    assert values.paths == ("envs/prod", "envs/prod-eu")
    assert [str(i) for i in values.images] == ["reg/web:1.4.0@sha256:" + "c" * 64]
    assert values.target == GitOpsTarget(
        repository="https://git.example/team/gitops.git", branch="live", token="gitops-s3cret"
    )
    assert "gitops-s3cret" not in shown(run.log)
    assert "Rollback (gitops): done" in run.summary


def test_gitops_rollback_from_the_ledger(
    service: FakeService, tmp_path: Path, stub_actions: list[Call]
) -> None:
    from ci_actions.actions.kustomize_bump import BumpInputs
    from ci_actions.actions.release_ledger import Command, LedgerInputs

    run = invoke(
        tmp_path,
        "health-probe",
        [
            "--url",
            service.url("/fail"),
            "--timeout",
            "0.5s",
            "--rollback",
            "on-failure",
            "--rollback-mode",
            "gitops",
            "--gitops-paths",
            "envs/prod",
            "--ledger-service",
            "web",
            "--ledger-environment",
            "prod",
        ],
    )
    assert run.code == 1, run.log
    assert [name for name, _ in stub_actions] == ["release-ledger", "kustomize-bump"]
    assert stub_actions[0][1] == LedgerInputs(
        Command.ROLLBACK_TARGET, service="web", environment="prod"
    )
    bump = stub_actions[1][1]
    assert isinstance(bump, BumpInputs)
    assert [str(i) for i in bump.images] == [f"127.0.0.1:5000/team/web:1.3.0@{DIGEST_D}"]
    assert run.outputs["rolled-back"] == "true"


def test_argocd_stale_state_fails_and_fresh_state_passes(tmp_path: Path) -> None:
    from tests.support.fake_argocd import FakeArgoCD, app_state

    old, new = "1" * 40, "2" * 40
    with FakeArgoCD() as argo:
        argo.set_state("web", app_state(old))
        args = [
            "--argocd-server",
            argo.url,
            "--argocd-app",
            "web",
            "--expected-revision",
            new,
            "--argocd-timeout",
            "1s",
            "--interval",
            "0.1",
        ]
        run = invoke(
            tmp_path / "stale", "health-probe", args, env={"INPUT_ARGOCD-TOKEN": "argo-token"}
        )
        assert run.code == 1, run.log
        assert run.outputs["failure-reason"] == "argocd-timeout"
        argo.set_state("web", app_state(new))
        run = invoke(
            tmp_path / "fresh",
            "health-probe",
            [*args, "--refresh", "normal"],
            env={"INPUT_ARGOCD-TOKEN": "argo-token"},
        )
        assert run.code == 0, run.log
        assert ("/api/v1/applications/web", {"refresh": "normal"}) in argo.requests
        assert "argo-token" not in shown(run.log)


def test_namespace_from_the_context_and_two_workloads(cluster: FakeCluster, tmp_path: Path) -> None:
    install_deployment(cluster, "web", ["reg/web:1"], namespace="prod")
    install_deployment(cluster, "worker", ["reg/worker:1"], namespace="prod")
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc", namespace="prod")
    args = ["--workloads", "deployment/web\n# the queue consumer\ndeploy/worker"]
    run = invoke(
        tmp_path / "ok",
        "health-probe",
        [*args, "--expected-images", "reg/web:1\nreg/worker:1"],
        env={"KUBECONFIG": str(kubeconfig)},
    )
    assert run.code == 0, run.log
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    assert report["namespace"] == "prod"
    assert [r["workload"] for r in report["rollouts"]] == ["deployment/web", "deployment/worker"]
    assert {w["workload"]: w["expected"] for w in report["images"]["workloads"]} == {
        "deployment/web": ["reg/web:1"],
        "deployment/worker": ["reg/worker:1"],
    }
    # An image no workload runs is a mismatch, not silently ignored.
    run = invoke(
        tmp_path / "bad",
        "health-probe",
        [*args, "--expected-images", "reg/api:1"],
        env={"KUBECONFIG": str(kubeconfig)},
    )
    assert run.code == 1, run.log
    assert "no workload runs reg/api:1 (they run reg/web:1, reg/worker:1)" in run.summary


def test_gitops_rollback_through_kustomize_bump_for_real(
    service: FakeService, tmp_path: Path
) -> None:
    """The real kustomize-bump puts the previous tag back in the overlay and pushes it."""
    from tests.support.act import git
    from tests.support.gitops import clone, gitops_files, make_remote

    remote = make_remote(tmp_path, gitops_files())
    checkout = clone(tmp_path, remote, "gitops")
    run = invoke(
        tmp_path / "run",
        "health-probe",
        [
            "--url",
            service.url("/fail"),
            "--timeout",
            "0.5s",
            "--rollback",
            "on-failure",
            "--rollback-mode",
            "gitops",
            "--gitops-paths",
            "overlays/prod",
            "--gitops-working-directory",
            str(checkout),
            "--previous-images",
            json.dumps({"registry.local:5000/team/api": "registry.local:5000/team/api:0.9.0"}),
        ],
    )
    assert run.code == 1, run.log
    assert run.outputs["rolled-back"] == "true", run.summary
    pushed = git(
        tmp_path, "--git-dir", str(remote), "show", "main:overlays/prod/kustomization.yaml"
    )
    assert (
        '  - name: registry.local:5000/team/api\n    newTag: "0.9.0"  # set by CI\n  - name'
        in pushed
    )
    assert "# prod: synced by Argo CD" in pushed, "comments kept"
    assert 'registry.local:5000/team/worker\n    newTag: "1.0.0"' in pushed, (
        "other images untouched"
    )
    report = json.loads(Path(run.outputs["report-file"]).read_text())
    assert report["rollback"]["kustomize-bump"]["commit-sha"] == git(
        tmp_path, "--git-dir", str(remote), "rev-parse", "main"
    )


def test_kube_context_picks_the_cluster_and_its_namespace(
    cluster: FakeCluster, tmp_path: Path
) -> None:
    import yaml

    from tests.support.fake_service import closed_port

    install_deployment(cluster, "web", ["reg/web:1"], namespace="staging")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "down", "cluster": {"server": f"http://127.0.0.1:{closed_port()}"}},
            {"name": "fake", "cluster": {"server": cluster.url}},
        ],
        "users": [{"name": "u", "user": {"token": "t0ken-value"}}],
        "contexts": [
            {"name": "prod", "context": {"cluster": "down", "user": "u"}},
            {
                "name": "staging",
                "context": {"cluster": "fake", "user": "u", "namespace": "staging"},
            },
        ],
        "current-context": "prod",
    }
    args = ["--workloads", "deployment/web", "--kubeconfig", yaml.safe_dump(config)]
    run = invoke(tmp_path / "current", "health-probe", args)
    assert run.code == 3, run.log  # the current context's cluster is down
    run = invoke(tmp_path / "chosen", "health-probe", [*args, "--kube-context", "staging"])
    assert run.code == 0, run.log
    assert json.loads(Path(run.outputs["report-file"]).read_text())["namespace"] == "staging"
