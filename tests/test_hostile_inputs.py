"""Hostile values in every input of every action and in every ledger field.

The table is built from the actions' SPECs and from the ledger's own line
format, so a new input or a new field is covered without touching this file.
Each value tries to become a git (or builder, scanner) option that creates a
marker file; the action must never create it. A single value with a grammar
(a ref, a SHA, a tag, an image...) must be refused with exit 2 before any
work; a one-line value refuses a line break; nothing accepts NUL nor bytes
that are not UTF-8 (refused naming the input, whatever its kind). Free text
may be accepted, but never crashes ("unexpected error").

Each action runs in-process (tests/support/cli.py) against a baseline that
reaches its git, registry or scanner calls: a checkout with a bare `origin`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from ci_actions.actions import ACTIONS
from ci_actions.github.inputs import InputSpec
from ci_actions.ledger.schema import EntryLine, encode_line
from tests.support.act import git
from tests.support.cli import CliRun, invoke
from tests.support.fake_service import FakeService, closed_port
from tests.support.gitops import clone, gitops_files, make_remote
from tests.support.tools import require

API = "registry.local:5000/team/api"
# Kinds whose grammar no hostile value below can meet: every one is exit 2.
GRAMMAR_KINDS = {"operand", "ref", "rev", "sha", "tag", "digest", "image"}


def hostile_values(marker: Path) -> dict[str, str]:
    return {
        "upload-pack": f"--upload-pack=touch {marker};git-upload-pack",
        "ssh-command": f"-c core.sshCommand=touch {marker}",
        "output": f"--output={marker}",
        "dash": "-x",
        "newline": f"main\n--upload-pack=touch {marker};git-upload-pack",
        "nul": f"main\0--output={marker}",
        # b"main\xff\xfe": as Python decodes such bytes of argv and the environment
        "non-utf8": b"main\xff\xfe".decode("utf-8", "surrogateescape"),
    }


HOSTILE_NAMES = tuple(hostile_values(Path("m")))


def must_refuse(kind: str, value_name: str) -> bool:
    return (
        value_name in ("nul", "non-utf8")
        or kind in GRAMMAR_KINDS
        or (kind == "line" and value_name == "newline")
    )


@dataclass
class World:
    root: Path
    remote: Path  # bare GitOps remote (also holds the ledger)
    checkout: Path  # a clone of it: `origin` is the remote
    project: Path  # a tiny Python project (security-gate)
    build: Path  # a build context (image-build)
    manifests: Path  # a manifest folder (validate-manifests)
    service: FakeService
    marker: Path

    def env(self) -> dict[str, str]:
        return {
            "RUNNER_TEMP": str(self.root / "runner-temp"),
            "STORAGE_DRIVER": "vfs",
            "BUILDAH_ISOLATION": "chroot",
            "GITHUB_REPOSITORY": "acme/gitops",
        }


def _baseline(world: World, action: str) -> tuple[dict[str, str], Path]:
    """Inputs (and the directory to run in) with which `action` reaches its external calls."""
    head = git(world.checkout, "rev-parse", "HEAD")
    baselines: dict[str, tuple[dict[str, str], Path]] = {
        "changes": ({}, world.checkout),
        "kustomize-bump": (
            {"paths": "overlays/prod", "images": f"{API}:1.1.0", "mode": "commit"},
            world.checkout,
        ),
        "release-ledger": (
            {
                "command": "record",
                "service": "api",
                "environment": "prod",
                "image": f"{API}:1.0.0",
                "git-commit": head,
            },
            world.checkout,
        ),
        "image-tags": ({"images": API, "tags": "type=raw,value=1.0.0"}, world.checkout),
        "image-promote": (
            {
                "source": f"127.0.0.1:{closed_port()}/team/api:1.0.0",
                "tags": "2.0.0",
                "insecure": "true",
            },
            world.checkout,
        ),
        "image-build": (
            {"context": str(world.build), "builder": "buildah", "tags": f"{API}:1.0.0"},
            world.checkout,
        ),
        "security-gate": ({"scanners": "bandit", "paths": "."}, world.project),
        "validate-manifests": ({"paths": str(world.manifests)}, world.checkout),
        "health-probe": (
            {"url": world.service.url("/health"), "timeout": "1s", "interval": "0.2s"},
            world.checkout,
        ),
    }
    return baselines[action]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    remote = make_remote(root, gitops_files())
    checkout = clone(root, remote, "checkout")
    (checkout / "NOTES.md").write_text("a second commit, so head has a parent\n")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "notes")
    git(checkout, "push", "-q", "origin", "HEAD:main")
    project = root / "project"
    project.mkdir()
    (project / "app.py").write_text("def add(a, b):\n    return a + b\n")
    (project / "requirements.txt").write_text("")
    build = root / "build"
    build.mkdir()
    (build / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (build / "hello.txt").write_text("hello\n")
    manifests = root / "manifests"
    manifests.mkdir()
    (manifests / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"
    )
    with FakeService(version="1.0.0") as service:
        yield World(
            root, remote, checkout, project, build, manifests, service, root / "pwned-marker"
        )


def _inputs() -> list[tuple[str, InputSpec]]:
    found = []
    for action, module in sorted(ACTIONS.items()):
        for item in importlib.import_module(module).SPEC.inputs:
            found.append((action, item))
    return found


TOOLS = {"image-build": ("buildah",), "security-gate": ("bandit",)}  # what each baseline runs
CASES = [
    pytest.param(action, item, value_name, id=f"{action}:{item.name}:{value_name}")
    for action, item in _inputs()
    for value_name in HOSTILE_NAMES
]


def _check(run: CliRun, marker: Path, refuse: bool, what: str) -> None:
    created = marker.exists()
    marker.unlink(missing_ok=True)
    assert not created, f"{what} ran an injected command\n{run.log}"
    assert "unexpected error" not in run.log, f"{what} crashed\n{run.log}"
    assert run.code in (0, 1, 2, 3), run.log
    if refuse:
        assert run.code == 2, f"{what} was not refused\n{run.log}"


@pytest.mark.parametrize(("action", "item", "value_name"), CASES)
def test_no_input_becomes_an_option(
    world: World, tmp_path: Path, action: str, item: InputSpec, value_name: str
) -> None:
    if action in TOOLS:
        require(*TOOLS[action])
    inputs, cwd = _baseline(world, action)
    value = hostile_values(world.marker)[value_name]
    inputs = {**inputs, item.name: value}
    args = [f"--{name}={v}" for name, v in inputs.items()]  # `=`: a value may start with -
    run = invoke(tmp_path, action, args, cwd=cwd, env=world.env())
    refuse = must_refuse(item.kind, value_name)
    _check(run, world.marker, refuse, f"{action} --{item.name} {value!r}")
    if refuse:
        assert f"input '{item.name}'" in run.log, run.log  # the message names the input
    if value_name == "non-utf8":
        assert "not UTF-8 text: byte 0xff at offset 4" in run.log, run.log


# -- ledger data ----------------------------------------------------------------
LEDGER_VALUES = ("upload-pack", "ssh-command", "newline", "nul")


def _entry(entry_id: str, status: str, created: str, commit: str) -> dict[str, object]:
    line = EntryLine(
        v=1,
        id=entry_id,
        service="api",
        environment="prod",
        image=API,
        tag="1.0.0",
        git_commit=commit,
        git_branch="main",
        workflow_run="https://github.example/acme/app/actions/runs/1",
        actor="kim",
        created=created,
        status=status,  # type: ignore[arg-type]
        scan={"passed": True},
        vulnerabilities=0,
        metadata={"build": 1},
    )
    data: dict[str, object] = json.loads(encode_line(line))
    return data


LEDGER_FIELDS = [k for k in _entry("x", "built", "2026-01-01T00:00:00Z", "a" * 40) if k != "type"]


@pytest.fixture(scope="module")
def app(world: World) -> Path:
    """The application checkout set-status tags (its `origin` is a bare remote too)."""
    app_remote = make_remote(world.root, {"app.py": "print(1)\n"}, name="acme/app.git")
    return clone(world.root, app_remote, "app")


@pytest.mark.parametrize("value_name", LEDGER_VALUES)
@pytest.mark.parametrize("field", LEDGER_FIELDS)
def test_no_ledger_field_becomes_an_option(
    world: World, app: Path, tmp_path: Path, field: str, value_name: str
) -> None:
    """A line written into the ledger is data in the next deploy job, never code."""
    value = hostile_values(world.marker)[value_name]
    commit = git(app, "rev-parse", "HEAD")
    good = _entry("api-good", "deployed", "2026-01-01T00:00:00Z", commit) | {field: value}
    failed = _entry("api-failed", "deployed", "2026-01-02T00:00:00Z", commit)
    seed = world.checkout
    git(seed, "fetch", "-q", "origin", "main")
    git(seed, "reset", "-q", "--hard", "FETCH_HEAD")
    ledger = seed / ".ci-ledger" / "prod" / "api.jsonl"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_bytes(msgspec.json.encode(good) + b"\n" + msgspec.json.encode(failed) + b"\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", f"ledger with a hostile {field}")
    git(seed, "push", "-q", "origin", "HEAD:main")
    common = ["--repository", str(world.remote), "--service", "api", "--environment", "prod"]
    for args in (  # the two commands that hand ledger data to git: a deploy tag, a bump
        ["--command", "set-status", "--id", "api-good", "--status", "healthy", "--git-tag", "true"],
        ["--command", "rollback", "--paths", "overlays/prod"],
    ):
        run = invoke(
            tmp_path / "runs", "release-ledger", [*args, *common], cwd=app, env=world.env()
        )
        _check(run, world.marker, False, f"ledger {field}={value!r}: {args[1]}")


@pytest.mark.parametrize(
    "previous",
    [
        {f"{API}\nregistry.local:5000/team/worker=evil.example/x": f"{API}:1.0.0"},
        {API: f"{API}:1.0.0\nregistry.local:5000/team/worker=evil.example/x:1"},
        {"-c": f"{API}:1.0.0"},
    ],
)
def test_previous_images_cannot_add_image_lines(
    world: World, tmp_path: Path, previous: dict[str, str]
) -> None:
    """health-probe's gitops rollback turns each entry into one kustomize-bump `images` line."""
    run = invoke(
        tmp_path,
        "health-probe",
        [
            f"--url={world.service.url('/health')}",
            "--rollback=on-failure",
            "--rollback-mode=gitops",
            f"--previous-images={json.dumps(previous)}",
            "--gitops-paths=overlays/prod",
        ],
        cwd=world.checkout,
        env=world.env(),
    )
    assert run.code == 2, run.log
    assert "input 'previous-images'" in run.log


GRAMMAR_FIELDS = ("service", "environment", "image", "tag", "digest", "git-commit", "git-branch")


@pytest.mark.parametrize("value_name", [n for n in HOSTILE_NAMES if n != "non-utf8"])
@pytest.mark.parametrize("field", GRAMMAR_FIELDS)
def test_a_line_read_back_is_checked_against_the_field_grammar(field: str, value_name: str) -> None:
    """What `record` refuses is refused again when read: the file may have been edited."""
    from ci_actions.ledger.schema import InvalidLine, decode_line

    good = _entry("api-1", "healthy", "2026-01-01T00:00:00Z", "a" * 40) | {
        "digest": "sha256:" + "b" * 64
    }
    decode_line(msgspec.json.encode(good), "ledger")  # the line as recorded is fine
    hostile = good | {field: hostile_values(Path("/tmp/m"))[value_name]}
    with pytest.raises(InvalidLine, match=field):
        decode_line(msgspec.json.encode(hostile), "ledger")
