"""Setter markers, the flux image-automation convention.

A line comment `# {"$imagepolicy": "NS:POLICY"}` after a scalar marks it as
a whole image reference; `NS:POLICY:tag`, `:name` and `:digest` mark a scalar
holding only that part. A marker belongs to the image argument whose name is
the marked reference's name (for `:tag`/`:digest`, the reference of the
`:name` marker in the same mapping), or else whose last path segment is
POLICY.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode

from ci_actions.kustomize.kustfile import ImageChange
from ci_actions.kustomize.setimage import KEEP, ImageSetting, apply_to_reference, split_image
from ci_actions.kustomize.spans import Edit, replace_scalar, walk

MARKER_RE = re.compile(r'#\s*(\{\s*"\$imagepolicy"\s*:\s*"[^"]*"\s*\})')
PARTS = ("tag", "name", "digest")


@dataclass(frozen=True)
class Marker:
    scalar: ScalarNode
    policy: str  # POLICY of NS:POLICY
    part: str  # "" (whole reference), "tag", "name" or "digest"
    parent: MappingNode | None


def find_markers(text: str, docs: Sequence[Node | None]) -> list[Marker]:
    """Each marker comment with the scalar that ends just before it on its line."""
    if "$imagepolicy" not in text:
        return []
    by_line: dict[int, list[tuple[ScalarNode, MappingNode | None]]] = {}
    for doc in docs:
        for node in walk(doc):
            if isinstance(node, MappingNode):
                for _, value in node.value:
                    if isinstance(value, ScalarNode) and value.style not in ("|", ">"):
                        by_line.setdefault(int(value.end_mark.line), []).append((value, node))
    markers: list[Marker] = []
    offset = 0
    for number, line in enumerate(text.split("\n")):
        for match in MARKER_RE.finditer(line):
            at = offset + match.start()
            before = [(s, p) for s, p in by_line.get(number, []) if s.end_mark.index <= at]
            if not before:
                continue
            scalar, parent = max(before, key=lambda sp: int(sp[0].end_mark.index))
            if text[int(scalar.end_mark.index) : at].strip():
                continue  # something else sits between the value and the comment
            try:
                ref = str(json.loads(match.group(1))["$imagepolicy"])
            except (ValueError, KeyError):
                continue
            pieces = ref.split(":")
            part = pieces[2] if len(pieces) == 3 and pieces[2] in PARTS else ""
            if len(pieces) >= 2:
                markers.append(Marker(scalar, pieces[1], part, parent))
        offset += len(line) + 1
    return markers


def _named(markers: list[Marker], marker: Marker) -> str:
    """The image name a marker stands for, when the file says it."""
    if marker.part in ("", "name"):
        return split_image(str(marker.scalar.value))[0]
    for other in markers:
        if other.parent is marker.parent and other.policy == marker.policy and other.part == "name":
            return str(other.scalar.value)
    return ""


def _belongs(setting: ImageSetting, name: str, policy: str) -> bool:
    return name == setting.name or (not name and setting.name.rsplit("/", 1)[-1] == policy)


def set_images(
    text: str, docs: Sequence[Node | None], settings: Sequence[ImageSetting]
) -> tuple[list[Edit], list[ImageChange]]:
    markers = find_markers(text, docs)
    edits: list[Edit] = []
    changes: list[ImageChange] = []
    for marker in markers:
        name = _named(markers, marker)
        setting = next((s for s in settings if _belongs(s, name, marker.policy)), None)
        if setting is None:
            continue
        current = str(marker.scalar.value)
        if marker.part == "":
            new = apply_to_reference(setting, current)
        else:
            value = {"tag": setting.new_tag, "name": setting.new_name, "digest": setting.digest}[
                marker.part
            ]
            new = current if value in ("", KEEP) else value
        if new != current:
            edits.append(replace_scalar(marker.scalar, new))
        line = int(marker.scalar.start_mark.line) + 1
        changes.append(
            ImageChange(setting.name, current if marker.part == "" else "", new, line, marker=True)
        )
    return edits, changes
