"""Image references: `REGISTRY[:PORT]/PATH[:TAG][@sha256:DIGEST]`.

`:` and `@` are only looked for after the first `/`, so a `host:port`
registry is never read as a tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
DOCKER_HUB = "docker.io"


class ImageRefError(ValueError):
    pass


@dataclass(frozen=True)
class ImageRef:
    name: str  # everything before the tag and digest, e.g. `127.0.0.1:5000/team/app`
    tag: str = ""
    digest: str = ""

    @property
    def registry(self) -> str:
        """The registry host (with port) when the name has one, else docker.io."""
        first, sep, _ = self.name.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            return first
        return DOCKER_HUB

    @property
    def repository(self) -> str:
        """The path inside the registry (`library/` added for Docker Hub short names)."""
        first, sep, rest = self.name.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            return rest
        return self.name if "/" in self.name else f"library/{self.name}"

    def with_tag(self, tag: str) -> ImageRef:
        return replace(self, tag=tag, digest="")

    def pinned(self, digest: str) -> ImageRef:
        """`name@digest`, the form `image-ref` outputs use."""
        return ImageRef(self.name, "", digest)

    def __str__(self) -> str:
        return (
            self.name
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )


def parse(text: str) -> ImageRef:
    ref = text.strip()
    if not ref or any(c.isspace() for c in ref):
        raise ImageRefError(f"{text!r} is not an image reference")
    slash = ref.find("/")
    start = slash + 1 if slash >= 0 else 0
    name, digest, tag = ref, "", ""
    at = ref.find("@", start)
    if at >= 0:
        name, digest = ref[:at], ref[at + 1 :]
        if not DIGEST_RE.match(digest):
            raise ImageRefError(f"{text!r}: {digest!r} is not a digest (want sha256:<64 hex>)")
    colon = name.rfind(":", start)
    if colon >= 0:
        name, tag = name[:colon], name[colon + 1 :]
        if not TAG_RE.match(tag):
            raise ImageRefError(f"{text!r}: {tag!r} is not a valid tag")
    if not name or name.endswith("/") or "//" in name:
        raise ImageRefError(f"{text!r}: empty repository name")
    return ImageRef(name, tag, digest)


def is_valid_tag(tag: str) -> bool:
    return TAG_RE.match(tag) is not None
