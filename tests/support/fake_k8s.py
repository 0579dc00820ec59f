"""A fake Kubernetes API server over real HTTP on 127.0.0.1, for tests.

What it serves (enough for real `kubectl get`, `rollout status`, `rollout
undo` and the official Python client):

- `/version`, discovery (`/api`, `/apis`, `/api/v1`, `/apis/apps/v1`);
- GET, LIST (label and field selectors; a `Table` with kubectl's columns when
  the client asks for `as=Table`, as `kubectl get` does), WATCH (chunked JSON lines from a
  `resourceVersion`, `allowWatchBookmarks`, `sendInitialEvents`, an ERROR
  event with code 410 "Expired" for a resourceVersion older than the last
  compaction, streams that the test can drop), POST (create), PUT, DELETE and
  PATCH (strategic merge, JSON merge, JSON patch) with `dryRun=All`, for
  deployments, statefulsets, daemonsets, replicasets (apps/v1) and pods,
  events, namespaces, services, configmaps, secrets, serviceaccounts (v1);
  `pods/log` with `container`, `previous`, `tailLines`; the `status`
  subresource.
- Admission on create/update, dry run or not: hooks in `admission`, e.g.
  `webhook_denies` (400 "admission webhook ... denied the request") and
  `field_invalid` (422 Invalid with `details.causes`).
- Writes to `spec` bump `metadata.generation`, as the real server does; status
  writes do not.

Tests drive it through `FakeCluster` (no HTTP): `add`, `patch_status`,
`modify`, `delete`, `set_logs`, `compact` (older resourceVersions become 410),
`drop_watches`, and `play(scenario)` where a scenario is a list of
`(delay_seconds, mutation)` steps run in order on a daemon thread. Requests
are recorded in `requests` (method, path, query) for assertions.

`fail_next` makes the next request whose path contains a fragment answer
with an injected error status.

Not served: `/openapi/v2` and `/openapi/v3` (kubectl's client-side
validation then needs `--validate=false`), server-side apply
(`application/apply-patch+yaml` answers 415), admission, defaulting.

Extending: add a kind to `RESOURCES`; add a verb or path by handling it in
`_Handler._route`; `on_write` hooks (e.g. the controller simulation in
`k8s_workloads.py`) run after every write made over HTTP.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

Obj = dict[str, Any]
Mutation = Callable[["FakeCluster"], object]
Scenario = list[tuple[float, Mutation]]

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-04-22T00:00:00Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}


@dataclass(frozen=True)
class Resource:
    group_version: str  # "v1" or "apps/v1"
    plural: str
    kind: str
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    subresources: tuple[str, ...] = ("status",)
    has_generation: bool = True  # workloads count spec changes; pods and events do not

    @property
    def api_version(self) -> str:
        return self.group_version


RESOURCES: dict[tuple[str, str], Resource] = {
    (r.group_version, r.plural): r
    for r in (
        Resource("apps/v1", "deployments", "Deployment", ("deploy",)),
        Resource("apps/v1", "statefulsets", "StatefulSet", ("sts",)),
        Resource("apps/v1", "daemonsets", "DaemonSet", ("ds",)),
        Resource("apps/v1", "replicasets", "ReplicaSet", ("rs",)),
        Resource(
            "v1", "pods", "Pod", ("po",), subresources=("status", "log"), has_generation=False
        ),
        Resource("v1", "events", "Event", ("ev",), subresources=(), has_generation=False),
        Resource("v1", "namespaces", "Namespace", ("ns",), namespaced=False, has_generation=False),
        Resource("v1", "services", "Service", ("svc",), has_generation=False),
        Resource("v1", "configmaps", "ConfigMap", ("cm",), subresources=(), has_generation=False),
        Resource("v1", "secrets", "Secret", (), subresources=(), has_generation=False),
        Resource(
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            ("sa",),
            subresources=(),
            has_generation=False,
        ),
    )
}
KINDS = {r.kind: r for r in RESOURCES.values()}


def fresh_discovery(kubeconfig: Path) -> list[str]:
    """kubectl's flag for a cache of its own beside `kubeconfig`: the shared one in ~/.kube
    is keyed by host and port, so a fake server on a port an earlier one used would be
    answered from that server's discovery (no /version asked)."""
    return [f"--cache-dir={kubeconfig.parent / 'kube-cache'}"]


def resource_for(kind_or_plural: str) -> Resource:
    for r in RESOURCES.values():
        if kind_or_plural in (r.kind, r.kind.lower(), r.plural, *r.short_names):
            return r
    raise KeyError(kind_or_plural)


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(code: int, reason: str, message: str, **details: Any) -> Obj:
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.body = status_body(code, reason, message, **details)


# ---------------------------------------------------------------- patches


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


MERGE_KEYS = ("name", "containerPort", "mountPath", "devicePath", "ip", "type", "topologyKey")


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge patch, the common subset: lists of objects merge by their key
    (containers/env/volumes by `name`, ports by `containerPort`, conditions by
    `type`), `$patch: replace|delete` directives, other `$` directives ignored."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value)
        else:
            result[key] = strategic_merge(result.get(key), value)
    return result


def _merge_list(current: list[Any], patch: list[Any]) -> list[Any]:
    dicts = [item for item in patch if isinstance(item, dict)]
    if len(dicts) != len(patch) or not dicts:
        return copy.deepcopy(patch)
    merge_key = next((k for k in MERGE_KEYS if all(k in d for d in dicts)), None)
    if merge_key is None:
        return copy.deepcopy(patch)
    out = copy.deepcopy(current)
    for item in dicts:
        index = next(
            (
                i
                for i, old in enumerate(out)
                if isinstance(old, dict) and old.get(merge_key) == item[merge_key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del out[index]
        elif index is None:
            out.append({k: v for k, v in item.items() if not k.startswith("$")})
        else:
            out[index] = strategic_merge(out[index], item)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def json_patch(doc: Any, ops: list[Obj]) -> Any:
    """RFC 6902 JSON patch: add, remove, replace, move, copy, test."""
    doc = copy.deepcopy(doc)
    for op in ops:
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        try:
            if kind == "test":
                if _walk(doc, parts) != op.get("value"):
                    raise ApiError(422, "Invalid", f"test failed at {op['path']}")
                continue
            if kind in ("move", "copy"):
                value = copy.deepcopy(_walk(doc, _pointer(op["from"])))
                if kind == "move":
                    doc = _remove(doc, _pointer(op["from"]))
                doc = _add(doc, parts, value)
            elif kind == "add":
                doc = _add(doc, parts, copy.deepcopy(op.get("value")))
            elif kind == "remove":
                doc = _remove(doc, parts)
            elif kind == "replace":
                _walk(doc, parts)  # must exist
                doc = _add(_remove(doc, parts), parts, copy.deepcopy(op.get("value")))
            else:
                raise ApiError(422, "Invalid", f"unknown JSON patch op {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiError(422, "Invalid", f"JSON patch {kind} {op.get('path')}: {exc}") from None
    return doc


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent, last = _walk(doc, parts[:-1]), parts[-1]
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        parent[last] = value
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    parent, last = _walk(doc, parts[:-1]), parts[-1]
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]
    return doc


# ---------------------------------------------------------------- selectors


def _lookup(obj: Obj, dotted: str) -> str:
    value: Any = obj
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def field_matches(obj: Obj, selector: str) -> bool:
    """`a.b=v`, `a.b==v`, `a.b!=v`, comma-separated (all must hold)."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            path, value = term.split("!=", 1)
            if _lookup(obj, path) == value:
                return False
        else:
            path, value = term.replace("==", "=").split("=", 1)
            if _lookup(obj, path) != value:
                return False
    return True


def _split_terms(selector: str) -> Iterator[str]:
    depth, start = 0, 0
    for i, ch in enumerate(selector):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            yield selector[start:i].strip()
            start = i + 1
    if selector[start:].strip():
        yield selector[start:].strip()


def label_matches(labels: dict[str, str], selector: str) -> bool:
    """Equality (`a=b`, `a!=b`), existence (`a`, `!a`) and set (`a in (x,y)`, `a notin (x)`)."""
    for term in _split_terms(selector):
        if " notin " in term or " in " in term:
            negate = " notin " in term
            key, values = term.split(" notin " if negate else " in ", 1)
            allowed = {v.strip() for v in values.strip().strip("()").split(",")}
            present = labels.get(key.strip()) in allowed
            if present == negate:
                return False
        elif "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def selector_string(match_labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))


# ---------------------------------------------------------------- the store


@dataclass
class WatchEvent:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: Resource
    obj: Obj


@dataclass
class FakeCluster:
    """The objects, their history of changes and the HTTP server in front of them."""

    bookmark_interval: float = 0.5
    objects: dict[tuple[str, str, str, str], Obj] = field(default_factory=dict)
    history: list[WatchEvent] = field(default_factory=list)
    logs: dict[tuple[str, str, str, bool], str] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    on_write: list[Callable[[FakeCluster, Resource, Obj], None]] = field(default_factory=list)
    # Admission: called with every object a create/update over HTTP would store
    # (dry run or not); raising ApiError rejects the request (see `webhook_denies`).
    admission: list[Callable[[FakeCluster, Resource, Obj], None]] = field(default_factory=list)
    rv: int = 1
    compacted_rv: int = 0
    drop_epoch: int = 0
    fail_next: list[tuple[str, int]] = field(default_factory=list)  # (path substring, status)
    # As the real server: creating in a namespace that does not exist is 404.
    require_namespaces: bool = False

    def __post_init__(self) -> None:
        self.cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})

    # ---- lifecycle

    def start(self) -> FakeCluster:
        cluster = self

        class Handler(_Handler):
            pass

        Handler.cluster = cluster
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        return self

    def stop(self) -> None:
        with self.cond:
            self.drop_epoch += 1
            self.stopped = True
            self.cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the cluster first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def write_kubeconfig(
        self, path: Path, *, namespace: str = "default", token: str = "fake-token"
    ) -> Path:
        return write_kubeconfig(path, self.url, namespace=namespace, token=token)

    # ---- reads

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        r = resource_for(kind)
        obj = self.objects.get(self._key(r, namespace, name))
        return copy.deepcopy(obj) if obj else None

    def list(self, kind: str, namespace: str = "", label_selector: str = "") -> list[Obj]:
        r = resource_for(kind)
        with self.cond:
            return [
                copy.deepcopy(o)
                for (gv, plural, ns, _), o in sorted(self.objects.items())
                if (gv, plural) == (r.group_version, r.plural)
                and (not namespace or ns == namespace)
                and label_matches(o["metadata"].get("labels") or {}, label_selector)
            ]

    # ---- writes (each bumps the resourceVersion and is seen by watches)

    def add(self, obj: Obj) -> Obj:
        r = KINDS[obj["kind"]]
        with self.cond:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            if r.namespaced:
                meta.setdefault("namespace", "default")
            key = self._key(r, meta.get("namespace", ""), meta["name"])
            if key in self.objects:
                raise ApiError(
                    409,
                    "AlreadyExists",
                    f'{r.plural}{_group_suffix(r)} "{meta["name"]}" already exists',
                    name=meta["name"],
                    kind=r.plural,
                )
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now_iso())
            if r.has_generation:
                meta.setdefault("generation", 1)
            self._commit(r, key, obj, "ADDED")
            return copy.deepcopy(obj)

    def modify(self, kind: str, namespace: str, name: str, change: Callable[[Obj], Any]) -> Obj:
        """Apply `change(obj)` in place (or use its return value); bumps generation on spec changes."""
        r = resource_for(kind)
        with self.cond:
            key = self._key(r, namespace, name)
            old = self.objects.get(key)
            if old is None:
                raise _not_found(r, name)
            new = copy.deepcopy(old)
            returned = change(new)
            if isinstance(returned, dict):
                new = returned
            return self._replace(r, key, old, new, status_only=False)

    def patch_status(self, kind: str, namespace: str, name: str, status: Obj) -> Obj:
        """Merge `status` into the object's status (as a controller would); no generation bump."""
        r = resource_for(kind)
        with self.cond:
            key = self._key(r, namespace, name)
            old = self.objects.get(key)
            if old is None:
                raise _not_found(r, name)
            new = copy.deepcopy(old)
            new["status"] = merge_patch(old.get("status") or {}, status)
            return self._replace(r, key, old, new, status_only=True)

    def delete(self, kind: str, namespace: str, name: str) -> Obj:
        r = resource_for(kind)
        with self.cond:
            key = self._key(r, namespace, name)
            obj = self.objects.pop(key, None)
            if obj is None:
                raise _not_found(r, name)
            self.rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.history.append(WatchEvent(self.rv, "DELETED", r, obj))
            self.cond.notify_all()
            return obj

    def set_logs(
        self, namespace: str, pod: str, container: str, text: str, *, previous: bool = False
    ) -> None:
        self.logs[(namespace, pod, container, previous)] = text

    def compact(self) -> None:
        """Forget history: watching from any resourceVersion seen so far gives 410 Gone."""
        with self.cond:
            self.rv += 1
            self.compacted_rv = self.rv
            self.history.clear()
            self.cond.notify_all()

    def drop_watches(self) -> None:
        """Cut every open watch stream mid-flight (no terminating chunk)."""
        with self.cond:
            self.drop_epoch += 1
            self.cond.notify_all()

    def play(self, scenario: Scenario) -> threading.Thread:
        """Run `(delay, mutation)` steps in order on a daemon thread; delays are relative."""

        def run() -> None:
            for delay, mutation in scenario:
                time.sleep(delay)
                if getattr(self, "stopped", False):
                    return
                mutation(self)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def wait_scenarios(self, timeout: float = 30) -> None:
        for thread in self._threads:
            thread.join(timeout)

    # ---- internals

    @staticmethod
    def _key(r: Resource, namespace: str, name: str) -> tuple[str, str, str, str]:
        return (r.group_version, r.plural, namespace if r.namespaced else "", name)

    def _replace(
        self, r: Resource, key: tuple[str, str, str, str], old: Obj, new: Obj, *, status_only: bool
    ) -> Obj:
        meta = new.setdefault("metadata", {})
        for fixed in ("uid", "creationTimestamp", "namespace", "name"):
            if fixed in old["metadata"]:
                meta[fixed] = old["metadata"][fixed]
        if status_only:
            new = {**old, "status": new.get("status", {})}
        elif "status" in old:
            new["status"] = old["status"]  # the main resource ignores status writes
        if r.has_generation and not status_only:
            generation = int(old["metadata"].get("generation", 1))
            meta["generation"] = generation + (new.get("spec") != old.get("spec"))
        self._commit(r, key, new, "MODIFIED")
        return copy.deepcopy(new)

    def _commit(self, r: Resource, key: tuple[str, str, str, str], obj: Obj, kind: str) -> None:
        self.rv += 1
        obj.setdefault("apiVersion", r.api_version)
        obj.setdefault("kind", r.kind)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[key] = obj
        self.history.append(WatchEvent(self.rv, kind, r, copy.deepcopy(obj)))
        self.cond.notify_all()


def _group_suffix(r: Resource) -> str:
    return "." + r.group_version.split("/")[0] if "/" in r.group_version else ""


def _not_found(r: Resource, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{r.plural}{_group_suffix(r)} "{name}" not found',
        name=name,
        group=r.group_version.split("/")[0] if "/" in r.group_version else "",
        kind=r.plural,
    )


def write_kubeconfig(
    path: Path, server: str, *, namespace: str = "default", token: str = "fake-token"
) -> Path:
    """A kubeconfig whose current context points at `server` (a bearer-token user)."""
    import yaml

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "fake", "user": {"token": token}}],
        "contexts": [
            {"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}}
        ],
        "current-context": "fake",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


# ---------------------------------------------------------------- tables


def _age(obj: Obj) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    then = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    seconds = max(0, int((datetime.now(timezone.utc) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _pod_status(pod: Obj) -> str:
    for c in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (c.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            return str(waiting["reason"])
    return str((pod.get("status") or {}).get("phase", "Unknown"))


def _columns(kind: str) -> list[tuple[str, Callable[[Obj], Any]]]:
    name: tuple[str, Callable[[Obj], Any]] = ("Name", lambda o: o["metadata"]["name"])
    age: tuple[str, Callable[[Obj], Any]] = ("Age", _age)
    st: Callable[[Obj], Obj] = lambda o: o.get("status") or {}  # noqa: E731
    if kind == "Deployment":
        return [
            name,
            ("Ready", lambda o: f"{st(o).get('readyReplicas', 0)}/{o['spec'].get('replicas', 1)}"),
            ("Up-to-date", lambda o: st(o).get("updatedReplicas", 0)),
            ("Available", lambda o: st(o).get("availableReplicas", 0)),
            age,
        ]
    if kind == "ReplicaSet":
        return [
            name,
            ("Desired", lambda o: o["spec"].get("replicas", 1)),
            ("Current", lambda o: st(o).get("replicas", 0)),
            ("Ready", lambda o: st(o).get("readyReplicas", 0)),
            age,
        ]
    if kind == "StatefulSet":
        return [
            name,
            ("Ready", lambda o: f"{st(o).get('readyReplicas', 0)}/{o['spec'].get('replicas', 1)}"),
            age,
        ]
    if kind == "DaemonSet":
        return [
            name,
            ("Desired", lambda o: st(o).get("desiredNumberScheduled", 0)),
            ("Current", lambda o: st(o).get("currentNumberScheduled", 0)),
            ("Ready", lambda o: st(o).get("numberReady", 0)),
            ("Up-to-date", lambda o: st(o).get("updatedNumberScheduled", 0)),
            ("Available", lambda o: st(o).get("numberAvailable", 0)),
            age,
        ]
    if kind == "Pod":
        statuses: Callable[[Obj], list[Obj]] = lambda o: st(o).get("containerStatuses") or []  # noqa: E731
        return [
            name,
            (
                "Ready",
                lambda o: (
                    f"{sum(1 for c in statuses(o) if c.get('ready'))}/{len(o['spec'].get('containers', []))}"
                ),
            ),
            ("Status", _pod_status),
            ("Restarts", lambda o: sum(int(c.get("restartCount") or 0) for c in statuses(o))),
            age,
        ]
    if kind == "Event":
        return [
            ("Last Seen", _age),
            ("Type", lambda o: o.get("type", "")),
            ("Reason", lambda o: o.get("reason", "")),
            (
                "Object",
                lambda o: (
                    f"{(o.get('involvedObject') or {}).get('kind', '').lower()}/{(o.get('involvedObject') or {}).get('name', '')}"
                ),
            ),
            ("Message", lambda o: o.get("message", "")),
        ]
    return [name, age]


def as_table(kind: str, objects: list[Obj], resource_version: str, include_object: str) -> Obj:
    """A meta.k8s.io/v1 Table, what `kubectl get` asks for to print columns."""
    columns = _columns(kind)
    definitions = [
        {
            "name": title,
            "type": "integer"
            if title in ("Up-to-date", "Available", "Desired", "Current", "Restarts")
            else "string",
            "format": "name" if title == "Name" else "",
            "description": title,
            "priority": 0,
        }
        for title, _ in columns
    ]
    rows = []
    for obj in objects:
        if include_object == "Object":
            embedded = obj
        else:
            embedded = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append({"cells": [cell(obj) for _, cell in columns], "object": embedded})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }


# ---------------------------------------------------------------- HTTP


def _discovery_groups() -> dict[str, list[Resource]]:
    groups: dict[str, list[Resource]] = {}
    for r in RESOURCES.values():
        groups.setdefault(r.group_version, []).append(r)
    return groups


def _resource_list(group_version: str) -> Obj:
    items = []
    for r in _discovery_groups().get(group_version, []):
        verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        items.append(
            {
                "name": r.plural,
                "singularName": r.kind.lower(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": verbs,
                "shortNames": list(r.short_names),
                **({"categories": ["all"]} if r.kind not in ("Event", "Namespace") else {}),
            }
        )
        for sub in r.subresources:
            sub_verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
            kind = "Pod" if sub == "log" else r.kind
            items.append(
                {
                    "name": f"{r.plural}/{sub}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": kind,
                    "verbs": sub_verbs,
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": items,
    }


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # ---- plumbing

    def _send_json(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            import yaml

            return yaml.safe_load(raw)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.cluster.requests.append((method, url.path, query))
        for i, (fragment, code) in enumerate(self.cluster.fail_next):
            if fragment in url.path:
                del self.cluster.fail_next[i]
                self._send_json(code, status_body(code, "InternalError", "injected failure"))
                return
        try:
            self._route(method, url.path, query)
        except ApiError as exc:
            self._send_json(exc.code, exc.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # ---- routing

    def _route(self, method: str, path: str, query: dict[str, str]) -> None:
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return self._send_json(200, SERVER_VERSION)
        if parts == ["api"]:
            return self._send_json(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}
                    ],
                },
            )
        if parts == ["apis"]:
            groups = [
                {
                    "name": gv.split("/")[0],
                    "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                    "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]},
                }
                for gv in _discovery_groups()
                if "/" in gv
            ]
            return self._send_json(
                200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
            )
        if parts[:1] == ["api"] and len(parts) >= 2:
            group_version, rest = parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({path})"
            )
        if group_version not in _discovery_groups():
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({path})"
            )
        if not rest:
            return self._send_json(200, _resource_list(group_version))
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        resource = RESOURCES.get((group_version, rest[0]))
        if resource is None:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({path})"
            )
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if sub and sub not in resource.subresources:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({path})"
            )
        if method == "GET" and not name:
            if query.get("watch") in ("true", "1"):
                return self._watch(resource, namespace, query)
            return self._list(resource, namespace, query)
        if method == "GET" and sub == "log":
            return self._log(namespace, name, query)
        if method == "GET":
            obj = self.cluster.get(resource.kind, namespace, name)
            if obj is None:
                raise _not_found(resource, name)
            if self._wants_table():
                rv = obj["metadata"]["resourceVersion"]
                return self._send_json(
                    200, as_table(resource.kind, [obj], rv, query.get("includeObject", ""))
                )
            return self._send_json(200, obj)
        dry_run = query.get("dryRun") == "All"
        if method == "POST" and not name:
            return self._create(resource, namespace, dry_run)
        if method == "DELETE" and name:
            obj = self.cluster.delete(resource.kind, namespace, name) if not dry_run else None
            return self._send_json(200, obj or self.cluster.get(resource.kind, namespace, name))
        if method in ("PUT", "PATCH") and name:
            return self._update(method, resource, namespace, name, sub, dry_run)
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {path}")

    def _list(self, r: Resource, namespace: str, query: dict[str, str]) -> None:
        with self.cluster.cond:
            items = [
                o
                for o in self.cluster.list(r.kind, namespace, query.get("labelSelector", ""))
                if field_matches(o, query.get("fieldSelector", ""))
            ]
            rv = self.cluster.rv
        if self._wants_table():
            table = as_table(r.kind, items, str(rv), query.get("includeObject", ""))
            return self._send_json(200, table)
        body = {
            "kind": f"{r.kind}List",
            "apiVersion": r.api_version,
            "metadata": {"resourceVersion": str(rv)},
            "items": items,
        }
        self._send_json(200, body)

    def _wants_table(self) -> bool:
        return "as=Table" in (self.headers.get("Accept") or "")

    def _log(self, namespace: str, name: str, query: dict[str, str]) -> None:
        pod = self.cluster.get("Pod", namespace, name)
        if pod is None:
            raise _not_found(RESOURCES[("v1", "pods")], name)
        containers = [c["name"] for c in pod.get("spec", {}).get("containers", [])]
        container = query.get("container") or (containers[0] if len(containers) == 1 else "")
        if not container:
            raise ApiError(
                400,
                "BadRequest",
                f"a container name must be specified for pod {name}, choose one of: {containers}",
            )
        previous = query.get("previous") in ("true", "1")
        text = self.cluster.logs.get((namespace, name, container, previous))
        if text is None:
            if previous:
                raise ApiError(
                    400,
                    "BadRequest",
                    f'previous terminated container "{container}" in pod "{name}" not found',
                )
            text = ""
        if query.get("tailLines"):
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(query["tailLines"]) :]) if int(query["tailLines"]) else ""
        self._send_text(200, text)

    def _create(self, r: Resource, namespace: str, dry_run: bool) -> None:
        obj = self._body() or {}
        obj.setdefault("metadata", {})
        if r.namespaced:
            obj["metadata"]["namespace"] = namespace or obj["metadata"].get("namespace", "default")
        obj.setdefault("kind", r.kind)
        obj.setdefault("apiVersion", r.api_version)
        ns = obj["metadata"].get("namespace", "")
        if (
            r.namespaced
            and self.cluster.require_namespaces
            and not self.cluster.get("Namespace", "", ns)
        ):
            raise _not_found(RESOURCES[("v1", "namespaces")], ns)
        self._admit(r, obj)
        if dry_run:
            if self.cluster.get(
                r.kind, obj["metadata"].get("namespace", ""), obj["metadata"].get("name", "")
            ):
                raise ApiError(
                    409, "AlreadyExists", f'{r.plural} "{obj["metadata"]["name"]}" already exists'
                )
            return self._send_json(201, obj)
        created = self.cluster.add(obj)
        self._after_write(r, created)
        self._send_json(201, created)

    def _update(
        self, method: str, r: Resource, namespace: str, name: str, sub: str, dry_run: bool
    ) -> None:
        body = self._body()
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        current = self.cluster.get(r.kind, namespace, name)
        if current is None:
            raise _not_found(r, name)
        if method == "PUT":
            new = body
        elif content_type == "application/json-patch+json":
            new = json_patch(current, body or [])
        elif content_type == "application/merge-patch+json":
            new = merge_patch(current, body or {})
        elif content_type == "application/strategic-merge-patch+json":
            new = strategic_merge(current, body or {})
        else:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format: {content_type}",
            )
        self._admit(r, new)
        if dry_run:
            return self._send_json(200, new)
        if sub == "status":
            updated = self.cluster.patch_status(
                r.kind, namespace, name, (new or {}).get("status") or {}
            )
        else:
            updated = self.cluster.modify(r.kind, namespace, name, lambda _old: new)
        self._after_write(r, updated)
        self._send_json(200, updated)

    def _admit(self, r: Resource, obj: Obj) -> None:
        for hook in list(self.cluster.admission):
            hook(self.cluster, r, obj)

    def _after_write(self, r: Resource, obj: Obj) -> None:
        for hook in list(self.cluster.on_write):
            hook(self.cluster, r, obj)

    # ---- watch

    def _watch(self, r: Resource, namespace: str, query: dict[str, str]) -> None:
        cluster = self.cluster
        labels, fields = query.get("labelSelector", ""), query.get("fieldSelector", "")
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def matches(ev_obj: Obj) -> bool:
            meta = ev_obj.get("metadata", {})
            return (
                (not namespace or meta.get("namespace") == namespace)
                and label_matches(meta.get("labels") or {}, labels)
                and field_matches(ev_obj, fields)
            )

        def send(event_type: str, obj: Obj) -> None:
            line = json.dumps({"type": event_type, "object": obj}).encode() + b"\n"
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()

        def bookmark(rv: int, initial_end: bool = False) -> None:
            meta: Obj = {"resourceVersion": str(rv)}
            if initial_end:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            send("BOOKMARK", {"kind": r.kind, "apiVersion": r.api_version, "metadata": meta})

        with cluster.cond:
            epoch = cluster.drop_epoch
            start_text = query.get("resourceVersion", "")
            initial = query.get("sendInitialEvents") in ("true", "1")
            if start_text in ("", "0") or initial:
                # "any" version: the current state as ADDED events, then changes
                start = cluster.rv
                snapshot = [
                    o for o in cluster.list(r.kind, namespace, labels) if field_matches(o, fields)
                ]
            else:
                start = int(start_text)
                snapshot = []
                if start < cluster.compacted_rv:
                    send(
                        "ERROR",
                        status_body(
                            410,
                            "Expired",
                            f"too old resource version: {start} ({cluster.compacted_rv})",
                        ),
                    )
                    self._end_chunks()
                    return
        try:
            for obj in snapshot:
                send("ADDED", obj)
            if initial and bookmarks:
                bookmark(start, initial_end=True)
            last_bookmark = time.monotonic()
            cursor = start
            while True:
                with cluster.cond:
                    pending = [e for e in cluster.history if e.rv > cursor and e.resource == r]
                    if not pending and cluster.drop_epoch == epoch:
                        cluster.cond.wait(0.05)
                        pending = [e for e in cluster.history if e.rv > cursor and e.resource == r]
                    dropped = cluster.drop_epoch != epoch
                    current_rv = cluster.rv
                if dropped:
                    self._drop()
                    return
                for ev in pending:
                    cursor = ev.rv
                    if matches(ev.obj):
                        send(ev.type, ev.obj)
                if not pending:
                    cursor = max(cursor, current_rv)
                if bookmarks and time.monotonic() - last_bookmark >= cluster.bookmark_interval:
                    bookmark(cursor)
                    last_bookmark = time.monotonic()
                if time.monotonic() >= deadline:
                    self._end_chunks()
                    return
        except (BrokenPipeError, ConnectionResetError, OSError):
            return

    def _end_chunks(self) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _drop(self) -> None:
        """Cut the connection without ending the chunked body, as a crashed proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# ---------------------------------------------------------------- admission


def webhook_denies(
    webhook: str, message: str, when: Callable[[Obj], bool]
) -> Callable[[FakeCluster, Resource, Obj], None]:
    """A validating admission webhook that denies the objects `when` picks, as the
    API server reports it: 400 with `admission webhook "NAME" denied the request: ...`."""

    def hook(_cluster: FakeCluster, _r: Resource, obj: Obj) -> None:
        if when(obj):
            raise ApiError(
                400, "BadRequest", f'admission webhook "{webhook}" denied the request: {message}'
            )

    return hook


def field_invalid(
    field_path: str, message: str, when: Callable[[Obj], bool]
) -> Callable[[FakeCluster, Resource, Obj], None]:
    """Built-in validation failing one field: 422 Invalid with `details.causes`."""

    def hook(_cluster: FakeCluster, r: Resource, obj: Obj) -> None:
        if when(obj):
            name = obj.get("metadata", {}).get("name", "")
            raise ApiError(
                422,
                "Invalid",
                f'{r.kind}{_group_suffix(r)} "{name}" is invalid: {field_path}: {message}',
                name=name,
                group=r.group_version.split("/")[0] if "/" in r.group_version else "",
                kind=r.kind,
                causes=[{"reason": "FieldValueInvalid", "message": message, "field": field_path}],
            )

    return hook
