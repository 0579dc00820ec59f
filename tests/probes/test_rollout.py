"""Rollout status rules, table-driven over objects shaped as the API returns them."""

from __future__ import annotations

from typing import Any

import pytest

from ci_actions.errors import InputError
from ci_actions.probes.rollout import Workload, parse_workload, status_of


def deploy(
    gen: int = 2,
    observed: int = 2,
    desired: int | None = 3,
    paused: bool = False,
    reason: str = "",
    **status: int,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"paused": paused}
    if desired is not None:
        spec["replicas"] = desired
    st: dict[str, Any] = {"observedGeneration": observed, **status}
    if reason:
        st["conditions"] = [{"type": "Progressing", "status": "False", "reason": reason}]
    return {"metadata": {"name": "web", "generation": gen}, "spec": spec, "status": st}


# (case, object, done, failure, words in the message)
DEPLOYMENTS = [
    (
        "not observed",
        deploy(gen=3, observed=2, updatedReplicas=3, replicas=3, availableReplicas=3),
        False,
        "",
        "spec update to be observed",
    ),
    (
        "deadline before counts",
        deploy(
            reason="ProgressDeadlineExceeded", updatedReplicas=3, replicas=3, availableReplicas=3
        ),
        False,
        "progress-deadline-exceeded",
        "exceeded its progress deadline",
    ),
    (
        "deadline ignored until observed",
        deploy(gen=3, reason="ProgressDeadlineExceeded"),
        False,
        "",
        "observed",
    ),
    (
        "updating",
        deploy(updatedReplicas=1, replicas=4, availableReplicas=3),
        False,
        "",
        "1 out of 3 new replicas",
    ),
    (
        "old pending termination",
        deploy(updatedReplicas=3, replicas=4, availableReplicas=3),
        False,
        "",
        "1 old replicas are pending termination",
    ),
    (
        "not available",
        deploy(updatedReplicas=3, replicas=3, availableReplicas=2),
        False,
        "",
        "2 of 3 updated replicas are available",
    ),
    (
        "complete",
        deploy(updatedReplicas=3, replicas=3, availableReplicas=3),
        True,
        "",
        "successfully rolled out",
    ),
    (
        "replicas unset",
        deploy(desired=None, updatedReplicas=1, replicas=1, availableReplicas=1),
        True,
        "",
        "successfully",
    ),
    ("scaled to zero", deploy(desired=0), True, "", "successfully"),
    (
        "paused midway",
        deploy(paused=True, updatedReplicas=1, replicas=3, availableReplicas=3),
        False,
        "paused",
        "paused",
    ),
    (
        "paused but complete",
        deploy(paused=True, updatedReplicas=3, replicas=3, availableReplicas=3),
        True,
        "",
        "successfully",
    ),
    (
        "other progressing reason",
        deploy(reason="ReplicaSetUpdated", updatedReplicas=3, replicas=3, availableReplicas=3),
        True,
        "",
        "successfully",
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "done", "failure", "words"), DEPLOYMENTS, ids=[d[0] for d in DEPLOYMENTS]
)
def test_deployment(case: str, obj: dict[str, Any], done: bool, failure: str, words: str) -> None:
    status = status_of("deployment", obj)
    assert (status.done, status.failure) == (done, failure)
    assert words in status.message


def sts(
    gen: int = 2,
    observed: int = 2,
    partition: int | None = None,
    strategy: str = "RollingUpdate",
    **status: Any,
) -> dict[str, Any]:
    update: dict[str, Any] = {"type": strategy}
    if partition is not None:
        update["rollingUpdate"] = {"partition": partition}
    return {
        "metadata": {"name": "db", "generation": gen},
        "spec": {"replicas": 3, "updateStrategy": update},
        "status": {"observedGeneration": observed, **status},
    }


STATEFULSETS = [
    ("never observed", sts(observed=0), False, "", "observed"),
    ("not ready", sts(readyReplicas=2), False, "", "Waiting for 1 pods to be ready"),
    (
        "revisions differ",
        sts(readyReplicas=3, updateRevision="b", currentRevision="a", updatedReplicas=1),
        False,
        "",
        "revision b",
    ),
    (
        "revisions equal",
        sts(readyReplicas=3, updateRevision="b", currentRevision="b", currentReplicas=3),
        True,
        "",
        "complete 3 pods",
    ),
    (
        "partition pending",
        sts(partition=1, readyReplicas=3, updatedReplicas=1),
        False,
        "",
        "1 out of 2 new pods",
    ),
    (
        "partition reached",
        sts(partition=1, readyReplicas=3, updatedReplicas=2),
        True,
        "",
        "partitioned roll out complete",
    ),
    ("OnDelete", sts(strategy="OnDelete"), False, "unsupported-strategy", "RollingUpdate"),
]


@pytest.mark.parametrize(
    ("case", "obj", "done", "failure", "words"), STATEFULSETS, ids=[s[0] for s in STATEFULSETS]
)
def test_statefulset(case: str, obj: dict[str, Any], done: bool, failure: str, words: str) -> None:
    status = status_of("statefulset", obj)
    assert (status.done, status.failure) == (done, failure)
    assert words in status.message


def ds(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "agent", "generation": 2},
        "spec": {"updateStrategy": {"type": "RollingUpdate"}},
        "status": {"observedGeneration": 2, "desiredNumberScheduled": 3, **status},
    }


@pytest.mark.parametrize(
    ("obj", "done", "words"),
    [
        (ds(updatedNumberScheduled=2, numberAvailable=3), False, "2 out of 3 new pods"),
        (
            ds(updatedNumberScheduled=3, numberAvailable=2),
            False,
            "2 of 3 updated pods are available",
        ),
        (ds(updatedNumberScheduled=3, numberAvailable=3), True, "successfully rolled out"),
    ],
)
def test_daemonset(obj: dict[str, Any], done: bool, words: str) -> None:
    status = status_of("daemonset", obj)
    assert status.done is done
    assert words in status.message


def test_daemonset_on_delete_is_refused() -> None:
    obj = ds(updatedNumberScheduled=3, numberAvailable=3)
    obj["spec"]["updateStrategy"]["type"] = "OnDelete"
    assert status_of("daemonset", obj).failure == "unsupported-strategy"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("deployment/web", Workload("deployment", "web", "ns")),
        ("deploy/web", Workload("deployment", "web", "ns")),
        ("sts/db", Workload("statefulset", "db", "ns")),
        ("DaemonSets/agent", Workload("daemonset", "agent", "ns")),
    ],
)
def test_parse_workload(line: str, expected: Workload) -> None:
    assert parse_workload(line, "ns") == expected


@pytest.mark.parametrize("line", ["web", "pod/web", "deployment/", "deployment/a/b"])
def test_parse_workload_rejects(line: str) -> None:
    with pytest.raises(InputError, match="workloads"):
        parse_workload(line, "ns")
