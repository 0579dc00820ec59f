"""Offline validation against the Kubernetes JSON schemas, strict about unknown fields.

The schemas come from the `kubernetes-validate` package (its `-strict` set:
`additionalProperties: false` everywhere). Each kind's validator is compiled
once per run by jsonschema-rs and reused for every object of that kind.
Custom resources are validated against the openAPIV3Schema of their CRD.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs

from ci_actions.manifests.model import FieldPath, Manifest

SCHEMA_PACKAGE = "kubernetes_validate"
DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
OBJECT_META_REF = f"{DEFINITIONS_ID}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
CRD_API_GROUP = "apiextensions.k8s.io"
_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.\d+-local-strict$")


@dataclass(frozen=True)
class SchemaError:
    path: FieldPath
    message: str


class UnknownKind(Exception):
    """No schema for this apiVersion/kind: neither built in nor from a CRD."""


def _schema_root() -> Path:
    return Path(str(resources.files(SCHEMA_PACKAGE) / "kubernetes-json-schema"))


def available_versions() -> list[tuple[int, int]]:
    found = (_VERSION_DIR.match(p.name) for p in _schema_root().iterdir())
    return sorted((int(m[1]), int(m[2])) for m in found if m)


def parse_version(text: str) -> tuple[int, int]:
    """`1.33`, `v1.33.2` -> (1, 33); ValueError otherwise."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a Kubernetes version like 1.33")
    return int(match[1]), int(match[2])


def schema_version(wanted: tuple[int, int]) -> tuple[int, int]:
    """The newest schema set not newer than `wanted` (patch releases share a schema)."""
    versions = available_versions()
    older = [v for v in versions if v <= wanted]
    if not older or wanted > versions[-1]:
        shown = ", ".join(f"{a}.{b}" for a, b in versions)
        raise ValueError(f"no schemas for Kubernetes {wanted[0]}.{wanted[1]}; available: {shown}")
    return older[-1]


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class SchemaCatalog:
    """Compiled validators by (apiVersion, kind), built-in schemas first, then CRDs."""

    def __init__(self, version: tuple[int, int]) -> None:
        self.version = version
        self.directory = _schema_root() / f"v{version[0]}.{version[1]}.0-local-strict"
        self._registry: Any = None
        self._validators: dict[tuple[str, str], Any] = {}
        self._crd_schemas: dict[tuple[str, str], dict[str, Any] | None] = {}

    @property
    def registry(self) -> Any:
        if self._registry is None:
            definitions = json.loads((self.directory / "_definitions.json").read_text())
            self._registry = jsonschema_rs.Registry([(DEFINITIONS_ID, definitions)])
        return self._registry

    def add_crd(self, crd: dict[str, Any]) -> None:
        """Learn the kinds a CustomResourceDefinition declares (schema None: none given)."""
        spec = crd.get("spec")
        if not isinstance(spec, dict):
            return
        group = str(spec.get("group") or "")
        kind = str((spec.get("names") or {}).get("kind") or "")
        for version in spec.get("versions") or []:
            if not isinstance(version, dict) or not version.get("name") or not kind:
                continue
            api_version = f"{group}/{version['name']}"
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            self._crd_schemas[(api_version, kind)] = (
                custom_resource_schema(schema) if isinstance(schema, dict) else None
            )
            self._validators.pop((api_version, kind), None)

    def is_custom(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self._crd_schemas

    def has_schema(self, api_version: str, kind: str) -> bool:
        return self.validator(api_version, kind) is not None

    def validator(self, api_version: str, kind: str) -> Any:
        key = (api_version, kind)
        if key not in self._validators:
            schema = self._builtin_schema(api_version, kind)
            if schema is None:
                schema = self._crd_schemas.get(key)
            self._validators[key] = (
                None
                if schema is None
                else jsonschema_rs.Draft202012Validator(
                    schema, registry=self.registry, validate_formats=False
                )
            )
        return self._validators[key]

    def _builtin_schema(self, api_version: str, kind: str) -> dict[str, Any] | None:
        group, version = split_api_version(api_version)
        if not kind or not version or "/" in kind or "." in kind:
            return None
        short_group = group.split(".", 1)[0]
        name = f"{kind.lower()}-{short_group}-{version}" if group else f"{kind.lower()}-{version}"
        file = self.directory / f"{name}.json"
        if not file.is_file():
            return None
        schema: dict[str, Any] = json.loads(file.read_text())
        # The file name keeps only the group's first label: check the full group.
        gvks = schema.get("x-kubernetes-group-version-kind") or []
        if not any(g.get("group", "") == group and g.get("kind") == kind for g in gvks):
            return None
        return schema

    def errors(self, manifest: Manifest) -> list[SchemaError]:
        """Schema errors of one object; UnknownKind when there is no schema for it."""
        validator = self.validator(manifest.api_version, manifest.kind)
        if validator is None:
            raise UnknownKind(f"{manifest.api_version} {manifest.kind}")
        if validator.is_valid(manifest.obj):
            return []
        return [found for error in validator.iter_errors(manifest.obj) for found in _explain(error)]


def _explain(error: Any) -> list[SchemaError]:
    """One error per unknown field, located at the field itself (the misspelt key)."""
    path = tuple(error.instance_path)
    unexpected = getattr(error.kind, "unexpected", None)
    if type(error.kind).__name__ == "AdditionalProperties" and unexpected:
        return [SchemaError((*path, name), f"unknown field {name!r}") for name in unexpected]
    return [SchemaError(path, error.message)]


def custom_resource_schema(openapi: dict[str, Any]) -> dict[str, Any] | None:
    """A CRD's structural openAPIV3Schema as strict JSON Schema; None when it says nothing.

    Unknown fields are errors (as with `kubectl apply`'s strict field
    validation) except under `x-kubernetes-preserve-unknown-fields`.
    """
    if openapi.get("x-kubernetes-preserve-unknown-fields") and not openapi.get("properties"):
        return None
    schema = _strict(openapi)
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    properties["metadata"] = {"$ref": OBJECT_META_REF}
    return schema


_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def _strict(node: dict[str, Any]) -> dict[str, Any]:
    out = copy.copy(node)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            k: _strict(v) for k, v in out["properties"].items() if isinstance(v, dict)
        }
    if isinstance(out.get("items"), dict):
        out["items"] = _strict(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _strict(out["additionalProperties"])
    if isinstance(out.get("not"), dict):
        out["not"] = _strict(out["not"])
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_strict(s) for s in out[key] if isinstance(s, dict)]
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [*out.get("anyOf", []), {"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def crds(manifests: Iterable[Manifest]) -> list[dict[str, Any]]:
    return [
        m.obj
        for m in manifests
        if m.kind == "CustomResourceDefinition"
        and split_api_version(m.api_version)[0] == CRD_API_GROUP
    ]
