"""Rollback: what `kubectl rollout undo` does, and the kustomize-bump lines for gitops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_actions.probes.kube import KubeClient
from ci_actions.probes.rollback import RollbackRefused, undo_deployment
from ci_actions.probes.rollout import Workload
from tests.support.fake_k8s import FakeCluster, fresh_discovery
from tests.support.k8s_workloads import REVISION, install_deployment, prune
from tests.support.tools import HANG_GUARD, require

NS = "default"


def test_undo_puts_back_the_previous_template_and_its_annotations(
    cluster: FakeCluster, kubeconfig: Path
) -> None:
    install_deployment(cluster, "web", ["reg/web:1", "reg/web:2", "reg/web:3"])
    rs2 = next(rs for rs in cluster.list("rs") if rs["metadata"]["annotations"][REVISION] == "2")
    cluster.modify(
        "rs",
        NS,
        rs2["metadata"]["name"],
        lambda rs: rs["metadata"]["annotations"].update({"team/note": "from rs"}),
    )
    cluster.modify(
        "deploy",
        NS,
        "web",
        lambda d: d["metadata"]["annotations"].update(
            {"kubectl.kubernetes.io/last-applied-configuration": "{}", "team/old": "x"}
        ),
    )
    kube = KubeClient.from_kubeconfig(kubeconfig)
    undo = undo_deployment(kube, Workload("deployment", "web", NS))
    kube.close()
    assert (undo.from_revision, undo.to_revision, undo.images) == (3, 2, ["reg/web:2"])
    deploy = cluster.get("deploy", NS, "web")
    assert deploy is not None
    template = deploy["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "reg/web:2"
    assert "pod-template-hash" not in template["metadata"]["labels"]
    annotations = deploy["metadata"]["annotations"]
    assert annotations["team/note"] == "from rs"
    assert annotations["kubectl.kubernetes.io/last-applied-configuration"] == "{}", "kept"
    assert "team/old" not in annotations, "replaced by the ReplicaSet's"
    assert annotations[REVISION] == "3", "the controller moves the revision, not the undo"
    assert [r[0] for r in cluster.requests if r[0] in ("PATCH", "PUT")] == ["PATCH"]


@pytest.mark.parametrize(
    ("images", "change", "words"),
    [
        (["reg/web:1", "reg/web:2"], lambda d: d["spec"].update(paused=True), "is paused"),
        (["reg/web:1"], lambda d: None, "no previous revision"),
        (
            ["reg/web:1", "reg/web:2"],
            lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="reg/web:1"),
            "already matches revision 1",
        ),
    ],
)
def test_undo_refusals(
    cluster: FakeCluster, kubeconfig: Path, images: list[str], change: object, words: str
) -> None:
    install_deployment(cluster, "web", images)  # type: ignore[arg-type]
    cluster.modify("deploy", NS, "web", change)  # type: ignore[arg-type]
    kube = KubeClient.from_kubeconfig(kubeconfig)
    with pytest.raises(RollbackRefused, match=words):
        undo_deployment(kube, Workload("deployment", "web", NS))
    kube.close()


@pytest.mark.parametrize(
    ("previous", "lines"),
    [
        ({"reg/web": "reg/web:1.4.0"}, ["reg/web:1.4.0"]),
        ({"reg/web": f"reg/web@sha256:{'a' * 64}"}, [f"reg/web@sha256:{'a' * 64}"]),
        ({"reg/web": "mirror:5000/web:1.4.0"}, ["reg/web=mirror:5000/web:1.4.0"]),
        ({"reg/web": "", "reg/api": "reg/api:2"}, ["reg/api:2"]),
    ],
)
def test_gitops_lines_from_previous_images(previous: dict[str, str], lines: list[str]) -> None:
    from ci_actions.probes.rollback import images_from_previous

    assert images_from_previous(previous) == lines


def test_gitops_line_from_the_ledger() -> None:
    from ci_actions.probes.rollback import image_from_ledger

    assert image_from_ledger("reg:5000/web:1.3.0", "", "") == "reg:5000/web:1.3.0"
    assert (
        image_from_ledger("reg:5000/web", "1.3.0", "sha256:" + "b" * 64)
        == "reg:5000/web:1.3.0@sha256:" + "b" * 64
    )


def test_undo_leaves_the_deployment_as_kubectl_rollout_undo_does(tmp_path: Path) -> None:
    import subprocess

    require("kubectl")

    def history(cluster: FakeCluster) -> None:
        install_deployment(
            cluster,
            "web",
            ["reg/web:1", {"app": "reg/web:2", "sidecar": "reg/proxy:1"}, "reg/web:3"],
        )
        rs2 = next(
            rs for rs in cluster.list("rs") if rs["metadata"]["annotations"][REVISION] == "2"
        )
        cluster.modify(
            "rs",
            NS,
            rs2["metadata"]["name"],
            lambda rs: rs["metadata"]["annotations"].update({"kubernetes.io/change-cause": "v2"}),
        )

    results = []
    for who in ("kubectl", "probe"):
        with FakeCluster() as cluster:
            history(cluster)
            kubeconfig = cluster.write_kubeconfig(tmp_path / f"{who}.kc")
            if who == "kubectl":
                done = subprocess.run(
                    [
                        "kubectl",
                        "--kubeconfig",
                        str(kubeconfig),
                        *fresh_discovery(kubeconfig),
                        "rollout",
                        "undo",
                        "deploy/web",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=HANG_GUARD,
                )
                assert done.returncode == 0, done.stderr
            else:
                kube = KubeClient.from_kubeconfig(kubeconfig)
                undo_deployment(kube, Workload("deployment", "web", NS))
                kube.close()
            deploy = cluster.get("deploy", NS, "web")
            assert deploy is not None
            results.append(
                (
                    deploy["spec"],
                    deploy["metadata"]["annotations"],
                    deploy["metadata"]["generation"],
                )
            )
    kubectl_result, probe_result = results
    # kubectl's typed round trip adds `creationTimestamp: null` and `resources: {}`,
    # which the API server drops when it stores the object.
    assert json.dumps(prune(list(probe_result)), sort_keys=True) == json.dumps(
        prune(list(kubectl_result)), sort_keys=True
    )
    assert [c["image"] for c in probe_result[0]["template"]["spec"]["containers"]] == [
        "reg/web:2",
        "reg/proxy:1",
    ]
