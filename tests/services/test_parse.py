"""The services description: every bad input is exit 2 naming the service and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ci_actions import yamlsafe
from ci_actions.errors import EXIT_INPUT
from ci_actions.services import MAX_MATRIX
from ci_actions.services.model import ServicesError
from ci_actions.services.parse import parse_services
from ci_actions.services.select import select

TREE = ["api/Dockerfile", "web/Dockerfile", "web/sub/Dockerfile", "lib/x.py", "Dockerfile"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for rel in TREE:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("FROM scratch\n")
    (tmp_path / "outside").write_text("FROM scratch\n")
    (tmp_path / "web" / "link").symlink_to(tmp_path / "outside")
    return tmp_path


API = "{name: api, context: api, image: ghcr.io/acme/api}"
WEB = "{name: web, context: web, image: ghcr.io/acme/web}"

# (id, YAML, service named, field named, words of the message)
BAD = [
    ("named-twice", f"[{API}, {WEB}, {API}]", "api", "name", "named twice"),
    ("context-missing", "[{name: api, context: nope, image: ghcr.io/a/api}]", "api", "context",
     "'nope' is not a folder"),
    ("context-escapes", "[{name: api, context: ../x, image: ghcr.io/a/api}]", "api", "context",
     "not a path inside the repository"),
    ("context-absolute", "[{name: api, context: /etc, image: ghcr.io/a/api}]", "api", "context",
     "not a path inside the repository"),
    ("dockerfile-outside", "[{name: api, context: api, dockerfile: web/Dockerfile, "
     "image: ghcr.io/a/api}]", "api", "dockerfile", "outside the build context 'api'"),
    ("dockerfile-dotdot", "[{name: api, context: api, dockerfile: api/../Dockerfile, "
     "image: ghcr.io/a/api}]", "api", "dockerfile", "outside the build context"),
    ("dockerfile-symlink-out", "[{name: web, context: web, dockerfile: web/link, "
     "image: ghcr.io/a/web}]", "web", "dockerfile", "resolves outside the build context"),
    ("dockerfile-missing", "[{name: lib, context: lib, image: ghcr.io/a/lib}]", "lib",
     "dockerfile", "'lib/Dockerfile' does not exist"),
    ("same-image", f"[{API}, {{name: web, context: web, image: ghcr.io/acme/api}}]", "web", "image",
     "also the image of service 'api'"),
    ("same-image-hub-spelling", "[{name: a, context: api, image: nginx}, "
     "{name: b, context: web, image: docker.io/library/nginx}]", "b", "image", "also the image"),
    ("image-with-tag", "[{name: api, context: api, image: 'ghcr.io/a/api:1.0'}]", "api", "image",
     "has a tag or digest"),
    ("unknown-key", "[{name: api, context: api, image: ghcr.io/a/api, port: 80}]", "api", "port",
     "unknown key(s) 'port'"),
    ("unknown-env-key", "[{name: api, context: api, image: ghcr.io/a/api, "
     "environments: {dev: {replicas: 2}}}]", "api", "environments.dev", "unknown key(s) 'replicas'"),
    ("unknown-top-key", f"{{services: [{API}], version: 2}}", "", "version",
     "unknown key(s) 'version'"),
    ("wrong-type-paths", "[{name: api, context: api, image: ghcr.io/a/api, paths: {a: b}}]", "api",
     "paths", "must be a list of glob strings, not dict"),
    ("wrong-type-context", "[{name: api, context: [api], image: ghcr.io/a/api}]", "api", "context",
     "must be a string"),
    ("wrong-type-auto-rollback", "[{name: api, context: api, image: ghcr.io/a/api, "
     "environments: {prod: {auto-rollback: 'no'}}}]", "api", "environments.prod.auto-rollback",
     "must be true or false, not str"),
    ("wrong-type-environment", "[{name: api, context: api, image: ghcr.io/a/api, "
     "environments: {prod: 3}}]", "api", "environments.prod", "must be a mapping"),
    ("wrong-type-name", "[{name: 7, context: api, image: ghcr.io/a/api}]", "#1", "name",
     "must be a string, not int"),
    ("name-missing", "[{context: api, image: ghcr.io/a/api}]", "#1", "name", "is required"),
    ("image-missing", "[{name: api, context: api}]", "api", "image", "is required"),
    ("bad-name", "[{name: 'a b', context: api, image: ghcr.io/a/api}]", "a b", "name",
     "must start with a letter or digit"),
    ("service-not-mapping", "[api]", "#1", "services", "must be a mapping, not str"),
    ("not-a-list", "{services: api}", "", "services", "must be a list of services"),
    ("empty", "{services: []}", "", "services", "declares no services"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "service", "field", "words"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_input_names_service_and_field(
    root: Path, text: str, service: str, field: str, words: str
) -> None:
    with pytest.raises(ServicesError) as caught:
        parse_services(yamlsafe.load(text), root)
    err = caught.value
    assert (err.service, err.field, err.exit_code) == (service, field, EXIT_INPUT)
    assert words in str(err)
    if service:
        assert f"service {service!r}" in str(err)
    assert f"field {field!r}" in str(err)


def _many(n: int) -> dict[str, Any]:
    return {
        "services": [{"name": f"s{i}", "context": ".", "image": f"r.io/s{i}"} for i in range(n)]
    }


def test_more_services_than_a_matrix_holds(root: Path) -> None:
    assert len(parse_services(_many(MAX_MATRIX), root)) == 256  # GitHub's limit: allowed
    with pytest.raises(ServicesError) as caught:
        parse_services(_many(MAX_MATRIX + 1), root)
    assert (caught.value.service, caught.value.field) == ("s256", "services")
    assert "257 services: more than GitHub's limit of 256" in str(caught.value)


def test_defaults_and_normalised_paths(root: Path) -> None:
    (svc,) = parse_services(
        yamlsafe.load("services:\n- {name: web, context: ./web/, paths: lib/**, image: r.io/w}"),
        root,
    )
    assert (svc.context, svc.dockerfile, svc.paths) == (
        "web",
        "web/Dockerfile",
        ("web/**", "lib/**"),
    )
    (top,) = parse_services([{"name": "all", "context": ".", "image": "r.io/all"}], root)
    assert (top.dockerfile, top.paths) == ("Dockerfile", ("**",))


# (context, dockerfile, declared paths, expected change paths): a root context is narrowed by
# what it declares (a Dockerfile in a subfolder that copies its folder and shared code)
CHANGE_PATHS = [
    (".", "Dockerfile", [], ("**",)),
    (
        ".",
        "svc/api/Dockerfile",
        ["svc/api/**", "lib/**"],
        ("svc/api/Dockerfile", "svc/api/**", "lib/**"),
    ),
    (".", "svc/api/Dockerfile", ["svc/api/Dockerfile"], ("svc/api/Dockerfile",)),
    ("web", "web/Dockerfile", ["lib/**"], ("web/**", "lib/**")),
    ("web", "web/Dockerfile", ["web/**"], ("web/**",)),
]


@pytest.mark.parametrize(("context", "dockerfile", "declared", "expected"), CHANGE_PATHS)
def test_change_paths(
    context: str, dockerfile: str, declared: list[str], expected: tuple[str, ...]
) -> None:
    entry = {"name": "s", "context": context, "dockerfile": dockerfile, "image": "r.io/s"}
    (svc,) = parse_services([{**entry, "paths": declared}])
    assert svc.paths == expected


def test_root_context_with_paths_selects_only_on_them() -> None:
    data = [
        {"name": "api", "context": ".", "dockerfile": "svc/api/Dockerfile", "image": "r.io/a",
         "paths": ["svc/api/**", "lib/**"]},
        {"name": "worker", "context": ".", "dockerfile": "svc/worker/Dockerfile",
         "image": "r.io/w", "paths": ["svc/worker/**", "lib/**"]},
    ]  # fmt: skip
    services = parse_services(data)
    assert [s.name for s in select(services, ["svc/worker/main.py"])] == ["worker"]
    assert [s.name for s in select(services, ["lib/x.py"])] == ["api", "worker"]
    assert [s.name for s in select(services, ["svc/api/Dockerfile"])] == ["api"]


# (changed files, expected names): a root context selects on any code change, never on docs
SELECT = [
    (["web/sub/x.py"], ["all", "web"]),
    (["README.md", "web/NOTES.md"], []),
    (["webx/a.py"], ["all"]),
    ([], []),
]


@pytest.mark.parametrize(("files", "expected"), SELECT)
def test_select_by_paths(root: Path, files: list[str], expected: list[str]) -> None:
    services = parse_services(
        [
            {"name": "all", "context": ".", "image": "r.io/all"},
            {"name": "web", "context": "web", "image": "r.io/web"},
        ],
        root,
    )
    assert [s.name for s in select(services, files, ["**/*.md"])] == expected
