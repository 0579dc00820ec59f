"""Manifest media types and what a manifest references."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

IMAGE_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
LIST_TYPES = (DOCKER_LIST, OCI_INDEX)
# Every type we can copy, so the registry never down-converts to schema 1.
ACCEPT = ", ".join((*IMAGE_TYPES, *LIST_TYPES))


def sha256_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry serves it: its bytes define its digest."""

    media_type: str
    body: bytes
    digest: str

    @property
    def document(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def is_list(self) -> bool:
        return self.media_type in LIST_TYPES

    def blobs(self) -> list[str]:
        """Digests of the config and layers of an image manifest (none for a list)."""
        if self.is_list:
            return []
        doc = self.document
        found = [doc["config"]["digest"]] if "config" in doc else []
        return found + [layer["digest"] for layer in doc.get("layers", [])]

    def children(self) -> list[str]:
        """Digests of the manifests a list or index points at."""
        return [m["digest"] for m in self.document.get("manifests", [])] if self.is_list else []

    def size(self) -> int:
        """Bytes of config and layers (image manifests; 0 for lists)."""
        if self.is_list:
            return 0
        doc = self.document
        parts = [doc.get("config", {}), *doc.get("layers", [])]
        return sum(int(p.get("size", 0)) for p in parts)
