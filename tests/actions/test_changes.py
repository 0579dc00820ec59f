"""`changes` on real git repositories: local, pushed, shallow-cloned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_actions.git import ZERO_SHA
from tests.support.act import git
from tests.support.cli import invoke


def _repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    return path


def _commit(repo: Path, files: dict[str, str], msg: str = "c") -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", msg)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = _repo(tmp_path / "repo")
    _commit(repo, {"src/app.py": "1", "README.md": "r"})
    return repo


def _event(tmp: Path, name: str, payload: dict) -> dict[str, str]:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(payload))
    return {"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path)}


def test_docs_only_commit(tmp_path: Path, repo: Path) -> None:
    head = _commit(repo, {"README.md": "new", "docs/guide/x.md": "g"})
    run = invoke(tmp_path, "changes", cwd=repo)
    assert run.code == 0, run.log
    assert run.outputs["docs-only"] == "true"
    assert json.loads(run.outputs["changed-files"]) == ["README.md", "docs/guide/x.md"]
    assert run.outputs["head"] == head
    assert "documentation only" in run.summary


def test_code_change_with_filters(tmp_path: Path, repo: Path) -> None:
    _commit(repo, {"src/app.py": "2", "src/NOTES.md": "n"})
    filters = "backend: ['src/**', '!**/*.md']\nweb: web/**\n"
    run = invoke(tmp_path, "changes", ["--filters", filters], cwd=repo)
    assert run.code == 0, run.log
    assert run.outputs["docs-only"] == "false"
    assert json.loads(run.outputs["filters"]) == {"backend": True, "web": False}
    assert json.loads(run.outputs["matched-filters"]) == ["backend"]
    assert (run.outputs["backend"], run.outputs["web"]) == ("true", "false")


def test_push_event_range_spans_several_commits(tmp_path: Path, repo: Path) -> None:
    before = git(repo, "rev-parse", "HEAD")
    _commit(repo, {"a.md": "a"})
    after = _commit(repo, {"b.py": "b"})
    env = _event(tmp_path, "push", {"before": before, "after": after})
    run = invoke(tmp_path, "changes", env=env, cwd=repo)
    assert json.loads(run.outputs["changed-files"]) == ["a.md", "b.py"]
    assert run.outputs["base"] == before


def test_new_branch_compares_with_default_branch(tmp_path: Path, repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    _commit(repo, {"one.py": "1"})
    after = _commit(repo, {"two.md": "2"})
    env = _event(
        tmp_path,
        "push",
        {"before": ZERO_SHA, "after": after, "repository": {"default_branch": "main"}},
    )
    run = invoke(tmp_path, "changes", env=env, cwd=repo)
    assert json.loads(run.outputs["changed-files"]) == ["one.py", "two.md"]


def test_pull_request_uses_merge_base(tmp_path: Path, repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "pr")
    head = _commit(repo, {"pr.py": "p"})
    git(repo, "checkout", "-q", "main")
    base = _commit(repo, {"main-only.py": "m"})
    env = _event(
        tmp_path, "pull_request", {"pull_request": {"base": {"sha": base}, "head": {"sha": head}}}
    )
    run = invoke(tmp_path, "changes", env=env, cwd=repo)
    assert json.loads(run.outputs["changed-files"]) == ["pr.py"]


def test_root_commit_lists_everything(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "fresh")
    _commit(repo, {"x.py": "1", "y.md": "2"})
    run = invoke(tmp_path, "changes", cwd=repo)
    assert json.loads(run.outputs["changed-files"]) == ["x.py", "y.md"]
    assert run.outputs["base"] == ""


def test_shallow_clone_fetches_missing_base(tmp_path: Path, repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    for i in range(3):
        _commit(repo, {f"f{i}.py": str(i)})
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{repo}", str(clone))
    run = invoke(tmp_path, "changes", ["--base", first], cwd=clone)
    assert run.code == 0, run.log
    assert json.loads(run.outputs["changed-files"]) == ["f0.py", "f1.py", "f2.py"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--base", "no-such-ref"], "input 'base': 'no-such-ref' is not a commit"),
        (["--head", "deadbeef"], "input 'head'"),
        (["--filters", "[a, b]"], "input 'filters'"),
        (["--filters", "a: [x"], "input 'filters': is not valid YAML"),
        (["--working-directory", "/nonexistent"], "input 'working-directory'"),
        (["--working-directory", "/"], "input 'working-directory': / is not a git checkout"),
        (["--base=-n", "--head", "HEAD"], "input 'base': '-n' must not start with '-'"),
        (["--head=--all"], "input 'head': '--all' must not start with '-'"),
    ],
)
def test_bad_input_is_exit_2_naming_it(
    tmp_path: Path, repo: Path, args: list[str], needle: str
) -> None:
    run = invoke(tmp_path, "changes", args, cwd=repo)
    assert run.code == 2
    assert needle in run.log
    assert set(run.outputs) >= {"docs-only", "changed-files", "head"}  # still written, empty


def test_outside_runner_prints_name_value(tmp_path: Path, repo: Path) -> None:
    _commit(repo, {"README.md": "x"})
    run = invoke(tmp_path, "changes", ["--json"], cwd=repo, runner=False)
    assert json.loads(run.stdout)["docs-only"] == "true"


# --- services: which services a change selects -------------------------------------------

SERVICES_YML = """\
services:
  - name: api
    context: services/api
    image: 127.0.0.1:5000/acme/api
    paths: [lib/**, pyproject.toml]
    environments:
      dev: {workloads: [deployment/api], health-url: "http://api.dev/health"}
      prod: {workloads: deployment/api, auto-rollback: false}
  - name: web
    context: services/web
    dockerfile: services/web/docker/Dockerfile
    image: 127.0.0.1:5000/acme/web
  - name: worker
    context: services/worker
    image: 127.0.0.1:5000/acme/worker
    paths: [lib/**, "!lib/**/test_*.py"]
"""

MONOREPO = {
    "services/api/Dockerfile": "FROM scratch\n",
    "services/api/app.py": "1",
    "services/web/docker/Dockerfile": "FROM scratch\n",
    "services/web/main.py": "1",
    "services/worker/Dockerfile": "FROM scratch\n",
    "services/worker/run.py": "1",
    "lib/shared.py": "1",
    "lib/test_shared.py": "1",
    "pyproject.toml": "[project]\n",
    "README.md": "r",
    ".github/ci-actions.yml": SERVICES_YML,
}


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    repo = _repo(tmp_path / "mono")
    _commit(repo, MONOREPO)
    return repo


ALL = ["api", "web", "worker"]

# (id, files the head commit changes, event (name, payload), extra args, selected services)
SELECTIONS = [
    ("own-context", {"services/web/main.py": "2"}, None, [], ["web"]),
    ("own-dockerfile", {"services/worker/Dockerfile": "FROM busybox\n"}, None, [], ["worker"]),
    ("shared-lib", {"lib/shared.py": "2"}, None, [], ["api", "worker"]),
    ("shared-excluded", {"lib/test_shared.py": "2"}, None, [], ["api"]),
    ("shared-root-file", {"pyproject.toml": "[project]\nname='x'\n"}, None, [], ["api"]),
    ("two-contexts", {"services/api/app.py": "2", "services/worker/run.py": "2"}, None, [],
     ["api", "worker"]),
    ("docs-only", {"README.md": "new", "services/api/NOTES.md": "n"}, None, [], []),
    ("docs-never-select", {"services/api/NOTES.md": "n", "services/web/main.py": "3"}, None, [],
     ["web"]),
    ("unrelated", {"tools/script.sh": "echo"}, None, [], []),
    ("tag-push", {"README.md": "v1"}, ("push", {"ref": "refs/tags/v1.0.0"}), [], ALL),
    ("branch-push", {"README.md": "v1"}, ("push", {"ref": "refs/heads/main"}), [], []),
    ("workflow-dispatch", {"README.md": "x"}, ("workflow_dispatch", {}), [], ALL),
    ("all-services", {"README.md": "x"}, None, ["--all-services", "true"], ALL),
    ("input-overrides-file", {"services/api/app.py": "2", "services/web/main.py": "2"}, None,
     ["--services", "- {name: web, context: services/web, "
      "dockerfile: services/web/docker/Dockerfile, image: ghcr.io/acme/web}"], ["web"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "event", "args", "expected"),
    [case[1:] for case in SELECTIONS],
    ids=[case[0] for case in SELECTIONS],
)
def test_changed_services(
    tmp_path: Path,
    monorepo: Path,
    files: dict[str, str],
    event: tuple[str, dict] | None,
    args: list[str],
    expected: list[str],
) -> None:
    before = git(monorepo, "rev-parse", "HEAD")
    after = _commit(monorepo, files)
    env = {}
    if event is not None:
        name, payload = event
        env = _event(tmp_path, name, {"before": before, "after": after, **payload})
        env["GITHUB_EVENT_NAME"] = name
        env["GITHUB_REF"] = payload.get("ref", "refs/heads/main")
    run = invoke(tmp_path, "changes", args, env=env, cwd=monorepo)
    assert run.code == 0, run.log
    assert json.loads(run.outputs["changed-services"]) == expected
    assert [e["name"] for e in json.loads(run.outputs["matrix"])["include"]] == expected


def test_matrix_entry_carries_the_service(tmp_path: Path, monorepo: Path) -> None:
    _commit(monorepo, {"services/api/app.py": "2"})
    run = invoke(tmp_path, "changes", cwd=monorepo)
    assert json.loads(run.outputs["matrix"]) == {
        "include": [
            {
                "name": "api",
                "context": "services/api",
                "dockerfile": "services/api/Dockerfile",
                "image": "127.0.0.1:5000/acme/api",
                "paths": ["services/api/**", "lib/**", "pyproject.toml"],
                "environments": {
                    "dev": {
                        "workloads": "deployment/api",
                        "health-url": "http://api.dev/health",
                        "auto-rollback": True,
                    },
                    "prod": {
                        "workloads": "deployment/api",
                        "health-url": "",
                        "auto-rollback": False,
                    },
                },
            }
        ]
    }
    assert "| api | `127.0.0.1:5000/acme/api` | yes |" in run.summary
    assert "| web | `127.0.0.1:5000/acme/web` | no |" in run.summary


def test_without_services_file_the_outputs_are_empty(tmp_path: Path, repo: Path) -> None:
    _commit(repo, {"src/app.py": "2"})
    run = invoke(tmp_path, "changes", cwd=repo)
    assert run.code == 0, run.log
    assert (run.outputs["changed-services"], run.outputs["matrix"]) == ("[]", '{"include":[]}')
    assert "service" not in run.summary


BAD_FILE = [
    ("named-twice", SERVICES_YML + "  - {name: web, context: lib, image: ghcr.io/acme/x}\n",
     "service 'web', field 'name': named twice"),
    ("context-missing", SERVICES_YML.replace("context: services/web", "context: services/www"),
     "service 'web', field 'context': 'services/www' is not a folder"),
    ("unknown-key", SERVICES_YML.replace("    image: 127.0.0.1:5000/acme/web",
                                         "    image: 127.0.0.1:5000/acme/web\n    port: 80"),
     "service 'web', field 'port': unknown key(s) 'port'"),
    ("not-yaml", "services: [", "is not valid YAML"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "needle"), [c[1:] for c in BAD_FILE], ids=[c[0] for c in BAD_FILE]
)
def test_bad_services_file_is_exit_2_naming_file_service_and_field(
    tmp_path: Path, monorepo: Path, text: str, needle: str
) -> None:
    _commit(monorepo, {".github/ci-actions.yml": text})
    run = invoke(tmp_path, "changes", cwd=monorepo)
    assert run.code == 2, run.log
    assert ".github/ci-actions.yml" in run.log and needle in run.log
    assert (run.outputs["changed-services"], run.outputs["matrix"]) == ("", "")


def test_bad_services_input_is_exit_2_naming_the_input(tmp_path: Path, monorepo: Path) -> None:
    run = invoke(
        tmp_path,
        "changes",
        ["--services", "- {name: a, context: services/api, image: x:1}"],
        cwd=monorepo,
    )
    assert run.code == 2, run.log
    assert "input 'services': service 'a', field 'image'" in run.log
