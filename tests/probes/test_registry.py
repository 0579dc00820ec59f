"""Index and platform digests, told apart by a real registry (docker-registry on
127.0.0.1) holding a two-platform index pushed by buildah."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ci_actions.probes.images import check_pods, parse_expected
from ci_actions.probes.registry import INDEX_TYPES, IndexLookup
from tests.support.fake_service import closed_port
from tests.support.tools import needs

pytestmark = needs("docker-registry", "buildah")


@dataclass
class Pushed:
    name: str  # 127.0.0.1:PORT/team/web
    index: str
    platforms: list[str]


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    root = tmp_path_factory.mktemp("registry")
    port = closed_port()
    config = root / "config.yml"
    config.write_text(
        f"version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: {{rootdirectory: {root / 'data'}}}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    registry = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        store = [
            "--storage-driver",
            "vfs",
            "--root",
            str(root / "storage"),
            "--runroot",
            str(root / "run"),
        ]

        def buildah(*args: str) -> str:
            done = subprocess.run(
                ["buildah", *store, *args], capture_output=True, text=True, check=True
            )
            return done.stdout.strip()

        for arch in ("amd64", "arm64"):
            container = buildah("from", "--arch", arch, "scratch")
            buildah("config", "--arch", arch, "--label", f"arch={arch}", container)
            buildah("commit", "-q", container, f"img-{arch}")
        buildah("manifest", "create", "release")
        buildah("manifest", "add", "release", "img-amd64")
        buildah("manifest", "add", "--arch", "arm64", "release", "img-arm64")
        name = f"127.0.0.1:{port}/team/web"
        buildah(
            "manifest", "push", "--all", "--tls-verify=false", "release", f"docker://{name}:1.0"
        )
        response = requests.get(
            f"http://127.0.0.1:{port}/v2/team/web/manifests/1.0",
            headers={"Accept": ", ".join(INDEX_TYPES)},
            timeout=5,
        )
        index = response.headers["Docker-Content-Digest"]
        platforms = [m["digest"] for m in response.json()["manifests"]]
        yield Pushed(name, index, platforms)
    finally:
        registry.terminate()
        registry.wait(10)


def pod(image: str, image_id: str) -> dict[str, object]:
    return {
        "metadata": {"name": "web-1"},
        "status": {"containerStatuses": [{"name": "app", "image": image, "imageID": image_id}]},
    }


def test_children_of_an_index_and_of_a_manifest(pushed: Pushed) -> None:
    lookup = IndexLookup()
    assert lookup.children(pushed.name, pushed.index) == frozenset(pushed.platforms)
    assert lookup.children(pushed.name, pushed.platforms[0]) == frozenset()


def test_index_digest_expected_platform_digest_running(pushed: Pushed) -> None:
    expected = parse_expected([f"{pushed.name}@{pushed.index}"])
    running = pod(f"{pushed.name}:1.0", f"{pushed.name}@{pushed.platforms[0]}")
    assert check_pods(expected, [running]) != [], "without the registry the digests differ"
    assert check_pods(expected, [running], IndexLookup().related) == []


def test_platform_digest_expected_index_digest_running(pushed: Pushed) -> None:
    expected = parse_expected([f"{pushed.name}@{pushed.platforms[1]}"])
    running = pod(f"{pushed.name}:1.0", f"docker-pullable://{pushed.name}@{pushed.index}")
    assert check_pods(expected, [running], IndexLookup().related) == []


def test_an_unrelated_digest_still_fails(pushed: Pushed) -> None:
    expected = parse_expected([f"{pushed.name}@sha256:{'e' * 64}"])
    running = pod(f"{pushed.name}:1.0", f"{pushed.name}@{pushed.index}")
    assert len(check_pods(expected, [running], IndexLookup().related)) == 1


def test_unreachable_registry_relates_nothing(tmp_path: Path) -> None:
    name = f"127.0.0.1:{closed_port()}/team/web"
    assert not IndexLookup(timeout=1).related(name, "sha256:" + "a" * 64, "sha256:" + "b" * 64)
