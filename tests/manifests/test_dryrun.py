"""Server-side dry run against the fake API server (real HTTP, the real kubernetes client)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_actions.errors import EnvironmentFailure, InputError
from ci_actions.manifests.dryrun import dry_run, field_path
from ci_actions.manifests.model import Manifest
from ci_actions.manifests.sources import load_paths
from tests.manifests.support import FIXTURES, ROOT
from tests.support.cli import invoke
from tests.support.fake_k8s import FakeCluster, field_invalid, webhook_denies
from tests.support.tools import HANG_GUARD, needs

pytestmark = needs("kubectl")
DEV = "tests/fixtures/manifests/overlays/dev"
BASE_DEPLOYMENT = FIXTURES / "base" / "deployment.yaml"


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster() as fake:
        yield fake


@pytest.fixture
def kubeconfig(cluster: FakeCluster, tmp_path: Path) -> Path:
    return cluster.write_kubeconfig(tmp_path / "kubeconfig")


def overlay(path: str, tmp_path: Path) -> list[Manifest]:
    return load_paths([path], ROOT, tmp_path / "scratch")


def line_of(file: Path, text: str) -> int:
    return next(i for i, line in enumerate(file.read_text().splitlines(), 1) if text in line)


def writes(cluster: FakeCluster) -> list[tuple[str, str, str]]:
    return [(m, p, q.get("dryRun", "")) for m, p, q in cluster.requests if m in ("POST", "PATCH")]


def test_new_objects_are_created_in_dry_run_only(
    cluster: FakeCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    problems = dry_run(overlay(DEV, tmp_path), str(kubeconfig), "", tmp_path)
    assert problems == []
    assert sorted(writes(cluster)) == [
        ("POST", "/api/v1/namespaces/collector-dev/configmaps", "All"),
        ("POST", "/api/v1/namespaces/collector-dev/services", "All"),
        ("POST", "/apis/apps/v1/namespaces/collector-dev/deployments", "All"),
    ]
    assert cluster.list("Deployment") == []  # nothing was stored


def test_an_existing_object_is_patched_in_dry_run(
    cluster: FakeCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    manifests = overlay(DEV, tmp_path)
    (deployment,) = [m for m in manifests if m.kind == "Deployment"]
    cluster.add({**deployment.obj, "metadata": dict(deployment.obj["metadata"])})
    before = cluster.get("Deployment", "collector-dev", "dev-collector")
    assert dry_run([deployment], str(kubeconfig), "", tmp_path) == []
    assert writes(cluster) == [
        ("POST", "/apis/apps/v1/namespaces/collector-dev/deployments", "All"),
        ("PATCH", "/apis/apps/v1/namespaces/collector-dev/deployments/dev-collector", "All"),
    ]
    assert cluster.get("Deployment", "collector-dev", "dev-collector") == before


def test_admission_webhook_denial_is_reported_on_the_object(
    cluster: FakeCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    cluster.admission.append(
        webhook_denies(
            "policy.example.com", "Services must not be NodePort", lambda o: o["kind"] == "Service"
        )
    )
    (found,) = dry_run(overlay(DEV, tmp_path), str(kubeconfig), "", tmp_path)
    assert (found.check, found.severity, found.resource) == (
        "dry-run",
        "error",
        "Service collector-dev/dev-collector",
    )
    assert 'admission webhook "policy.example.com" denied the request' in found.message
    assert found.file == "tests/fixtures/manifests/base/service.yaml"
    assert found.line == 1


def test_an_invalid_field_is_located_at_its_line(
    cluster: FakeCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    field = "spec.template.spec.containers[0].image"
    cluster.admission.append(
        field_invalid(
            field, "Invalid value: registry not allowed", lambda o: o["kind"] == "Deployment"
        )
    )
    (found,) = dry_run(overlay(DEV, tmp_path), str(kubeconfig), "", tmp_path)
    assert found.field == field
    assert found.file == "tests/fixtures/manifests/base/deployment.yaml"
    assert found.line == line_of(BASE_DEPLOYMENT, "image: registry")
    assert "registry not allowed" in found.message


def test_a_kind_the_server_does_not_know(
    cluster: FakeCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    manifests = overlay("tests/fixtures/manifests/overlays/prod", tmp_path)
    (found,) = dry_run(manifests, str(kubeconfig), "", tmp_path)
    assert (found.severity, found.resource) == ("error", "Backup collector-prod/prod-collector-db")
    assert "the server has no ops.example.com/v1 Backup" in found.message
    # With its CRD in the same change, the server cannot know it yet: a warning.
    crd = load_paths(["tests/fixtures/manifests/crds"], ROOT, tmp_path)
    problems = dry_run([*crd, *manifests], str(kubeconfig), "", tmp_path)
    assert {(p.resource, p.severity) for p in problems} == {
        ("Backup collector-prod/prod-collector-db", "warning"),
        ("CustomResourceDefinition backups.ops.example.com", "error"),  # the fake serves no CRDs
    }


def test_kubectl_sees_the_same_admission_error(cluster: FakeCluster, kubeconfig: Path) -> None:
    """The fake's admission error reads as the real one does to real kubectl."""
    cluster.admission.append(webhook_denies("policy.example.com", "no", lambda o: True))
    proc = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            str(kubeconfig),
            "create",
            "--dry-run=server",
            "--validate=false",
            "-f",
            str(FIXTURES / "base" / "service.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert proc.returncode == 1
    assert 'admission webhook "policy.example.com" denied the request: no' in proc.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_is_an_environment_failure(tmp_path: Path) -> None:
    from tests.support.fake_k8s import write_kubeconfig

    config = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(EnvironmentFailure, match="cannot be reached") as caught:
        dry_run(overlay(DEV, tmp_path), str(config), "", tmp_path)
    assert caught.value.exit_code == 3


def test_a_missing_kubeconfig_names_the_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="input 'kubeconfig'"):
        dry_run(overlay(DEV, tmp_path), str(tmp_path / "nope"), "", tmp_path)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("spec.replicas", ("spec", "replicas")),
        (
            "spec.template.spec.containers[0].image",
            ("spec", "template", "spec", "containers", 0, "image"),
        ),
        ("metadata.labels[app]", ("metadata", "labels", "app")),
    ],
)
def test_field_path(text: str, path: tuple[str | int, ...]) -> None:
    assert field_path(text) == path


def test_the_action_with_server_dry_run(
    cluster: FakeCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    cluster.admission.append(
        webhook_denies("policy.example.com", "denied", lambda o: o["kind"] == "ConfigMap")
    )
    args = ["--paths", DEV, "--server-dry-run", "true", "--report-file", str(tmp_path / "r.json")]
    run = invoke(tmp_path, "validate-manifests", [*args, "--kubeconfig", str(kubeconfig)], cwd=ROOT)
    assert run.code == 1, run.log
    kustomization = FIXTURES / "overlays" / "dev" / "kustomization.yaml"
    line = line_of(kustomization, "configMapGenerator")
    assert (
        f"::error file=tests/fixtures/manifests/overlays/dev/kustomization.yaml,line={line},title=validate-manifests%3A dry-run::"
        in run.stdout
    )
    # KUBECONFIG from the environment when the input is empty; an unreachable server is exit 3
    from tests.support.fake_k8s import write_kubeconfig

    dead = write_kubeconfig(tmp_path / "dead", f"http://127.0.0.1:{free_port()}")
    run = invoke(tmp_path, "validate-manifests", args, env={"KUBECONFIG": str(dead)}, cwd=ROOT)
    assert run.code == 3, run.log
    assert "cannot be reached" in run.log


def test_a_namespace_created_by_the_same_change(tmp_path: Path) -> None:
    with FakeCluster(require_namespaces=True) as cluster:
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
        manifests = overlay(DEV, tmp_path)
        problems = dry_run(manifests, str(kubeconfig), "", tmp_path)
        # collector-dev does not exist: every object is refused, as the real server does
        assert {(p.severity, p.resource) for p in problems} == {
            ("error", m.ident) for m in manifests
        }
        assert all('namespaces "collector-dev" not found' in p.message for p in problems)
        namespace = tmp_path / "ns.yaml"
        namespace.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: collector-dev\n")
        with_ns = [*load_paths([str(namespace)], ROOT, tmp_path), *manifests]
        problems = dry_run(with_ns, str(kubeconfig), "", tmp_path)
        assert {p.severity for p in problems} == {"warning"}
        assert len(problems) == len(manifests)
