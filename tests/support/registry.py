"""Debian's `docker-registry` on 127.0.0.1, a free port and a temp storage dir.

    def test_x(registry):            # anonymous
        registry.url                  # "http://127.0.0.1:PORT"
        registry.host                 # "127.0.0.1:PORT"
        registry.tags("app")          # ["1.0", "latest"]
        registry.digest("app", "1.0") # "sha256:..." or None

`registry_auth` is the same with htpasswd basic auth (`.username`,
`.password`); `registry_token` (tests/support/token_server.py) uses the
bearer-token flow. `registry.upload_image(repo, tag)` seeds an image with
plain API calls; `registry.blob_uploads()` counts completed blob uploads.
`running_registry()` starts one outside a fixture (benchmarks, demos).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.tools import require

BINARY = "/usr/bin/docker-registry"
ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
START_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def htpasswd_line(username: str, password: str) -> str:
    """A bcrypt htpasswd entry, as `htpasswd -Bbn` writes it (apache2-utils)."""
    out = subprocess.run(
        ["htpasswd", "-Bbn", username, password], check=True, capture_output=True, text=True
    )
    return out.stdout.strip() + "\n"


@dataclass
class Registry:
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    username: str = ""
    password: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    http_auth: requests.auth.AuthBase | None = None  # how the helpers authenticate, when not basic
    token_server: Any = None  # the fake token server of a token-mode registry

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def auth(self) -> tuple[str, str] | requests.auth.AuthBase | None:
        if self.http_auth is not None:
            return self.http_auth
        return (self.username, self.password) if self.username else None

    def get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(self.url + path, headers=headers, auth=self.auth, timeout=10)

    def tags(self, repo: str) -> list[str]:
        resp = self.get(f"/v2/{repo}/tags/list")
        if resp.status_code == 404:
            return []
        resp.raise_for_status()
        return sorted(resp.json().get("tags") or [])

    def digest(self, repo: str, tag: str) -> str | None:
        resp = requests.head(
            f"{self.url}/v2/{repo}/manifests/{tag}",
            headers={"Accept": ACCEPT},
            auth=self.auth,
            timeout=10,
        )
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.headers["Docker-Content-Digest"]

    # -- seeding images without a builder (plain API calls) -------------------
    def upload_blob(self, repo: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = requests.post(f"{self.url}/v2/{repo}/blobs/uploads/", auth=self.auth, timeout=10)
        start.raise_for_status()
        location = start.headers["Location"]
        url = location if location.startswith("http") else self.url + location
        sep = "&" if "?" in url else "?"
        put = requests.put(f"{url}{sep}digest={digest}", data=data, auth=self.auth, timeout=10)
        put.raise_for_status()
        return digest

    def put_manifest(self, repo: str, ref: str, document: dict[str, Any]) -> str:
        body = json.dumps(document, indent=3).encode()  # unusual spacing: bytes must be kept
        resp = requests.put(
            f"{self.url}/v2/{repo}/manifests/{ref}",
            data=body,
            headers={"Content-Type": document["mediaType"]},
            auth=self.auth,
            timeout=10,
        )
        resp.raise_for_status()
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def upload_image(
        self, repo: str, tag: str, content: bytes = b"hello", *, docker: bool = False
    ) -> str:
        """A one-layer image; OCI media types, or Docker v2 with docker=True. Returns its digest."""
        config = json.dumps(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        ).encode()
        layer = content
        kind = "docker" if docker else "oci"
        types = {
            "oci": (
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.oci.image.config.v1+json",
                "application/vnd.oci.image.layer.v1.tar",
            ),
            "docker": (
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.docker.container.image.v1+json",
                "application/vnd.docker.image.rootfs.diff.tar",
            ),
        }[kind]
        document = {
            "schemaVersion": 2,
            "mediaType": types[0],
            "config": {
                "mediaType": types[1],
                "digest": self.upload_blob(repo, config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": types[2], "digest": self.upload_blob(repo, layer), "size": len(layer)}
            ],
        }
        return self.put_manifest(repo, tag, document)

    def upload_index(
        self, repo: str, tag: str, children: list[str], *, docker: bool = False
    ) -> str:
        """A manifest list (docker=True) or OCI index over manifests already in `repo`."""
        media = (
            "application/vnd.docker.distribution.manifest.list.v2+json"
            if docker
            else "application/vnd.oci.image.index.v1+json"
        )
        child_type = (
            "application/vnd.docker.distribution.manifest.v2+json"
            if docker
            else "application/vnd.oci.image.manifest.v1+json"
        )
        entries = []
        for arch, digest in zip(("amd64", "arm64", "s390x"), children, strict=False):
            size = len(self.get(f"/v2/{repo}/manifests/{digest}", Accept=ACCEPT).content)
            entries.append(
                {
                    "mediaType": child_type,
                    "digest": digest,
                    "size": size,
                    "platform": {"architecture": arch, "os": "linux"},
                }
            )
        return self.put_manifest(
            repo, tag, {"schemaVersion": 2, "mediaType": media, "manifests": entries}
        )

    def log(self) -> str:
        return (self.root / "registry.log").read_text(errors="replace")

    def blob_uploads(self, repo: str = "") -> int:
        """Completed blob uploads (monolithic or chunked), from the access log."""
        pattern = re.compile(
            r'"PUT /v2/'
            + (re.escape(repo) if repo else r"\S+")
            + r'/blobs/uploads/\S* HTTP/[\d.]+" 201'
        )
        return len(pattern.findall(self.log()))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @classmethod
    def start(
        cls, root: Path, *, username: str = "", password: str = "", auth_yaml: str = ""
    ) -> Registry:
        """Start a registry storing under `root`; basic auth when a username is given."""
        if not Path(BINARY).exists():
            require("docker-registry")  # skips (fails in scripts/test) when it is not installed
            pytest.fail(f"docker-registry is installed, but not as {BINARY}")
        root.mkdir(parents=True, exist_ok=True)
        if username:
            (root / "htpasswd").write_text(htpasswd_line(username, password))
            auth_yaml = (
                f"auth:\n  htpasswd:\n    realm: ci-actions-test\n    path: {root / 'htpasswd'}\n"
            )
        for _attempt in range(3):  # the free port can be taken between probe and bind
            port = free_port()
            config = root / "config.yml"
            config.write_text(
                "version: 0.1\n"
                "log:\n  level: info\n  accesslog:\n    disabled: false\n"
                f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n"
                "  delete:\n    enabled: true\n"
                f"http:\n  addr: 127.0.0.1:{port}\n" + auth_yaml
            )
            log = (root / "registry.log").open("ab")
            process = subprocess.Popen(
                [BINARY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
            registry = cls(root, port, process, username, password)
            if registry._wait_ready():
                return registry
            registry.stop()
        raise RuntimeError(f"docker-registry did not start; log:\n{registry.log()[-3000:]}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/v2/", timeout=1).status_code in (200, 401):
                    return True
            time.sleep(0.05)
        return False


@contextlib.contextmanager
def running_registry(**kwargs: str) -> Iterator[Registry]:
    root = Path(tempfile.mkdtemp(prefix="registry-"))
    registry = Registry.start(root, **kwargs)
    try:
        yield registry
    finally:
        registry.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def registry() -> Iterator[Registry]:
    """An anonymous registry, stopped when the test ends."""
    with running_registry() as reg:
        yield reg


@pytest.fixture
def registry_auth() -> Iterator[Registry]:
    """A registry behind htpasswd basic auth (`.username`, `.password`)."""
    with running_registry(username="ci", password="s3cret-Pa55word") as reg:
        yield reg
