"""Each action's import set is what it uses.

Importing an action (its SPEC and parse_inputs: all that `--help` or a bad input
needs) loads none of the heavy modules below: each is imported inside the
function that uses it. The one exception is named with its reason. And a real
`ci-actions changes` process loads exactly what its run needs: no YAML parser
without a services file, no argparse for the flags a workflow step passes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ci_actions.actions import ACTIONS
from tests.support.act import git

# Modules no action needs to be imported: slow to load, or loading many more.
HEAVY = (
    "argparse", "base64", "concurrent.futures", "csv", "datetime", "email", "hashlib",
    "http.client", "jinja2", "jsonschema", "logging", "random", "requests", "secrets",
    "shutil", "socket", "ssl", "tempfile", "urllib.request", "urllib3", "yaml", "zipfile",
)  # fmt: skip
# An action's module may load these: its core's own data types come from them.
ALLOWED = {
    # the kustomize core keeps the parsed files as PyYAML nodes (spans for byte-exact
    # edits), so its types need yaml, and yaml.constructor loads datetime and base64
    "kustomize-bump": {"yaml", "datetime", "base64"},
}


def _loaded(code: str, cwd: Path | None = None, argv: list[str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running `code` (or the CLI with `argv`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    if argv is not None:  # the CLI entry point as its console script runs it
        code = (
            "import sys\nfrom ci_actions.cli import main\n"
            f"sys.argv = {['ci-actions', *argv]!r}\ncode = main()\n"
        )
    code += "\nimport sys as _s\nprint('\\n'.join(sorted(_s.modules)), file=_s.stderr)\n"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.split())


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in HEAVY if m in modules}


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_importing_an_action_loads_no_heavy_module(name: str) -> None:
    loaded = _heavy(_loaded(f"import {ACTIONS[name]}"))
    assert loaded <= ALLOWED.get(name, set()), (
        f"{name} loads {sorted(loaded - ALLOWED.get(name, set()))} when imported: "
        "import them in the function that uses them"
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "api").mkdir(parents=True)
    (repo / "api" / "Dockerfile").write_text("FROM scratch\n")
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "api" / "main.py").write_text("print(1)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "two")
    return repo


def test_changes_without_services_loads_none_of_them(repo: Path) -> None:
    loaded = _loaded("", repo, ["changes", "--base", "HEAD^", "--head", "HEAD", "--json"])
    assert "ci_actions.actions.changes" in loaded  # it did run
    assert _heavy(loaded) == set()


def test_changes_with_services_loads_the_yaml_parser_and_no_other(repo: Path) -> None:
    (repo / ".github").mkdir()
    (repo / ".github" / "ci-actions.yml").write_text(
        "services:\n  - {name: api, context: api, image: ghcr.io/acme/api}\n"
    )
    loaded = _loaded("", repo, ["changes", "--base", "HEAD^", "--head", "HEAD", "--json"])
    assert "ci_actions.services.select" in loaded  # it did read the services
    assert _heavy(loaded) == {"yaml", "datetime", "base64"}  # yaml.constructor's own


def test_help_still_goes_through_argparse(repo: Path) -> None:
    """The fast flag reader leaves `--help` to argparse (the check above can fail)."""
    code = (
        "import sys\nfrom ci_actions.cli import main\n"
        "try:\n    main(['changes', '--help'])\nexcept SystemExit:\n    pass\n"
    )
    assert "argparse" in _loaded(code, repo)
