"""Precise text edits located with a YAML parser.

The parser (PyYAML's composer) gives every node its exact start and end
offset in the original text; edits replace only those spans, so comments,
blank lines, indentation, key order, quoting and document separators stay
byte for byte. No YAML is ever re-dumped.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ci_actions.errors import ConfigError
from ci_actions.fsutil import utf8_problem
from ci_actions.yamlsafe import BoundedLoader

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_Base: type = BoundedLoader  # libyaml when there (same marks, much faster), aliases bounded


class _Loader(_Base):  # type: ignore[misc]
    """Composes only: plain scalars are strings or null, nothing else is resolved
    (edits need positions and text, not typed values)."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0] and value in _NULLS:
                return "tag:yaml.org,2002:null"
            return _STR_TAG
        return "tag:yaml.org,2002:seq" if kind is SequenceNode else "tag:yaml.org,2002:map"


_STR_TAG = "tag:yaml.org,2002:str"
# Forms YAML 1.2 (Go's yaml.v3, which kustomize uses) reads as numbers or
# booleans although PyYAML's YAML 1.1 resolver may not: quote them.
_NUMERIC_LIKE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|[yYnN]|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$"
)
_PLAIN_UNSAFE_START = set("-?:,[]{}#&*!|>'\"%@`")
_RESOLVER = yaml.resolver.Resolver()


class YamlFileError(ConfigError):
    """A file the action must edit is not what it should be; names file and line."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(
            f"{file}:{line}: {message}", hint="fix the file; nothing was written anywhere"
        )
        self.file = file
        self.line = line


@dataclass(frozen=True, order=True)
class Edit:
    """Replace text[start:end] with `text` (an insertion when start == end)."""

    start: int
    end: int
    text: str


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits (checked) from the end backwards."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise AssertionError(f"overlapping edits {before} and {after}")
    out = text
    for edit in reversed(ordered):
        out = out[: edit.start] + edit.text + out[edit.end :]
    return out


def conflicts(a: Edit, b: Edit) -> bool:
    """Two edits touch the same text (or insert at the same point)."""
    if a.start == a.end and b.start == b.end:
        return a.start == b.start
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


def read_text(path: Path, rel: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise YamlFileError(rel, 1, f"cannot be read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlFileError(rel, line, f"is not UTF-8 text: {utf8_problem(data)}") from None


def compose_documents(text: str, rel: str) -> list[Node | None]:
    """Every document of the file as a node tree (None for an empty document)."""
    try:
        return list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise YamlFileError(rel, line, f"is not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlFileError(rel, 1, f"is not valid YAML: {exc}") from None


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def get(mapping: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None


def scalar_text(node: Node | None) -> str | None:
    """The value of a non-null scalar, else None."""
    if not isinstance(node, ScalarNode) or is_null(node):
        return None
    return str(node.value)


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def walk(node: Node | None) -> Iterator[Node]:
    if node is None:
        return
    yield node
    if isinstance(node, MappingNode):
        for k, v in node.value:
            yield from walk(k)
            yield from walk(v)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from walk(item)


def content_end(text: str, node: Node) -> int:
    """Offset just past the node's last character (block nodes' marks overshoot)."""
    if isinstance(node, ScalarNode):
        if node.style in ("|", ">"):
            end = int(node.end_mark.index)
            while end > node.start_mark.index and text[end - 1] in " \t\r\n":
                end -= 1
            return end
        return int(node.end_mark.index)
    if getattr(node, "flow_style", False) or not node.value:
        return int(node.end_mark.index)
    last = node.value[-1]
    return content_end(text, last[1] if isinstance(node, MappingNode) else last)


def line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def line_end(text: str, offset: int) -> int:
    """Offset of the line break ending the line that holds `offset` (len(text) at EOF)."""
    end = text.find("\n", offset)
    if end < 0:
        return len(text)
    return end - 1 if end > offset and text[end - 1] == "\r" else end


def next_line_start(text: str, offset: int) -> int:
    """Offset just past the line break ending the line that holds `offset`."""
    end = text.find("\n", offset)
    return len(text) if end < 0 else end + 1


def needs_quotes(value: str) -> bool:
    """Would this string, written plain, read back as something else (or not parse)?"""
    if value == "" or value != value.strip() or _NUMERIC_LIKE.match(value):
        return True
    if value[0] in _PLAIN_UNSAFE_START or ": " in value or " #" in value or value.endswith(":"):
        return True
    tag: str = _RESOLVER.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return tag != _STR_TAG


def render_scalar(value: str, style: str | None = None) -> str:
    """`value` as a YAML scalar, in the given quoting style when it allows."""
    if style == "'" and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or needs_quotes(value):
        return json.dumps(value, ensure_ascii=False)
    return value


def replace_scalar(node: ScalarNode, value: str) -> Edit:
    """Set a scalar's value keeping its quoting style (plain becomes quoted only when it must)."""
    style = node.style if node.style in ("'", '"') else None
    return Edit(int(node.start_mark.index), int(node.end_mark.index), render_scalar(value, style))
