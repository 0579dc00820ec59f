"""Is one digest the index of the other? Asked of the registry, anonymously.

A runtime may report in `imageID` the digest of the image index it pulled
while a build reports the digest of one platform's manifest, or the other
way round. Both name the same release when the index lists the manifest.
Reads `GET /v2/<repository>/manifests/<digest>` (https, then plain http for
registries that only speak it); a registry that wants credentials or is
unreachable answers nothing, and the digests stay unrelated.
"""

from __future__ import annotations

import requests

from ci_actions import imageref

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
TIMEOUT = 5.0


class IndexLookup:
    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._children: dict[tuple[str, str], frozenset[str]] = {}

    def children(self, name: str, digest: str) -> frozenset[str]:
        """The manifest digests an index lists (empty for a single manifest or no answer)."""
        key = (name, digest)
        if key not in self._children:
            self._children[key] = self._fetch(imageref.ImageRef(name), digest)
        return self._children[key]

    def related(self, name: str, first: str, second: str) -> bool:
        return second in self.children(name, first) or first in self.children(name, second)

    def _fetch(self, ref: imageref.ImageRef, digest: str) -> frozenset[str]:
        if ref.registry == imageref.DOCKER_HUB:
            return frozenset()  # Docker Hub wants a token even for public images
        headers = {"Accept": ", ".join(INDEX_TYPES + MANIFEST_TYPES)}
        for scheme in ("https", "http"):
            url = f"{scheme}://{ref.registry}/v2/{ref.repository}/manifests/{digest}"
            try:
                response = requests.get(url, headers=headers, timeout=self.timeout)
            except requests.RequestException:
                continue
            if response.status_code != 200:
                return frozenset()
            try:
                document = response.json()
            except ValueError:
                return frozenset()
            if document.get("mediaType") in INDEX_TYPES or "manifests" in document:
                return frozenset(str(m.get("digest", "")) for m in document.get("manifests") or [])
            return frozenset()
        return frozenset()
