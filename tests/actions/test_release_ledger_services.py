"""Two services in one ledger and one environment, their releases interleaved: every
release-ledger command answers for the service it is asked about, never the other one.

Through the CLI, against a real bare GitOps remote whose overlay sets both images."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support.cli import CliRun, invoke
from tests.support.gitops import gitops_files, make_remote, show

ENV = "dev"
OVERLAY = f"overlays/{ENV}"
IMAGES = {"api": "registry.local:5000/team/api", "worker": "registry.local:5000/team/worker"}


def digest(service: str, tag: str) -> str:
    """Each service's build of a tag is its own image, even when two share the tag."""
    return "sha256:" + hashlib.sha256(f"{service}:{tag}".encode()).hexdigest()


@dataclass(frozen=True)
class Expected:
    last_good: str | None  # tag of the newest healthy entry; None: refused
    rollback_to: str | None  # tag rollback restores (from what runs now); None: refused
    counts: tuple[int, int, int, int]  # deployments, healthy, failed, pending


# (name, releases in the order they were made: (service, tag, statuses after deployed),
#  what each service's questions answer, worked out by hand)
SCENARIOS: list[tuple[str, list[tuple[str, str, tuple[str, ...]]], dict[str, Expected]]] = [
    (
        "interleaved, each with its own last good",
        [
            ("api", "1.0.0", ("healthy",)),
            ("worker", "2.0.0", ("healthy",)),
            ("api", "1.1.0", ("healthy",)),
            ("worker", "2.1.0", ("failed",)),
            ("api", "1.2.0", ()),
            ("worker", "2.2.0", ()),
        ],
        {
            "api": Expected("1.1.0", "1.1.0", (3, 2, 0, 1)),
            "worker": Expected("2.0.0", "2.0.0", (3, 1, 1, 1)),
        },
    ),
    (
        "the other service's healthy release is the newest",
        [
            ("api", "1.0.0", ("healthy",)),
            ("worker", "2.0.0", ("healthy",)),
            ("worker", "2.1.0", ("healthy",)),
            ("api", "1.1.0", ()),
        ],
        {
            "api": Expected("1.0.0", "1.0.0", (2, 1, 0, 1)),
            "worker": Expected("2.1.0", "2.0.0", (2, 2, 0, 0)),
        },
    ),
    (
        "one service has nothing healthy",
        [
            ("api", "1.0.0", ("healthy",)),
            ("worker", "2.0.0", ("failed",)),
            ("api", "1.1.0", ()),
        ],
        {
            "api": Expected("1.0.0", "1.0.0", (2, 1, 0, 1)),
            "worker": Expected(None, None, (1, 0, 1, 0)),
        },
    ),
    (
        "one version for the repository: the same tags, each service its own digests",
        [
            ("api", "1.0.0", ("healthy",)),
            ("worker", "1.0.0", ("healthy",)),
            ("worker", "1.1.0", ("healthy",)),
            ("api", "1.1.0", ("failed",)),
        ],
        {
            "api": Expected("1.0.0", "1.0.0", (2, 1, 1, 0)),
            "worker": Expected("1.1.0", "1.0.0", (2, 2, 0, 0)),
        },
    ),
]


@dataclass
class Ledger:
    tmp: Path
    gitops: Path

    def run(self, **inputs: str) -> CliRun:
        args: list[str] = []
        for name, value in {**inputs, "repository": str(self.gitops)}.items():
            args += [f"--{name.replace('_', '-')}", value]
        return invoke(self.tmp / "runs", "release-ledger", args)

    def ok(self, **inputs: str) -> CliRun:
        done = self.run(**inputs)
        assert done.code == 0, done.log
        return done

    def lines(self, service: str) -> str:
        return show(self.gitops, f".ci-ledger/{ENV}/{service}.jsonl")

    def overlay(self) -> dict[str, dict[str, str]]:
        images = yaml.safe_load(show(self.gitops, f"{OVERLAY}/kustomization.yaml"))["images"]
        return {i["name"]: i for i in images}


@pytest.mark.parametrize(("name", "releases", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_two_services_in_one_environment_keep_their_own_history(
    tmp_path: Path,
    name: str,
    releases: list[tuple[str, str, tuple[str, ...]]],
    expected: dict[str, Expected],
) -> None:
    led = Ledger(tmp_path, make_remote(tmp_path, gitops_files((ENV,))))
    ids: dict[str, list[str]] = {service: [] for service in IMAGES}
    for service, tag, statuses in releases:
        image = f"{IMAGES[service]}:{tag}@{digest(service, tag)}"
        entry = led.ok(
            command="record", service=service, environment=ENV, image=image, status="deployed"
        ).outputs["id"]
        ids[service].append(entry)
        for status in statuses:
            led.ok(command="set-status", id=entry, status=status)

    # record: every entry in its own service's file, nothing of the other one
    for service in IMAGES:
        written = [json.loads(line) for line in led.lines(service).splitlines()]
        assert {w["id"] for w in written} == set(ids[service])
        assert {w["service"] for w in written if w["type"] == "entry"} == {service}

    # stats and the delivery metrics: one row per service, counted over its own releases
    stats = {s["service"]: s for s in json.loads(led.ok(command="stats").outputs["stats"])}
    assert set(stats) == set(IMAGES)
    for service, want in expected.items():
        got = stats[service]
        _, healthy, failed, pending = want.counts
        assert (got["deployments"], got["succeeded"], got["failed"], got["pending"]) == (
            want.counts
        ), service
        assert got["change-failure-rate"]["failed"] == failed, service
        assert got["change-failure-rate"]["judged"] == healthy + failed, service
        assert got["deployment-frequency"]["count"] == healthy, service
        assert set(got["pending-ids"]) <= set(ids[service]), service
        assert len(got["pending-ids"]) == pending, service

    # last-good and rollback-target: the service's own entry, its own image
    for service, want in expected.items():
        for command, tag in (("last-good", want.last_good), ("rollback-target", want.rollback_to)):
            found = led.run(command=command, service=service, environment=ENV)
            if tag is None:
                assert found.code == 1 and "no healthy entry" in found.log, (service, command)
                continue
            assert found.code == 0, found.log
            assert found.outputs["id"] in ids[service], (service, command)
            assert found.outputs["image"] == (f"{IMAGES[service]}:{tag}@{digest(service, tag)}"), (
                service,
                command,
            )

    # an id of the other service, named with this service: refused, nothing written
    for service in IMAGES:
        other = next(s for s in IMAGES if s != service)
        files = {s: led.lines(s) for s in IMAGES}
        for command, extra in (
            ("set-status", {"status": "failed"}),
            ("rollback", {"paths": OVERLAY}),
        ):
            done = led.run(
                command=command, service=service, environment=ENV, id=ids[other][0], **extra
            )
            assert done.code == 2 and f"no entry {ids[other][0]!r}" in done.log, command
        assert {s: led.lines(s) for s in IMAGES} == files

    # set-status without an id: the newest entry of that service, the other file untouched
    for service in IMAGES:
        other = next(s for s in IMAGES if s != service)
        before = led.lines(other)
        done = led.ok(command="set-status", service=service, environment=ENV, status="failed")
        assert done.outputs["id"] == ids[service][-1]
        assert led.lines(other) == before

    # rollback: the service's own last good image in the shared overlay, nothing else
    for service, want in expected.items():
        other = next(s for s in IMAGES if s != service)
        other_lines, other_image = led.lines(other), led.overlay()[IMAGES[other]]
        done = led.run(
            command="rollback", service=service, environment=ENV, paths=OVERLAY, reason="drill"
        )
        if want.rollback_to is None:
            assert done.code == 1 and "no healthy entry" in done.log, service
        else:
            assert done.code == 0, done.log
            tag = want.rollback_to
            assert done.outputs["image"] == f"{IMAGES[service]}:{tag}@{digest(service, tag)}"
            assert led.overlay()[IMAGES[service]]["digest"] == digest(service, tag)
            restored = json.loads(led.lines(service).splitlines()[-1])
            assert (restored["service"], restored["metadata"]["rollback-of"]) == (
                service,
                ids[service][-1],
            )
        assert led.lines(other) == other_lines
        assert led.overlay()[IMAGES[other]] == other_image
