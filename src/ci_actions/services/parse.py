"""Read a services description: a declarative check of its shape, then the rules between
fields (contexts that exist, Dockerfiles inside them, unique names and images).

The description is `{services: [SERVICE, ...]}` (the section of `.github/ci-actions.yml`)
or the list alone; a list keeps the declaration order and makes a name given twice an
error instead of a silently dropped mapping key.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from ci_actions import imageref
from ci_actions.services import MAX_MATRIX
from ci_actions.services.model import Service, ServiceEnvironment, ServicesError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _is_str_or_list(value: object) -> bool:
    return _is_str(value) or _is_str_list(value)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_mapping(value: object) -> bool:
    return isinstance(value, Mapping)


# field -> (check, what it must be); the schema of a service and of one environment of it
Schema = Mapping[str, tuple[Callable[[object], bool], str]]
SERVICE_SCHEMA: Schema = {
    "name": (_is_str, "a string"),
    "context": (_is_str, "a string (a folder of the repository)"),
    "dockerfile": (_is_str, "a string (a path from the repository root)"),
    "image": (_is_str, "a string (REGISTRY/REPOSITORY, no tag)"),
    "paths": (_is_str_or_list, "a list of glob strings"),
    "environments": (_is_mapping, "a mapping of environment name to its settings"),
}
REQUIRED = ("name", "context", "image")
ENVIRONMENT_SCHEMA: Schema = {
    "workloads": (_is_str_or_list, "a list of KIND/NAME strings"),
    "health-url": (_is_str, "a string (a URL)"),
    "auto-rollback": (_is_bool, "true or false"),
}
TOP_KEYS = ("services",)


def _check_shape(
    data: Mapping[object, object], schema: Schema, service: str, prefix: str = ""
) -> None:
    unknown = [str(k) for k in data if k not in schema]
    if unknown:
        raise ServicesError(
            f"unknown key(s) {', '.join(map(repr, unknown))}",
            service=service,
            field=prefix.rstrip(".") or unknown[0],
            hint=f"known keys: {', '.join(schema)}",
        )
    for key, value in data.items():
        check, want = schema[str(key)]
        if not check(value):
            raise ServicesError(
                f"must be {want}, not {type(value).__name__}",
                service=service,
                field=f"{prefix}{key}",
            )


def _entries(data: object) -> list[object]:
    if isinstance(data, Mapping):
        unknown = [str(k) for k in data if k not in TOP_KEYS]
        if unknown:
            raise ServicesError(
                f"unknown key(s) {', '.join(map(repr, unknown))}", field=unknown[0],
                hint=f"known keys: {', '.join(TOP_KEYS)}",
            )  # fmt: skip
        data = data.get("services")
    if not isinstance(data, list):
        raise ServicesError(
            f"must be a list of services, not {type(data).__name__}",
            field="services",
            hint="e.g.  services: [{name: api, context: services/api, image: ghcr.io/acme/api}]",
        )
    if not data:
        raise ServicesError("declares no services", field="services")
    if len(data) > MAX_MATRIX:
        extra = data[MAX_MATRIX]
        name = str(extra.get("name", "")) if isinstance(extra, Mapping) else ""
        raise ServicesError(
            f"{len(data)} services: more than GitHub's limit of {MAX_MATRIX} matrix entries",
            service=name or f"#{MAX_MATRIX + 1}",
            field="services",
            hint="split the repository's services over several workflows",
        )
    return list(data)


def _relative(value: str, service: str, field: str) -> str:
    """A `/`-separated path inside the repository, normalised; "." for the root."""
    text = value.strip()
    norm = posixpath.normpath(text.removeprefix("./")) if text else ""
    if not text or text.startswith("/") or norm == ".." or norm.startswith("../") or "\\" in text:
        raise ServicesError(
            f"{value!r} is not a path inside the repository", service=service, field=field
        )
    return norm


def _inside(path: str, folder: str) -> bool:
    return folder == "." or path == folder or path.startswith(folder + "/")


def _environments(data: Mapping[object, object], service: str) -> tuple[ServiceEnvironment, ...]:
    out = []
    for env, body in data.items():
        if not isinstance(env, str) or not NAME_RE.match(env):
            raise ServicesError(
                f"environment name {env!r} must be letters, digits, '.', '_' or '-'",
                service=service, field="environments",
            )  # fmt: skip
        if not isinstance(body, Mapping):
            raise ServicesError(
                f"must be a mapping (workloads, health-url, auto-rollback), not {type(body).__name__}",
                service=service, field=f"environments.{env}",
            )  # fmt: skip
        _check_shape(body, ENVIRONMENT_SCHEMA, service, f"environments.{env}.")
        workloads = body.get("workloads", [])
        out.append(
            ServiceEnvironment(
                env,
                tuple([workloads] if isinstance(workloads, str) else workloads),
                str(body.get("health-url", "")).strip(),
                bool(body.get("auto-rollback", True)),
            )
        )
    return tuple(out)


def _image(value: str, service: str) -> str:
    try:
        ref = imageref.parse(value)
    except imageref.ImageRefError as exc:
        raise ServicesError(str(exc), service=service, field="image") from None
    if ref.tag or ref.digest:
        raise ServicesError(
            f"{value!r} has a tag or digest", service=service, field="image",
            hint="give REGISTRY/REPOSITORY alone; the pipeline computes the tags",
        )  # fmt: skip
    return ref.name


def _service(data: object, index: int, root: Path | None, seen: set[str]) -> Service:
    """One service; the fields are checked in the order a reader fixes them: shape, name,
    image, context, Dockerfile, paths, environments."""
    if not isinstance(data, Mapping):
        raise ServicesError(
            f"must be a mapping, not {type(data).__name__}",
            service=f"#{index + 1}",
            field="services",
        )
    name = data.get("name")
    label = name if isinstance(name, str) and name else f"#{index + 1}"
    _check_shape(data, SERVICE_SCHEMA, label)
    for key in REQUIRED:
        if not str(data.get(key, "")).strip():
            raise ServicesError("is required", service=label, field=key)
    if not NAME_RE.match(label):
        raise ServicesError(
            f"{label!r} must start with a letter or digit, then letters, digits, '.', '_' or '-'",
            service=label, field="name",
        )  # fmt: skip
    if label in seen:
        raise ServicesError("named twice: service names are unique", service=label, field="name")
    seen.add(label)
    image = _image(str(data["image"]), label)
    context = _relative(str(data["context"]), label, "context")
    folder = _context_exists(root, context, label) if root is not None else None
    dockerfile = _relative(
        str(data.get("dockerfile") or posixpath.join(context, "Dockerfile")), label, "dockerfile"
    )
    if not _inside(dockerfile, context) or dockerfile == context:
        raise ServicesError(
            f"{dockerfile!r} is outside the build context {context!r}",
            service=label, field="dockerfile",
            hint="move the Dockerfile into its context, or widen the context",
        )  # fmt: skip
    if root is not None and folder is not None:
        _dockerfile_exists(root, folder, dockerfile, label)
    paths = data.get("paths", [])
    return Service(
        name=label,
        context=context,
        dockerfile=dockerfile,
        image=image,
        paths=_change_paths(context, dockerfile, [paths] if isinstance(paths, str) else paths),
        environments=_environments(data.get("environments", {}), label),
    )


def _change_paths(context: str, dockerfile: str, declared: list[str]) -> tuple[str, ...]:
    """What changes a service: its context, then the declared paths. A root context is the
    whole repository, which would select the service on every change: there the declared
    paths (the sources its Dockerfile copies, shared code) narrow it, with the Dockerfile
    itself; a root context with no paths keeps every file."""
    if context != ".":
        return (f"{context}/**", *(p for p in declared if p != f"{context}/**"))
    own = (dockerfile,) if declared else ("**",)
    return (*own, *(p for p in declared if p not in own))


def _context_exists(base: Path, context: str, service: str) -> Path:
    """The context folder, symlinks resolved; it must be a folder of the checkout `base`."""
    folder = (base / context).resolve()
    if not folder.is_dir() or not folder.is_relative_to(base):  # both resolved: by spelling
        raise ServicesError(
            f"{context!r} is not a folder of the repository", service=service, field="context"
        )
    return folder


def _dockerfile_exists(base: Path, folder: Path, dockerfile: str, service: str) -> None:
    file = (base / dockerfile).resolve()
    if not file.is_file():
        raise ServicesError(f"{dockerfile!r} does not exist", service=service, field="dockerfile")
    if not file.is_relative_to(folder):  # a symlink out of the context
        raise ServicesError(
            f"{dockerfile!r} resolves outside the build context {folder.relative_to(base)}",
            service=service, field="dockerfile",
        )  # fmt: skip


def parse_services(data: object, root: Path | None = None) -> tuple[Service, ...]:
    """The services of a description (see the module's doc); `root` checks that every
    context and Dockerfile exists in that checkout. Raises ServicesError."""
    seen: set[str] = set()
    base = root.resolve() if root is not None else None
    services = [_service(entry, i, base, seen) for i, entry in enumerate(_entries(data))]
    images: dict[str, str] = {}
    for service in services:
        ref = imageref.parse(service.image)
        key = f"{ref.registry}/{ref.repository}"
        if key in images:
            raise ServicesError(
                f"{service.image!r} is also the image of service {images[key]!r}",
                service=service.name, field="image",
                hint="each service pushes an image of its own",
            )  # fmt: skip
        images[key] = service.name
    return tuple(services)
