"""A thin Kubernetes API client on top of the official `kubernetes` package.

The package loads the configuration (kubeconfig with its auth plugins and TLS
settings, or the in-cluster service account) and makes the requests; objects
stay plain dicts, the shape `kubectl` works with, so the rollout rules read
like kubectl's. `kubernetes` is imported only here, when a cluster is probed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_actions.errors import ConfigError, EnvironmentFailure

Obj = dict[str, Any]

GROUP_PATHS = {
    "deployments": "/apis/apps/v1",
    "statefulsets": "/apis/apps/v1",
    "daemonsets": "/apis/apps/v1",
    "replicasets": "/apis/apps/v1",
    "controllerrevisions": "/apis/apps/v1",
    "pods": "/api/v1",
    "events": "/api/v1",
}


class KubeError(EnvironmentFailure):
    """The API answered with an error status (kept: code and reason)."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"Kubernetes API {code} {reason}: {message}")
        self.code = code
        self.reason = reason


class StreamBroken(Exception):
    """A watch stream ended without a clean end (connection dropped or timed out)."""


@dataclass
class WatchStream:
    """One open watch; iterate for (type, object) events; close when done."""

    response: Any

    def events(self) -> Iterator[tuple[str, Obj]]:
        import urllib3

        buffer = b""
        try:
            for chunk in self.response.stream(amt=None, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        event = json.loads(line)
                        yield str(event.get("type", "")), event.get("object") or {}
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StreamBroken(str(exc)) from None

    def close(self) -> None:
        self.response.release_conn()
        self.response.close()


class KubeClient:
    def __init__(self, api_client: Any) -> None:
        self.api = api_client

    @classmethod
    def from_kubeconfig(cls, path: Path | None, context: str = "") -> KubeClient:
        """A kubeconfig file, or with None the in-cluster service account."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        configuration = client.Configuration()
        try:
            if path is not None:
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=str(path),
                    context=context or None,
                    client_configuration=configuration,
                    persist_config=False,
                )
            else:
                config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except (ConfigException, OSError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"cannot load the Kubernetes configuration: {exc}",
                hint="set KUBECONFIG, give the `kubeconfig` input, or run inside a cluster",
            ) from None
        return cls(client.ApiClient(configuration))

    def close(self) -> None:
        self.api.close()

    @property
    def host(self) -> str:
        return str(self.api.configuration.host)

    # ---- requests

    def request(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "",
        timeout: float | tuple[float, float] = 30,
    ) -> Any:
        """The raw urllib3 response (not read yet); raises KubeError on an error status."""
        import urllib3

        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        params = [(k, v) for k, v in (query or {}).items() if v is not None and v != ""]
        method, url, headers, body, _ = self.api.param_serialize(
            method,
            path,
            query_params=params,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api.call_api(method, url, headers, body, _request_timeout=timeout)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise EnvironmentFailure(
                f"cannot reach the Kubernetes API at {self.host}: {exc}",
                hint="check the kubeconfig server address and the network",
            ) from None
        raw = response.response
        if raw.status >= 400:
            data = raw.data
            try:
                status = json.loads(data)
                message, reason = status.get("message", ""), status.get("reason", "")
            except (json.JSONDecodeError, AttributeError):
                message, reason = data.decode(errors="replace")[:500], ""
            raise KubeError(raw.status, reason or raw.reason or "", message)
        return raw

    def get_json(self, path: str, query: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        raw = self.request("GET", path, query, timeout=timeout)
        return json.loads(raw.data)

    def get_text(self, path: str, query: dict[str, Any] | None = None, timeout: float = 30) -> str:
        raw = self.request("GET", path, query, timeout=timeout)
        return str(raw.data.decode(errors="replace"))

    def path(self, plural: str, namespace: str, name: str = "", sub: str = "") -> str:
        base = f"{GROUP_PATHS[plural]}/namespaces/{namespace}/{plural}"
        return base + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")

    def get(self, plural: str, namespace: str, name: str) -> Obj:
        result: Obj = self.get_json(self.path(plural, namespace, name))
        return result

    def list(
        self, plural: str, namespace: str, *, labels: str = "", fields: str = ""
    ) -> tuple[list[Obj], str]:
        """Items and the list's resourceVersion (where a watch starts)."""
        body = self.get_json(
            self.path(plural, namespace), {"labelSelector": labels, "fieldSelector": fields}
        )
        return list(body.get("items") or []), str(
            body.get("metadata", {}).get("resourceVersion", "")
        )

    def watch(
        self,
        plural: str,
        namespace: str,
        resource_version: str,
        *,
        fields: str = "",
        timeout: float,
    ) -> WatchStream:
        """Changes after `resource_version`, bookmarks on; the stream ends within `timeout`."""
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "fieldSelector": fields,
            "timeoutSeconds": str(max(1, int(timeout))),
        }
        raw = self.request(
            "GET", self.path(plural, namespace), query, timeout=(10, max(0.2, timeout))
        )
        return WatchStream(raw)

    def patch(self, plural: str, namespace: str, name: str, body: Any, content_type: str) -> Obj:
        raw = self.request(
            "PATCH", self.path(plural, namespace, name), body=body, content_type=content_type
        )
        result: Obj = json.loads(raw.data)
        return result
