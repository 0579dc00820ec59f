"""The registry client and promotion against a real docker-registry behind a faulty proxy.

A registry that answers 201 and keeps nothing, a 5xx or a reset on any one
request, a 429 with Retry-After, a full disk: promotion either ends with
every tag read back at the source digest, or fails naming what is missing
and what the registry said.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_actions.builders.execute import read_back
from ci_actions.registry.client import RegistryClient, RegistryError, Retry
from ci_actions.registry.promote import TagsNotKept, Target, promote
from tests.support.cli import invoke
from tests.support.faulty_proxy import Fault, FaultyProxy, drop_manifest_puts
from tests.support.registry import Registry

TAGS = ["t1", "t2", "t3", "t4", "t5"]
FULL_DISK = json.dumps(
    {
        "errors": [
            {
                "code": "UNKNOWN",
                "message": "unknown error",
                "detail": "filesystem: write /var/lib/registry/docker/registry/v2/blobs: "
                "no space left on device",
            }
        ]
    }
).encode()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def quick_client(host: str, sleeps: Sleeps, **retry: float) -> RegistryClient:
    policy = Retry(rng=random.Random(7), sleep=sleeps, **retry)  # type: ignore[arg-type]
    return RegistryClient(host, insecure=True, timeout=5, retry=policy)


@pytest.fixture
def seeded(registry: Registry) -> Iterator[tuple[Registry, str]]:
    yield registry, registry.upload_image("team/app", "sha-abc")


@pytest.mark.parametrize(
    "dropped",
    [{"t2"}, {"t1", "t5"}, {"t2", "t4"}, set(TAGS)],
    ids=["one", "first-and-last", "two", "all"],
)
def test_promote_fails_naming_every_tag_the_registry_answered_but_did_not_keep(
    seeded: tuple[Registry, str], dropped: set[str]
) -> None:
    registry, digest = seeded
    sleeps = Sleeps()
    with (
        FaultyProxy(registry.host, drop=drop_manifest_puts(dropped)) as proxy,
        pytest.raises(TagsNotKept) as failed,
    ):
        promote(
            quick_client(proxy.host, sleeps),
            "team/app",
            "sha-abc",
            [Target("team/app", t) for t in TAGS],
        )
    assert len(proxy.dropped) == len(dropped)
    message = str(failed.value)
    for tag in TAGS:
        kept = registry.digest("team/app", tag)
        assert (f"team/app:{tag} (missing)" in message) == (tag in dropped)
        assert kept == (None if tag in dropped else digest)
    assert f"{len(dropped)} of 5 tag(s)" in message


def test_promote_names_a_tag_the_registry_keeps_at_another_digest(
    seeded: tuple[Registry, str],
) -> None:
    registry, digest = seeded
    other = registry.upload_image("team/app", "t3", b"an older image")
    with (
        FaultyProxy(registry.host, drop=drop_manifest_puts({"t3"})) as proxy,
        pytest.raises(TagsNotKept, match=f"team/app:t3 \\(points at {other}\\)"),
    ):
        promote(
            quick_client(proxy.host, Sleeps()), "team/app", "sha-abc", [Target("team/app", "t3")]
        )
    assert registry.digest("team/app", "t3") == other != digest


def test_image_promote_exits_3_naming_the_lost_tags(tmp_path: Path, registry: Registry) -> None:
    registry.upload_image("api", "1.0")
    with FaultyProxy(registry.host, drop=drop_manifest_puts({"stable"})) as proxy:
        run = invoke(
            tmp_path,
            "image-promote",
            ["--source", f"{proxy.host}/api:1.0", "--tags", "v1,stable,prod", "--insecure", "true"],
        )
    assert run.code == 3, run.log
    assert "api:stable (missing)" in run.log
    assert "api:v1 (" not in run.log and "api:prod (" not in run.log
    assert registry.tags("api") == ["1.0", "prod", "v1"]


def _requests_of_a_clean_promotion(registry: Registry) -> int:
    with FaultyProxy(registry.host) as proxy:
        promote(
            quick_client(proxy.host, Sleeps()), "team/app", "sha-abc", [Target("release/app", "1")]
        )
    return len(proxy.requests)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(500, b"Internal Server Error"),
        Fault(502),
        Fault(503, headers={"Retry-After": "1"}),
        Fault(429, headers={"Retry-After": "1"}),
        Fault(0),
    ],
    ids=["500", "502", "503-retry-after", "429-retry-after", "reset"],
)
def test_one_transient_failure_on_any_request_is_tried_again(
    seeded: tuple[Registry, str], fault: Fault
) -> None:
    registry, digest = seeded
    total = _requests_of_a_clean_promotion(registry)  # into another repository: mounts too
    assert total == 7  # GET source, HEAD and mount two blobs, PUT, HEAD to read back
    for number in range(1, total + 1):
        sleeps = Sleeps()
        repo = f"release{number}/app"
        with FaultyProxy(registry.host, faults={number: fault}) as proxy:
            done = promote(
                quick_client(proxy.host, sleeps), "team/app", "sha-abc", [Target(repo, "1")]
            )
        assert done.digest == digest
        assert registry.digest(repo, "1") == digest, f"fault on request {number}"
        assert len(sleeps) == 1, f"fault on request {number}: {proxy.requests}"
        if "Retry-After" in fault.headers:
            assert sleeps == [1.0]


def test_retry_after_is_honoured_up_to_a_cap(seeded: tuple[Registry, str]) -> None:
    registry, _ = seeded
    sleeps = Sleeps()
    busy = Fault(429, b"slow down", {"Retry-After": "3600"})
    with FaultyProxy(registry.host, faults={1: busy, 2: busy}) as proxy:
        client = quick_client(proxy.host, sleeps, max_retry_after=2.5)
        assert client.head_manifest("team/app", "sha-abc") is not None
    assert sleeps == [2.5, 2.5]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (FULL_DISK, "UNKNOWN: unknown error"),
        (
            b"disk quota exceeded on /var/lib/registry\n<html>...",
            "disk quota exceeded on /var/lib/registry",
        ),
        (b"x" * 5000, "x" * 200),
    ],
    ids=["oci-error-json", "text", "long-text"],
)
def test_a_persistent_5xx_fails_after_the_retries_naming_what_the_registry_said(
    seeded: tuple[Registry, str], body: bytes, said: str
) -> None:
    registry, _ = seeded
    sleeps = Sleeps()

    def full_disk(number: int, method: str, path: str) -> Fault | None:
        return Fault(500, body) if method == "PUT" else None

    with (
        FaultyProxy(registry.host, faults=full_disk) as proxy,
        pytest.raises(RegistryError) as failed,
    ):
        promote(
            quick_client(proxy.host, sleeps, attempts=3),
            "team/app",
            "sha-abc",
            [Target("team/app", "prod")],
        )
    message = str(failed.value)
    assert "HTTP 500" in message and said in message
    assert "x" * 201 not in message
    if body == FULL_DISK:
        assert "no space left on device" in message
    assert [m for m, _ in proxy.requests].count("PUT") == 3
    assert len(sleeps) == 2
    assert registry.digest("team/app", "prod") is None


def test_backoff_grows_and_is_capped(seeded: tuple[Registry, str]) -> None:
    registry, _ = seeded
    sleeps = Sleeps()
    with FaultyProxy(registry.host, faults=lambda n, m, p: Fault(503)) as proxy:
        client = quick_client(proxy.host, sleeps, attempts=6, base_delay=1.0, max_delay=4.0)
        with pytest.raises(RegistryError, match="HTTP 503"):
            client.get_manifest("team/app", "sha-abc")
    assert len(proxy.requests) == 6
    bounds = [(0.5 * d, 1.5 * d) for d in (1.0, 2.0, 4.0, 4.0, 4.0)]
    assert all(lo <= s <= hi for s, (lo, hi) in zip(sleeps, bounds, strict=True)), sleeps


def test_image_build_read_back_rides_out_a_500_and_a_reset(seeded: tuple[Registry, str]) -> None:
    registry, digest = seeded
    registry.upload_image("team/app", "latest")  # another digest: read back checks each tag
    faults = {1: Fault(500), 3: Fault(0)}
    with FaultyProxy(registry.host, faults=faults) as proxy:
        tags = [f"{proxy.host}/team/app:sha-abc"]
        sleeps = Sleeps()
        retry = Retry(rng=random.Random(1), sleep=sleeps)
        found, size = read_back(tags, [proxy.host], None, retry)
    assert found == digest and size > 0
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 90.0),  # RFC 9110's example date, 90 s from "now"
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(header: str, seconds: float | None) -> None:
    from ci_actions.registry.client import retry_after_seconds

    now = 1445412480.0 - 90  # 2015-10-21T07:28:00Z minus 90 s
    assert retry_after_seconds(header, now=lambda: now) == seconds
