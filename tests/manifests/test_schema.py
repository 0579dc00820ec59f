"""The offline schema catalog: versions, strictness, CRD schemas."""

from __future__ import annotations

from typing import Any

import pytest

from ci_actions.manifests.model import Manifest, Source
from ci_actions.manifests.schema import (
    SchemaCatalog,
    UnknownKind,
    custom_resource_schema,
    parse_version,
    schema_version,
)


def manifest(obj: dict[str, Any]) -> Manifest:
    return Manifest(obj, Source("x.yaml"), "x.yaml")


def service(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec}


@pytest.mark.parametrize(
    ("text", "expected"), [("1.33", (1, 33)), ("v1.30.4", (1, 30)), (" 1.29.0 ", (1, 29))]
)
def test_parse_version(text: str, expected: tuple[int, int]) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "latest", "1", "1.x"])
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes version"):
        parse_version(text)


def test_schema_version_bounds() -> None:
    assert schema_version((1, 30)) == (1, 30)
    with pytest.raises(ValueError, match=r"no schemas for Kubernetes 1\.2;"):
        schema_version((1, 2))
    with pytest.raises(ValueError, match=r"no schemas for Kubernetes 1\.99"):
        schema_version((1, 99))


def test_a_valid_object_has_no_errors() -> None:
    catalog = SchemaCatalog((1, 33))
    assert catalog.errors(manifest(service(ports=[{"port": 80}]))) == []


def test_unknown_fields_are_errors_at_the_field() -> None:
    catalog = SchemaCatalog((1, 33))
    (error,) = catalog.errors(manifest(service(ports=[{"port": 80, "prot": "x"}])))
    assert error.path == ("spec", "ports", 0, "prot")
    assert "unknown field 'prot'" in error.message


def test_the_schema_follows_the_kubernetes_version() -> None:
    # Service.spec.trafficDistribution arrived in Kubernetes 1.30.
    obj = manifest(service(ports=[{"port": 80}], trafficDistribution="PreferClose"))
    assert SchemaCatalog((1, 30)).errors(obj) == []
    (error,) = SchemaCatalog((1, 29)).errors(obj)
    assert error.path == ("spec", "trafficDistribution")


def test_a_kind_of_another_group_is_not_the_builtin_one() -> None:
    catalog = SchemaCatalog((1, 33))
    obj = {"apiVersion": "apps.example.com/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    with pytest.raises(UnknownKind):
        catalog.errors(manifest(obj))


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "spec": {
        "group": "ops.example.com",
        "names": {"kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "note": {"type": "string", "nullable": True},
                                    "extra": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            }
                        },
                    }
                },
            },
            {"name": "v2"},
        ],
    },
}


def widget(api_version: str = "ops.example.com/v1", **spec: Any) -> Manifest:
    return manifest(
        {"apiVersion": api_version, "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}
    )


def test_custom_resources_follow_their_crd() -> None:
    catalog = SchemaCatalog((1, 33))
    catalog.add_crd(CRD)
    ok = widget(port="http", note=None, extra={"anything": {"goes": 1}})
    assert catalog.errors(ok) == []
    assert catalog.errors(widget(port=8080)) == []
    assert [e.path for e in catalog.errors(widget(port=1.5))] == [("spec", "port")]
    assert [e.path for e in catalog.errors(widget(colour="red"))] == [("spec", "colour")]
    bad_meta = widget()
    bad_meta.obj["metadata"]["labelz"] = {}
    assert [e.path for e in catalog.errors(bad_meta)] == [("metadata", "labelz")]


def test_a_crd_version_without_schema_is_an_unknown_kind() -> None:
    catalog = SchemaCatalog((1, 33))
    catalog.add_crd(CRD)
    assert catalog.is_custom("ops.example.com/v2", "Widget")
    with pytest.raises(UnknownKind):
        catalog.errors(widget("ops.example.com/v2"))


def test_a_schema_that_preserves_everything_says_nothing() -> None:
    assert (
        custom_resource_schema({"type": "object", "x-kubernetes-preserve-unknown-fields": True})
        is None
    )
