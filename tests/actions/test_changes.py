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
