"""Promotion: put an existing manifest under new tags, byte for byte, so the digest stays."""

from __future__ import annotations

from dataclasses import dataclass, field

from ci_actions.errors import EnvironmentFailure
from ci_actions.registry.client import NotFound, RegistryClient, RegistryError
from ci_actions.registry.manifest import Manifest


class SourceMissing(NotFound):
    """The image to promote is not in the registry."""


class TagsNotKept(EnvironmentFailure):
    """The registry said yes to a tag, yet reading it back shows it missing or elsewhere."""


@dataclass(frozen=True)
class Target:
    repository: str
    tag: str


@dataclass
class Promotion:
    digest: str
    media_type: str
    tagged: list[Target] = field(default_factory=list)
    mounted: list[str] = field(default_factory=list)  # blob digests mounted or copied across repos


def promote(
    client: RegistryClient, source_repo: str, source_ref: str, targets: list[Target]
) -> Promotion:
    """Tag `source_repo:source_ref` (a tag or digest) as every target.

    The manifest's bytes are PUT unchanged, so the digest cannot change; we
    still check what the registry answers. A target in another repository
    first gets the blobs (and, for a list, the child manifests) mounted.
    Every tag is read back after it is written: a registry (or a proxy in
    front of it) can answer 201 and keep nothing. Raises SourceMissing when
    the source does not exist, TagsNotKept naming every tag that did not stay.
    """
    try:
        manifest = client.get_manifest(source_repo, source_ref)
    except NotFound as exc:
        raise SourceMissing(exc.message, status=exc.status, code=exc.code) from None
    result = Promotion(manifest.digest, manifest.media_type)
    prepared: set[str] = {source_repo}
    lost: list[str] = []
    for target in targets:
        if target.repository not in prepared:
            result.mounted += _bring_over(client, manifest, source_repo, target.repository)
            prepared.add(target.repository)
        digest = client.put_manifest(target.repository, target.tag, manifest)
        if digest != manifest.digest:
            raise RegistryError(
                f"registry {client.host}: {target.repository}:{target.tag} got digest {digest}, "
                f"expected {manifest.digest} (the registry rewrote the manifest)"
            )
        kept = client.head_manifest(target.repository, target.tag)
        if kept == manifest.digest:
            result.tagged.append(target)
        else:
            lost.append(f"{target.repository}:{target.tag} ({_where(kept)})")
    if lost:
        raise TagsNotKept(
            f"registry {client.host} answered success but did not keep {len(lost)} of "
            f"{len(targets)} tag(s) at {manifest.digest}: {', '.join(lost)}",
            hint="run the promotion again; if it repeats, check the registry's storage "
            "and any proxy in front of it",
        )
    return result


def _where(digest: str | None) -> str:
    return "missing" if digest is None else f"points at {digest}"


def _bring_over(client: RegistryClient, manifest: Manifest, source: str, repo: str) -> list[str]:
    """Make every blob and child manifest of `manifest` present in `repo`."""
    moved: list[str] = []
    for child_digest in manifest.children():
        child = client.get_manifest(source, child_digest)
        moved += _bring_over(client, child, source, repo)
        client.put_manifest(repo, child.digest, child)
    for blob in manifest.blobs():
        if not client.blob_exists(repo, blob):
            client.mount_blob(repo, blob, source)
            moved.append(blob)
    return moved
