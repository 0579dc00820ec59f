"""`kustomize edit set image` arguments and what they do to an image.

The argument forms are kustomize's: `NAME:TAG`, `NAME@DIGEST`,
`NAME:TAG@DIGEST`, `NAME=NEWNAME`, `NAME=NEWNAME:TAG`, `NAME=NEWNAME@DIGEST`,
`NAME=NEWNAME:TAG@DIGEST`; `*` as the new name, tag or digest keeps the
value already in the kustomization. `:` and `@` are looked for only after
the first `/`, so a `host:port` registry is never read as a tag. A bare
`NAME` sets nothing and is refused, as kustomize refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ci_actions.grammar import image_name_error
from ci_actions.imageref import DIGEST_RE, is_valid_tag

KEEP = "*"
FORMS = (
    "NAME:TAG, NAME@DIGEST, NAME:TAG@DIGEST, NAME=NEWNAME, NAME=NEWNAME:TAG, "
    "NAME=NEWNAME@DIGEST or NAME=NEWNAME:TAG@DIGEST (`*` keeps a field)"
)
# The fields of a kustomization `images:` entry that a set replaces.
FIELDS = ("newName", "newTag", "digest")


class ImageArgError(ValueError):
    pass


@dataclass(frozen=True)
class ImageSetting:
    """One `images` argument: which image (`name`) gets what."""

    name: str
    new_name: str = ""
    new_tag: str = ""
    digest: str = ""

    def fields(self) -> dict[str, str]:
        return {"newName": self.new_name, "newTag": self.new_tag, "digest": self.digest}

    def __str__(self) -> str:
        value = (
            (self.new_name or "")
            + (f":{self.new_tag}" if self.new_tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )
        return f"{self.name}={value}" if self.new_name else self.name + value


def split_image(ref: str) -> tuple[str, str, str]:
    """(name, tag, digest) of `ref`; `:` and `@` only count after the first `/`."""
    slash = ref.find("/")
    offset = slash if slash > 0 else 0
    search = ref[offset:]
    at, colon = search.find("@"), search.find(":")
    if at < 0 and colon < 0:
        return ref, "", ""
    if at >= 0 and (colon < 0 or at < colon):
        return ref[: offset + at], "", ref[offset + at + 1 :]
    if at >= 0:
        return ref[: offset + colon], ref[offset + colon + 1 : offset + at], ref[offset + at + 1 :]
    return ref[: offset + colon], ref[offset + colon + 1 :], ""


def parse_image_arg(arg: str) -> ImageSetting:
    text = arg.strip()
    if not text or any(c.isspace() for c in text):
        raise ImageArgError(f"{arg!r} is not an image argument; use {FORMS}")
    key, sep, value = text.partition("=")
    if not sep:
        key, value = "", text
    name, tag, digest = split_image(value)
    if not sep and name == text:
        raise ImageArgError(f"{arg!r} sets neither a new name, a tag nor a digest; use {FORMS}")
    if sep and (not key or not name):
        raise ImageArgError(f"{arg!r}: both sides of `=` must be given; use {FORMS}")
    if not name or name.endswith("/") or (name == KEEP and not sep):
        raise ImageArgError(f"{arg!r}: empty or invalid image name; use {FORMS}")
    if tag and tag != KEEP and not is_valid_tag(tag):
        raise ImageArgError(
            f"{arg!r}: {tag!r} is not a valid tag (letters, digits, `_`, `.`, `-`; at most 128)"
        )
    if digest and digest != KEEP and not DIGEST_RE.match(digest):
        raise ImageArgError(f"{arg!r}: {digest!r} is not a digest (want sha256:<64 hex>)")
    if name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "") != value:
        raise ImageArgError(f"{arg!r}: empty tag or digest; use {FORMS}")
    for image in (key, name) if sep else (name,):
        if image != KEEP and (error := image_name_error(image)):
            raise ImageArgError(f"{arg[:80]!r}: image name {image[:80]!r} {error}")
    if sep:
        return ImageSetting(key, name, tag, digest)
    return ImageSetting(name, "", tag, digest)


def merge_entry(setting: ImageSetting, existing: dict[str, str]) -> dict[str, str]:
    """The fields an `images:` entry has after the set: the entry is replaced whole,
    a `*` field keeps the existing value (or is dropped when there is none)."""
    merged: dict[str, str] = {}
    for field, value in setting.fields().items():
        if value == KEEP:
            value = existing.get(field, "")
        if value:
            merged[field] = value
    return merged


def entry_reference(name: str, fields: dict[str, str]) -> str:
    """What an `images:` entry makes of the image, as far as the entry alone says."""
    return (
        (fields.get("newName") or name)
        + (f":{fields['newTag']}" if fields.get("newTag") else "")
        + (f"@{fields['digest']}" if fields.get("digest") else "")
    )


def matches(ref: str, name: str) -> bool:
    """Does the image reference `ref` name the image `name` (registry and port included)?"""
    return split_image(ref)[0] == name


def apply_to_reference(setting: ImageSetting, ref: str) -> str:
    """The reference kustomize's image transformer makes of `ref` with this setting.

    A new tag drops the old digest, a new digest drops the old tag, both set
    both; `*` (nothing to keep from outside a kustomization) counts as unset.
    """
    name, tag, digest = split_image(ref)
    new_name, new_tag, new_digest = (
        "" if v == KEEP else v for v in (setting.new_name, setting.new_tag, setting.digest)
    )
    if new_name:
        name = new_name
    if new_tag and new_digest:
        tag, digest = new_tag, new_digest
    elif new_tag:
        tag, digest = new_tag, ""
    elif new_digest:
        tag, digest = "", new_digest
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
