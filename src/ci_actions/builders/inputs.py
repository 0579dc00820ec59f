"""Checks of image references and `key=value` lists shared by image-build and image-promote."""

from __future__ import annotations

import re

from ci_actions import grammar
from ci_actions.errors import InputError
from ci_actions.imageref import DOCKER_HUB, ImageRef, ImageRefError, parse

# Docker's grammar: path components are lower-case alphanumerics joined by `.`, `_`, `__` or `-`s.
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
TAG_HINT = "use REGISTRY/NAME:TAG, tag of up to 128 of [A-Za-z0-9_.-] not starting with . or -"


def image_ref(input_name: str, text: str, *, registry: str = "") -> ImageRef:
    """Parse `text`, putting `registry` in front when it names none, and check Docker's grammar."""
    try:
        ref = parse(text)
        if registry and ref.registry == DOCKER_HUB and not text.startswith(f"{DOCKER_HUB}/"):
            ref = parse(f"{registry}/{text}")
    except ImageRefError as exc:
        raise InputError(input_name, str(exc), hint=TAG_HINT) from None
    for component in ref.repository.split("/"):
        if not _COMPONENT.match(component):
            raise InputError(
                input_name,
                f"{text!r}: repository component {component!r} is not valid",
                hint="lower-case letters, digits and single . _ or - between them",
            )
    if error := grammar.image_error(str(ref)):  # the one grammar, with its length bounds
        raise InputError(input_name, f"{text[:80]!r}: {error[:200]}", hint=TAG_HINT)
    return ref


def key_values(input_name: str, items: list[str]) -> list[tuple[str, str]]:
    """`KEY=VALUE` items (the value may hold `=`)."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(input_name, f"{item!r} is not KEY=VALUE", hint="one KEY=VALUE a line")
        pairs.append((key.strip(), value))
    return pairs
