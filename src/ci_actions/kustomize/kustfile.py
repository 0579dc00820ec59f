"""`images:` of a kustomization, edited as `kustomize edit set image` would.

An entry with the argument's name is replaced whole (a `*` field keeps its
old value); a new entry goes where sorting by name puts it; a missing
`images:` is created. Unlike kustomize, which re-writes the whole file, only
the changed scalars and lines are touched: comments, order and quoting stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ci_actions.kustomize.setimage import FIELDS, ImageSetting, entry_reference, merge_entry
from ci_actions.kustomize.spans import (
    Edit,
    YamlFileError,
    content_end,
    get,
    is_null,
    line_end,
    line_of,
    line_start,
    next_line_start,
    render_scalar,
    replace_scalar,
    scalar_text,
)

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class ImageChange:
    """What one setting did at one place of a file."""

    name: str
    previous: str  # "" when the image had no value here before
    current: str
    line: int
    marker: bool = False  # set at a setter marker, not by the kustomize semantics


@dataclass(frozen=True)
class _Entry:
    node: MappingNode
    name: str
    pairs: tuple[tuple[ScalarNode, Node], ...]
    fields: dict[str, str]  # the non-null values, by key


def set_images(
    text: str, rel: str, composed: Sequence[Node | None], settings: Sequence[ImageSetting]
) -> tuple[list[Edit], list[ImageChange]]:
    """The edits that set every image of `settings` in this kustomization text
    (`composed`: its documents, from spans.compose_documents)."""
    wanted = {s.name: s for s in settings}  # the last argument for a name wins
    docs = [d for d in composed if d is not None]
    if len(docs) > 1:
        raise YamlFileError(
            rel, line_of(docs[1]), "holds several documents; a kustomization is one"
        )
    root = docs[0] if docs else None
    if root is not None and not isinstance(root, MappingNode):
        raise YamlFileError(
            rel, line_of(root), "is not a mapping (a kustomization is a YAML mapping)"
        )
    pair = get(root, "images") if root is not None else None
    if pair is None:
        return _create_images(text, root, list(wanted.values()))
    key, value = pair
    if is_null(value) or (isinstance(value, SequenceNode) and not value.value):
        return _fill_empty(text, key, value, list(wanted.values()), _sequence_indent(root))
    if not isinstance(value, SequenceNode):
        raise YamlFileError(rel, line_of(value), "`images` is not a list of image entries")
    entries = [_entry(rel, item) for item in value.value]
    if value.flow_style:
        return _rewrite_flow(value, entries, list(wanted.values()))
    edits: list[Edit] = []
    changes: list[ImageChange] = []
    new: list[ImageSetting] = []
    for setting in wanted.values():
        found = [e for e in entries if e.name == setting.name]
        if not found:
            new.append(setting)
        for entry in found:
            fields = merge_entry(setting, entry.fields)
            edits += _entry_edits(text, entry, fields)
            changes.append(
                ImageChange(
                    setting.name,
                    entry_reference(entry.name, entry.fields),
                    entry_reference(setting.name, fields),
                    line_of(entry.node),
                )
            )
    edits += _insert_entries(text, value, entries, new)
    changes += [_added(s, line_of(value)) for s in new]
    return edits, changes


def _entry(rel: str, item: Node) -> _Entry:
    if not isinstance(item, MappingNode):
        raise YamlFileError(rel, line_of(item), "an `images` entry is not a mapping")
    pairs: list[tuple[ScalarNode, Node]] = []
    fields: dict[str, str] = {}
    for k, v in item.value:
        if not isinstance(k, ScalarNode) or not isinstance(v, ScalarNode):
            raise YamlFileError(rel, line_of(k), "an `images` entry holds a non-scalar field")
        pairs.append((k, v))
        value = scalar_text(v)
        if value is not None:
            fields[str(k.value)] = value
    if not fields.get("name"):
        raise YamlFileError(rel, line_of(item), "an `images` entry has no `name`")
    return _Entry(item, fields["name"], tuple(pairs), fields)


def _added(setting: ImageSetting, line: int) -> ImageChange:
    return ImageChange(
        setting.name, "", entry_reference(setting.name, merge_entry(setting, {})), line
    )


def _entry_edits(text: str, entry: _Entry, fields: dict[str, str]) -> list[Edit]:
    """Edits that make the entry exactly `name` + `fields`, touching only what differs."""
    desired = {"name": entry.name, **fields}
    if entry.node.flow_style:
        start, end = int(entry.node.start_mark.index), int(entry.node.end_mark.index)
        keep = [k for k in entry.fields if k in desired] + [
            k for k in desired if k not in entry.fields
        ]
        return [Edit(start, end, _flow_mapping({k: desired[k] for k in keep}))]
    present = [str(k.value) for k, _ in entry.pairs]
    doomed = {
        key
        for key, (_, v) in zip(present, entry.pairs, strict=True)
        if key != "name" and (key not in desired or scalar_text(v) is None)
    }
    edits: list[Edit] = []
    i = 0
    while i < len(entry.pairs):
        k, v = entry.pairs[i]
        key = str(k.value)
        if key in doomed:
            start = int(k.start_mark.index)
            if text[line_start(text, start) : start].strip():  # on the `- ` line
                # pull the next surviving key up onto the dash line
                j = next(j for j in range(i + 1, len(entry.pairs)) if present[j] not in doomed)
                edits.append(Edit(start, int(entry.pairs[j][0].start_mark.index), ""))
                i = j
                continue
            end = next_line_start(text, content_end(text, v))
            edits.append(Edit(line_start(text, start), end, ""))
        elif desired[key] != entry.fields.get(key):
            assert isinstance(v, ScalarNode)
            edits.append(replace_scalar(v, desired[key]))
        i += 1
    added = [k for k in desired if k not in present or k in doomed]
    if added:
        last = next(
            v
            for (k, v), key in reversed(list(zip(entry.pairs, present, strict=True)))
            if key not in doomed
        )
        indent = " " * int(entry.node.start_mark.column)
        at = line_end(text, content_end(text, last))
        lines = "".join(f"\n{indent}{k}: {render_scalar(desired[k])}" for k in added)
        edits.append(Edit(at, at, lines))
    return edits


def _block_entry(setting: ImageSetting, dash: int, offset: int) -> str:
    fields = merge_entry(setting, {})
    pad = " " * (dash + offset)
    head = " " * dash + "-" + " " * (offset - 1) + f"name: {render_scalar(setting.name)}"
    return head + "".join(f"\n{pad}{k}: {render_scalar(fields[k])}" for k in FIELDS if k in fields)


def _flow_mapping(fields: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {render_scalar(v)}" for k, v in fields.items()) + "}"


def _insert_entries(
    text: str, seq: SequenceNode, entries: list[_Entry], new: list[ImageSetting]
) -> list[Edit]:
    """New entries, each before the first existing entry whose name sorts after it."""
    if not new:
        return []
    dash = int(seq.start_mark.column)
    offset = max(2, int(entries[0].node.start_mark.column) - dash) if entries else 2
    at_point: dict[int, list[str]] = {}
    for setting in sorted(new, key=lambda s: s.name):
        after = next((e for e in entries if e.name > setting.name), None)
        block = _block_entry(setting, dash, offset)
        if after is None:
            # at the start of the line after the last entry (its last line may be deleted)
            at = next_line_start(text, content_end(text, entries[-1].node))
            ends_line = at > 0 and text[at - 1] == "\n"
            at_point.setdefault(at, []).append(block + "\n" if ends_line else "\n" + block)
        else:
            at = _above_comments(text, line_start(text, int(after.node.start_mark.index)))
            at_point.setdefault(at, []).append(block + "\n")
    return [Edit(at, at, "".join(parts)) for at, parts in at_point.items()]


def _above_comments(text: str, start: int) -> int:
    """Move a line start up over the comment lines just above it (they belong to that line)."""
    while start > 0:
        prev = line_start(text, start - 1)
        if not text[prev : start - 1].lstrip().startswith("#"):
            break
        start = prev
    return start


def _sequence_indent(root: MappingNode | None) -> int:
    """How far this file indents a block list under its key (kustomize writes 0)."""
    for k, v in root.value if root is not None else ():
        if isinstance(v, SequenceNode) and not v.flow_style and v.value:
            return max(0, int(v.start_mark.column) - int(k.start_mark.column))
    return 0


def _create_images(
    text: str, root: MappingNode | None, settings: list[ImageSetting]
) -> tuple[list[Edit], list[ImageChange]]:
    indent = _sequence_indent(root)
    body = "\n".join(_block_entry(s, indent, 2) for s in sorted(settings, key=lambda s: s.name))
    prefix = "\n" if text and not text.endswith("\n") else ""
    if root is not None and root.value and _ends_with_comment(text):
        # a blank line: the new key is not read as part of the last key's comment block
        prefix += "\n"
    line = text.count("\n") + 1 + prefix.count("\n")
    edit = Edit(len(text), len(text), f"{prefix}images:\n{body}\n")
    return [edit], [_added(s, line) for s in settings]


def _ends_with_comment(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and lines[-1].lstrip().startswith("#")


def _fill_empty(
    text: str, key: ScalarNode, value: Node, settings: list[ImageSetting], indent: int
) -> tuple[list[Edit], list[ImageChange]]:
    """`images:` with nothing (or `~`, `[]`) after it: write the list under the key."""
    colon = text.index(":", int(key.end_mark.index))
    start, end = int(value.start_mark.index), int(value.end_mark.index)
    edits: list[Edit] = []
    if end > start:
        edits.append(Edit(colon + 1, end, ""))
    body = "".join(
        "\n" + _block_entry(s, int(key.start_mark.column) + indent, 2)
        for s in sorted(settings, key=lambda s: s.name)
    )
    at = line_end(text, max(end, colon + 1))
    edits.append(Edit(at, at, body))
    return edits, [_added(s, line_of(key)) for s in settings]


def _rewrite_flow(
    seq: SequenceNode, entries: list[_Entry], settings: list[ImageSetting]
) -> tuple[list[Edit], list[ImageChange]]:
    """A flow-style `images: [...]` is written again whole, in flow style."""
    items: list[dict[str, str]] = [dict(e.fields) for e in entries]
    changes: list[ImageChange] = []
    for setting in settings:
        found = [i for i, e in enumerate(entries) if e.name == setting.name]
        for i in found:
            fields = merge_entry(setting, entries[i].fields)
            items[i] = {"name": setting.name, **fields}
            changes.append(
                ImageChange(
                    setting.name,
                    entry_reference(setting.name, entries[i].fields),
                    entry_reference(setting.name, fields),
                    line_of(entries[i].node),
                )
            )
        if not found:
            pos = next((i for i, it in enumerate(items) if it["name"] > setting.name), len(items))
            items.insert(pos, {"name": setting.name, **merge_entry(setting, {})})
            changes.append(_added(setting, line_of(seq)))
    text = "[" + ", ".join(_flow_mapping(it) for it in items) + "]"
    return [Edit(int(seq.start_mark.index), int(seq.end_mark.index), text)], changes
