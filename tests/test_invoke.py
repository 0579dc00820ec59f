from pathlib import Path

import pytest

from ci_actions.actions import invoke
from ci_actions.errors import InputError
from ci_actions.github.context import Context, GitHubContext
from ci_actions.github.runner import Runner
from tests.support.act import git


def _ctx(cwd: Path) -> Context:
    return Context(github=GitHubContext(), environ={}, cwd=cwd, log=Runner({}))


def test_invoke_runs_an_action_with_defaults(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "README.md").write_text("x")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "c")
    result = invoke("changes", {"working-directory": str(tmp_path)}, _ctx(tmp_path))
    assert result.outputs["docs-only"] is True


def test_invoke_rejects_unknown_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no input"):
        invoke("changes", {"nope": "1"}, _ctx(tmp_path))


def test_invoke_parses_like_the_cli(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="filters"):
        invoke("changes", {"filters": "[1]"}, _ctx(tmp_path))
