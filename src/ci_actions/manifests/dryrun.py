"""Server-side dry run: create (or patch, when it exists) every object with dryRun=All.

Admission and validation errors come back per object and are located at the
field the server names (`details.causes[].field`) when the source has it.
An API server that cannot be reached, or that fails with 5xx, is exit 3.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ci_actions.errors import EnvironmentFailure, InputError
from ci_actions.manifests.model import FieldPath, Manifest, Problem, problem
from ci_actions.manifests.schema import crds

REQUEST_TIMEOUT = 30.0
_FIELD_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_path(text: str) -> FieldPath:
    """`spec.template.spec.containers[0].image` -> ('spec', ..., 'containers', 0, 'image')."""
    return tuple(int(m[2]) if m[2] is not None else m[1] for m in _FIELD_PART.finditer(text))


def dry_run(
    manifests: Sequence[Manifest], kubeconfig: str, context: str, scratch: Path
) -> list[Problem]:
    api, namespace = _client(kubeconfig, context)
    scratch.mkdir(parents=True, exist_ok=True)
    # A fresh discovery cache each run: a CRD installed since the last run must be seen.
    with tempfile.TemporaryDirectory(dir=scratch, prefix="k8s-discovery-") as cache:
        dynamic = _dynamic(api, Path(cache) / "discovery.json")
        return _dry_run_all(dynamic, manifests, namespace)


def _dry_run_all(dynamic: Any, manifests: Sequence[Manifest], namespace: str) -> list[Problem]:
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError
    from urllib3.exceptions import HTTPError

    created_here = _declared_kinds(manifests)
    new_namespaces = {m.name for m in manifests if m.kind == "Namespace" and m.api_version == "v1"}
    problems: list[Problem] = []
    for manifest in manifests:
        if not manifest.api_version or not manifest.kind or not manifest.name:
            continue  # the schema check reports these
        try:
            resource = dynamic.resources.get(api_version=manifest.api_version, kind=manifest.kind)
        except ResourceNotFoundError:
            if (manifest.api_version, manifest.kind) in created_here:
                message = (
                    "not dry-run: its CustomResourceDefinition is only created by this same change"
                )
                problems.append(problem(manifest, "dry-run", "warning", message))
            else:
                message = f"the server has no {manifest.api_version} {manifest.kind} (is its CRD installed?)"
                problems.append(problem(manifest, "dry-run", "error", message))
            continue
        try:
            _create_or_patch(dynamic, resource, manifest, namespace)
        except DynamicApiError as exc:
            problems += _rejection(manifest, exc, new_namespaces)
        except (HTTPError, OSError) as exc:  # the connection failed mid-way
            raise _unreachable(exc) from exc
    return problems


def _declared_kinds(manifests: Sequence[Manifest]) -> set[tuple[str, str]]:
    """(apiVersion, kind) of the custom resources the CRDs among `manifests` declare."""
    kinds = set()
    for crd in crds(manifests):
        spec: dict[str, Any] = crd["spec"] if isinstance(crd.get("spec"), dict) else {}
        kind = str((spec.get("names") or {}).get("kind") or "")
        for version in spec.get("versions") or []:
            if isinstance(version, dict):
                kinds.add((f"{spec.get('group', '')}/{version.get('name', '')}", kind))
    return kinds


def _client(kubeconfig: str, context: str) -> tuple[Any, str]:
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    file = kubeconfig or None
    try:
        api = config.new_client_from_config(config_file=file, context=context or None)  # type: ignore[no-untyped-call]
        contexts, active = config.list_kube_config_contexts(config_file=file)  # type: ignore[no-untyped-call]
        if context:
            active = next((c for c in contexts if c["name"] == context), active)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise InputError(
            "kubeconfig",
            f"cannot load a kubeconfig ({kubeconfig or 'KUBECONFIG or ~/.kube/config'}): {exc}",
            hint="point `kubeconfig` at a valid file, or turn server-dry-run off",
        ) from None
    api.configuration.retries = 1
    namespace = str((active or {}).get("context", {}).get("namespace") or "default")
    return api, namespace


def _dynamic(api: Any, cache_file: Path) -> Any:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic import DynamicClient
    from urllib3.exceptions import HTTPError

    try:
        return DynamicClient(api, cache_file=str(cache_file))  # type: ignore[no-untyped-call]
    except (HTTPError, OSError, ApiException) as exc:
        raise _unreachable(exc) from exc


def _unreachable(exc: Exception) -> EnvironmentFailure:
    return EnvironmentFailure(
        f"the Kubernetes API server cannot be reached for the dry run: {type(exc).__name__}: {exc}",
        hint="check the kubeconfig's server and the runner's network, or turn server-dry-run off",
    )


def _create_or_patch(dynamic: Any, resource: Any, manifest: Manifest, namespace: str) -> None:
    from kubernetes.dynamic.exceptions import ConflictError

    body = manifest.obj
    ns = (manifest.namespace or namespace) if resource.namespaced else None
    options = {"dry_run": "All", "_request_timeout": REQUEST_TIMEOUT}
    try:
        dynamic.create(resource, body=body, namespace=ns, **options)
    except ConflictError:  # it exists: what applying it would change
        dynamic.patch(
            resource,
            body=body,
            name=manifest.name,
            namespace=ns,
            content_type="application/merge-patch+json",
            **options,
        )


def _rejection(manifest: Manifest, exc: Any, new_namespaces: set[str]) -> list[Problem]:
    status = getattr(exc, "status", 0) or 0
    try:
        body = json.loads(exc.body) if getattr(exc, "body", None) else {}
    except (TypeError, ValueError):
        body = {}
    message = str(body.get("message") or exc.summary())
    if status >= 500 or status == 0:
        raise EnvironmentFailure(
            f"the API server failed the dry run of {manifest.ident}: {message}"
        )
    if status in (401, 403) and "admission webhook" not in message:
        raise EnvironmentFailure(
            f"the API server refused the dry run of {manifest.ident} ({status}): {message}",
            hint="the kubeconfig's user needs create and patch rights on these objects",
        )
    details = body.get("details") or {}
    if (
        status == 404
        and details.get("kind") == "namespaces"
        and details.get("name") in new_namespaces
    ):
        message = (
            f"not dry-run: its namespace {details['name']} is only created by this same change"
        )
        return [problem(manifest, "dry-run", "warning", message)]
    causes = [c for c in details.get("causes") or [] if c.get("field")]
    if not causes:
        return [problem(manifest, "dry-run", "error", f"rejected by the server: {message}")]
    return [
        problem(
            manifest,
            "dry-run",
            "error",
            f"rejected by the server: {c['field']}: {c.get('message', '')}",
            field_path(str(c["field"])),
        )
        for c in causes
    ]
