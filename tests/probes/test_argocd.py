"""Argo CD wait against the fake API: revision, sync, health, operation, refresh."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ci_actions.errors import EnvironmentFailure
from ci_actions.probes.argocd import judge, wait_for_app
from tests.support.fake_argocd import FakeArgoCD, app_state

OLD, NEW = "a" * 40, "b" * 40


@pytest.fixture
def argo() -> Iterator[FakeArgoCD]:
    with FakeArgoCD() as fake:
        yield fake


def wait(argo: FakeArgoCD, timeout: float = 2.0, **kw: str):  # type: ignore[no-untyped-def]
    return wait_for_app(
        argo.url, "web", "argo-token", kw.pop("revision", NEW), timeout=timeout, interval=0.05, **kw
    )


def test_stale_synced_healthy_state_does_not_pass(argo: FakeArgoCD) -> None:
    # The previous revision is Synced and Healthy: the race where a naive check passes.
    argo.set_state("web", app_state(OLD))
    outcome = wait(argo, timeout=0.5)
    assert not outcome.healthy
    assert outcome.failure == "argocd-timeout"
    assert "not on bbbbbbbbbbbb yet" in outcome.message


def test_waits_through_the_sync_to_the_new_revision(argo: FakeArgoCD) -> None:
    argo.set_state("web", app_state(OLD))
    argo.play(
        [
            (
                0.2,
                lambda a: a.set_state(
                    "web", app_state(NEW, sync="OutOfSync", phase="Running", operation=True)
                ),
            ),
            (0.2, lambda a: a.set_state("web", app_state(NEW, health="Progressing"))),
            (0.2, lambda a: a.set_state("web", app_state(NEW))),
        ]
    )
    outcome = wait(argo, refresh="hard")
    assert outcome.healthy, outcome.message
    verdicts = [o["verdict"] for o in outcome.observations]
    assert verdicts[0] == "wait" and verdicts[-1] == "ok"
    refreshes = [q.get("refresh") for _, q in argo.requests]
    assert refreshes[0] == "hard"
    assert all(r is None for r in refreshes[1:]), "refresh asked once"


def test_running_operation_on_the_new_revision_keeps_waiting(argo: FakeArgoCD) -> None:
    argo.set_state("web", app_state(NEW, phase="Running", operation=True))
    outcome = wait(argo, timeout=0.4)
    assert outcome.failure == "argocd-timeout"
    assert "operation in progress" in outcome.message


def test_degraded_and_failed_sync_fail_at_once(argo: FakeArgoCD) -> None:
    argo.set_state(
        "web",
        app_state(NEW, health="Degraded", message="Deployment web exceeded its progress deadline"),
    )
    outcome = wait(argo, timeout=5)
    assert outcome.failure == "argocd-degraded"
    assert "progress deadline" in outcome.message
    argo.set_state(
        "web",
        app_state(
            NEW, sync="OutOfSync", phase="Failed", message="one or more objects failed to apply"
        ),
    )
    outcome = wait(argo, timeout=5)
    assert outcome.failure == "argocd-sync-failed"


def test_short_sha_and_multi_source(argo: FakeArgoCD) -> None:
    state = app_state(NEW)
    state["status"]["sync"] = {"status": "Synced", "revisions": [NEW, NEW]}
    argo.set_state("web", state)
    assert wait(argo, revision=NEW[:7]).healthy
    assert judge(app_state(NEW), NEW[:6])[0] == "wait", "fewer than 7 characters is not a SHA"


def test_bad_token_and_unknown_app(argo: FakeArgoCD) -> None:
    argo.set_state("web", app_state(NEW))
    with pytest.raises(EnvironmentFailure, match="refused the token"):
        wait_for_app(argo.url, "web", "wrong", NEW, timeout=1, interval=0.1)
    with pytest.raises(EnvironmentFailure, match="no application"):
        wait_for_app(argo.url, "nope", "argo-token", NEW, timeout=1, interval=0.1)
