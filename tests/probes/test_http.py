"""HTTP checks against a real local service, faults included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_actions.probes.checks import (
    Check,
    StatusSet,
    Timing,
    VersionSource,
    json_expectation_holds,
    latency_summary,
    lookup,
    percentile,
)
from ci_actions.probes.http import Prober
from tests.support.fake_service import FakeService, closed_port


@pytest.fixture
def service() -> Iterator[FakeService]:
    with FakeService(version="2.0.0") as svc:
        yield svc


@pytest.fixture(scope="module")
def tls_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeService]:
    with FakeService(version="2.0.0", tls_dir=tmp_path_factory.mktemp("tls")) as svc:
        yield svc


FAST = Timing(timeout=1.2, interval=0.1, attempt_timeout=0.5)


def probe(
    url: str, timing: Timing = FAST, **check: object
) -> tuple[bool, str, list[object], float]:
    started = time.monotonic()
    [result] = Prober(timing).run([Check(url=url, **check)])  # type: ignore[arg-type]
    return result.healthy, result.reason, list(result.attempts), time.monotonic() - started


# (name, url builder, timing, expected healthy, words expected in the reason)
FAULTS = [
    (
        "connection refused",
        lambda s: f"http://127.0.0.1:{closed_port()}/health",
        FAST,
        False,
        "connection refused",
    ),
    ("reset mid-body", lambda s: s.url("/reset"), FAST, False, "reset"),
    ("slow response", lambda s: s.url("/slow?ms=1000"), FAST, False, "timed out"),
    ("trickling body", lambda s: s.url("/trickle"), FAST, False, "within the attempt timeout"),
    ("always 500", lambda s: s.url("/fail"), FAST, False, "status 500"),
    # the default success-threshold (3 in a row) is never reached by a flapping server
    ("flapping 200/500", lambda s: s.url("/flap"), FAST, False, "3 successes in a row"),
    ("flapping 200/503", lambda s: s.url("/flap?code=503"), FAST, False, "status 503"),
    ("redirect loop", lambda s: s.url("/loop"), FAST, False, "redirect"),
    (
        "unresolvable DNS name",
        lambda s: "http://health-probe-test.invalid/health",
        FAST,
        False,
        "DNS",
    ),
    ("one redirect", lambda s: s.url("/redirect"), FAST, True, ""),
]


@pytest.mark.parametrize(
    ("name", "url", "timing", "healthy", "words"), FAULTS, ids=[f[0] for f in FAULTS]
)
def test_faults_give_the_right_verdict_within_budget(
    service: FakeService, name: str, url: object, timing: Timing, healthy: bool, words: str
) -> None:
    ok, reason, attempts, took = probe(url(service), timing)  # type: ignore[operator]
    assert ok is healthy, reason
    assert words in reason
    assert took <= timing.timeout + timing.attempt_timeout + 0.3, f"{name} took {took:.2f}s"
    assert attempts, "every attempt is recorded"


def test_flapping_server_needs_consecutive_successes(service: FakeService) -> None:
    timing = Timing(timeout=1.5, interval=0.05, attempt_timeout=0.5, success_threshold=2)
    ok, reason, attempts, _ = probe(service.url("/flap"), timing)
    assert not ok
    assert "2 successes in a row" in reason
    assert len(attempts) >= 4


# (route, success-threshold, healthy, fewest flaps): a real server on 127.0.0.1
FLAPPING = [
    ("/flap?code=503", None, False, 3),  # the default threshold
    ("/flap?code=503", 1, True, 0),  # one lucky answer is enough only when asked for
    ("/flap", 2, False, 3),
    ("/health", None, True, 0),
]


@pytest.mark.parametrize(("route", "threshold", "healthy", "flaps"), FLAPPING)
def test_flaps_are_counted_and_the_default_needs_three_in_a_row(
    service: FakeService, route: str, threshold: int | None, healthy: bool, flaps: int
) -> None:
    timing = Timing(timeout=1.5, interval=0.05, attempt_timeout=0.5)
    if threshold is not None:
        timing = Timing(**{**timing.__dict__, "success_threshold": threshold})
    [result] = Prober(timing).run([Check(url=service.url(route))])
    codes = [a.status for a in result.attempts]
    assert result.healthy is healthy, (result.reason, codes)
    assert result.flaps >= flaps, codes
    if healthy:
        assert result.flaps == 0
        ok = [a.ok for a in result.attempts]
        assert ok[-(threshold or 3) :] == [True] * (threshold or 3)
    else:
        assert f"({result.flaps} flap(s))" in result.reason
        assert 503 in codes or "503" not in route


def test_failure_threshold_gives_up_early(service: FakeService) -> None:
    timing = Timing(timeout=10, interval=0.05, attempt_timeout=0.5, failure_threshold=3)
    ok, reason, attempts, took = probe(service.url("/fail"), timing)
    assert not ok
    assert len(attempts) == 3
    assert took < 2
    assert "3 failed attempt(s) in a row" in reason


def test_self_signed_tls_fails_at_once_unless_insecure(tls_service: FakeService) -> None:
    ok, reason, attempts, took = probe(
        tls_service.url(), Timing(timeout=5, interval=0.1, attempt_timeout=1)
    )
    assert not ok
    assert "TLS verification failed" in reason
    assert len(attempts) == 1 and took < 2
    insecure = Timing(timeout=2, interval=0.1, attempt_timeout=1, verify_tls=False)
    ok, reason, _, _ = probe(tls_service.url(), insecure, expected_version="2.0.0")
    assert ok, reason


def test_version_from_json_and_header(service: FakeService) -> None:
    ok, _, attempts, _ = probe(service.url(), expected_version="2.0.0")
    assert ok
    assert attempts[0].version == "2.0.0"  # type: ignore[attr-defined]
    ok, reason, _, _ = probe(
        service.url(),
        Timing(timeout=0.5, interval=0.1, attempt_timeout=0.3),
        expected_version="2.1.0",
        version_from=VersionSource("header", "X-Version"),
    )
    assert not ok
    assert "'2.0.0' at header:X-Version, expected '2.1.0'" in reason


def test_old_version_then_new_version(service: FakeService) -> None:
    service.version = "1.9.0"

    def switch() -> None:
        time.sleep(0.4)
        service.version = "2.0.0"

    import threading

    threading.Thread(target=switch, daemon=True).start()
    ok, _, attempts, _ = probe(service.url(), expected_version="2.0.0")
    assert ok
    assert not attempts[0].ok  # type: ignore[attr-defined]
    assert "old version still serving" in attempts[0].reason  # type: ignore[attr-defined]


def test_json_assertions_contains_and_latency(service: FakeService) -> None:
    ok, reason, _, _ = probe(
        service.url(),
        json={"status": "ok", "db.connected": True, "db.items": ">= 40"},
        contains='"ok"',
    )
    assert ok, reason
    ok, reason, _, _ = probe(
        service.url(),
        Timing(timeout=0.3, interval=0.1, attempt_timeout=0.2),
        json={"db.items": "> 100"},
    )
    assert not ok
    assert "JSON db.items is 42, expected '> 100'" in reason
    ok, reason, _, _ = probe(
        service.url("/slow?ms=200"),
        Timing(timeout=0.6, interval=0.1, attempt_timeout=0.5),
        max_latency_ms=50,
    )
    assert not ok
    assert "over 50 ms" in reason


def test_status_sets() -> None:
    allowed = StatusSet.parse("200,204, 301-302")
    assert 204 in allowed and 301 in allowed and 302 in allowed
    assert 201 not in allowed and 500 not in allowed
    with pytest.raises(ValueError):
        StatusSet.parse("2xx")


@pytest.mark.parametrize(
    ("actual", "expected", "holds"),
    [
        (42, 42, True),
        (42, "42", True),
        ("ok", "ok", True),
        (True, True, True),
        (1, True, False),
        (42, ">= 40", True),
        (42, "< 40", False),
        ("v1", "!= v2", True),
        ("abc", "> 3", False),
        (None, "ok", False),
    ],
)
def test_json_expectations(actual: object, expected: object, holds: bool) -> None:
    assert json_expectation_holds(actual, expected) is holds


def test_lookup_and_percentiles() -> None:
    doc = {"a": {"b": [{"c": 1}]}}
    assert lookup(doc, "a.b.0.c") == 1
    with pytest.raises(KeyError):
        lookup(doc, "a.x")
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile([], 50) is None


def test_latency_summary_counts_answered_attempts(service: FakeService) -> None:
    [result] = Prober(
        Timing(timeout=1, interval=0.05, attempt_timeout=0.5, success_threshold=3)
    ).run([Check(url=service.url())])
    summary = latency_summary([result])
    assert summary["count"] == 3
    assert summary["p50"] is not None and summary["p95"] is not None
    assert summary["p50"] <= summary["p95"]  # type: ignore[operator]


def test_budget_is_never_exceeded_with_many_checks(service: FakeService, tmp_path: Path) -> None:
    checks = [
        Check(url=service.url("/slow?ms=900")),
        Check(url=f"http://127.0.0.1:{closed_port()}/"),
    ]
    timing = Timing(timeout=1.0, interval=0.1, attempt_timeout=0.5)
    started = time.monotonic()
    results = Prober(timing).run(checks)
    assert time.monotonic() - started <= timing.timeout + timing.attempt_timeout + 0.3
    assert not any(r.healthy for r in results)
