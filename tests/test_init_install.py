"""`ci-actions init` installed by pip into an application's own venv pins a release a user
can resolve: the commit recorded when the wheel was built from the tagged release, under
the repository the package metadata names; never the application's own commit."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci_actions import __version__
from tests.support.act import git
from tests.support.one_service import one_service

ROOT = Path(__file__).resolve().parents[1]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
pytestmark = pytest.mark.skipif(UV is None, reason="needs uv to build and install offline")


def _release_tree(tmp: Path, tagged: bool) -> Path:
    """This project's packaging inputs as their own repository, tagged as the release."""
    tree = tmp / "ci-actions"
    for name in ("pyproject.toml", "setup.py", "README.md"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    for name in ("src", "workflows-templates"):
        shutil.copytree(ROOT / name, tree / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))  # fmt: skip
    git(tree, "init", "-q", "-b", "main")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "release")
    if tagged:
        git(tree, "tag", f"v{__version__}")
    return tree


def _app_with_ci_actions(tmp: Path, tree: Path) -> Path:
    app = one_service(tmp / "app")
    git(app, "init", "-q", "-b", "main")
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "app")
    assert UV is not None
    run = [UV, "--quiet", "--offline"]
    subprocess.run([*run, "build", "--wheel", "-o", str(tmp / "dist"), str(tree)], check=True)
    wheel = next((tmp / "dist").glob("*.whl"))
    subprocess.run([*run, "venv", "--python", sys.executable, str(app / ".venv")], check=True)
    env = {"VIRTUAL_ENV": str(app / ".venv"), "PATH": "/usr/bin:/bin"}
    subprocess.run([*run, "pip", "install", str(wheel)], check=True, env=env)
    return app


def _init(app: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(app / ".venv" / "bin" / "ci-actions"), "init", "--registry", "r.example",
         "--gitops-repo", "acme/gitops", "--gitops-branch", "main", "--overlays", "dev=o",
         "--health-url", "https://app.example/health"],
        cwd=app, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_pip_installed_release_pins_its_recorded_commit(tmp_path: Path) -> None:
    tree = _release_tree(tmp_path, tagged=True)
    release = git(tree, "rev-parse", "HEAD")
    app = _app_with_ci_actions(tmp_path, tree)
    done = _init(app)
    assert done.returncode == 0, done.stderr
    text = (app / ".github/workflows/cicd.yml").read_text()
    assert f"ci-actions/ci-actions/actions/changes@{release} # v{__version__}" in text
    assert git(app, "rev-parse", "HEAD") not in text  # never the application's commit
    assert "warning" not in done.stderr


def test_a_release_without_a_recorded_commit_pins_the_tag_and_warns(tmp_path: Path) -> None:
    app = _app_with_ci_actions(tmp_path, _release_tree(tmp_path, tagged=False))
    site = next((app / ".venv").glob("lib/python*/site-packages/ci_actions"))
    assert not (site / "RELEASE.json").exists()
    done = _init(app)
    assert done.returncode == 0, done.stderr
    text = (app / ".github/workflows/cicd.yml").read_text()
    assert f"ci-actions/ci-actions/actions/changes@v{__version__} # v{__version__}" in text
    assert "a tag can be moved" in done.stderr
