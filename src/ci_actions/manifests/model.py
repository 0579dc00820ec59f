"""The objects being validated and the problems found in them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import yaml

Severity = Literal["error", "warning"]
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Source:
    """Where an object is written: a file and, when known, its YAML document."""

    file: str  # relative to the workspace, `/`-separated
    node: yaml.Node | None = None  # the document in that file, for field lines

    @property
    def line(self) -> int | None:
        return self.node.start_mark.line + 1 if self.node is not None else None

    def line_of(self, path: FieldPath) -> int | None:
        """Line of the deepest part of `path` written in the document."""
        node = self.node
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node, line = child
        return line


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, int] | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if key.value == part:
                return value, key.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item = node.value[part]
        return item, item.start_mark.line + 1
    return None


@dataclass
class Manifest:
    obj: dict[str, Any]
    source: Source
    origin: str  # the `paths` entry it came from

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion") or "")

    def _metadata(self, key: str) -> str:
        meta = self.obj.get("metadata")
        return str(meta.get(key) or "") if isinstance(meta, dict) else ""

    @property
    def name(self) -> str:
        return self._metadata("name")

    @property
    def generate_name(self) -> str:
        return self._metadata("generateName")

    @property
    def namespace(self) -> str:
        return self._metadata("namespace")

    @property
    def ident(self) -> str:
        """`Kind namespace/name`, as people name an object (`generateName*` when it has no name)."""
        name = self.name or (f"{self.generate_name}*" if self.generate_name else "")
        where = f"{self.namespace}/{name}" if self.namespace else name
        return f"{self.kind or '?'} {where or '?'}"


@dataclass(frozen=True)
class Problem:
    check: str  # "schema", "unknown-kind", a policy name, "dry-run"
    severity: Severity
    message: str
    resource: str  # Manifest.ident
    file: str
    line: int | None
    field: str = ""  # `spec.template.spec.containers[0]`

    def as_dict(self) -> dict[str, object]:
        return {
            "check": self.check,
            "severity": self.severity,
            "object": self.resource,
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "message": self.message,
        }


def field_text(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


SECRET_FIELDS = ("data", "stringData")
REDACTED = "<redacted>"
_MIN_BARE = 4  # a shorter value is replaced only in its quoted form (else any "1" would go)


def _at(obj: Any, path: FieldPath) -> Any:
    for part in path:
        if isinstance(obj, dict) and isinstance(part, str):
            obj = obj.get(part)
        elif isinstance(obj, list) and isinstance(part, int) and part < len(obj):
            obj = obj[part]
        else:
            return None
    return obj


def _json_forms(value: Any) -> set[str]:
    return {json.dumps(value, separators=(",", ":")), json.dumps(value)}


def _secret_forms(value: Any, forms: set[str]) -> None:
    """Every way a validator, a policy or a server may print `value` or a part of it."""
    if isinstance(value, dict | list):
        forms |= _json_forms(value)
        for item in value.values() if isinstance(value, dict) else value:
            _secret_forms(item, forms)
        return
    if value is None or isinstance(value, bool):
        return
    text = value if isinstance(value, str) else json.dumps(value)
    forms |= {json.dumps(text), repr(text)}
    for bare in (text, json.dumps(text)[1:-1], repr(text)[1:-1]):
        if len(bare) >= _MIN_BARE:
            forms.add(bare)


def redact_secret_values(manifest: Manifest, message: str, path: FieldPath = ()) -> str:
    """`message` without any value of a Secret's data or stringData (keys stay)."""
    if manifest.kind != "Secret":
        return message
    forms: set[str] = set()
    for name in SECRET_FIELDS:
        if name in manifest.obj:
            _secret_forms(manifest.obj[name], forms)
    if path[:1] and path[0] in SECRET_FIELDS:  # the value at the problem: whatever its length
        instance = _at(manifest.obj, path)
        if instance is not None:
            forms |= _json_forms(instance) | {str(instance)}
    for form in sorted(forms, key=len, reverse=True):
        message = message.replace(form, REDACTED)
    return message


def problem(
    manifest: Manifest, check: str, severity: Severity, message: str, path: FieldPath = ()
) -> Problem:
    """A problem of `manifest`; never with the value of a Secret's data in its message."""
    return Problem(
        check=check,
        severity=severity,
        message=redact_secret_values(manifest, message, path),
        resource=manifest.ident,
        file=manifest.source.file,
        line=manifest.source.line_of(path),
        field=field_text(path),
    )
