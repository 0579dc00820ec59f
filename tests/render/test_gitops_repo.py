"""--gitops-repo: what a runner can clone is rendered as such; the application's own
repository is refused (its bump commits would start the pipeline again)."""

from __future__ import annotations

import dataclasses
import io
import shutil
from pathlib import Path

import pytest
import yaml

from ci_actions.errors import ConfigError
from ci_actions.init import main
from ci_actions.render import render
from tests.render.cases import CASES, SHA
from tests.support.act import git
from tests.support.one_service import gitops, one_service


@pytest.mark.parametrize(
    ("given", "cloned"),
    [
        ("acme/gitops", "https://github.com/acme/gitops.git"),
        ("acme-org/gitops.deploy", "https://github.com/acme-org/gitops.deploy.git"),
        ("https://git.example/acme/gitops.git", "https://git.example/acme/gitops.git"),
        ("git@github.com:acme/gitops.git", "git@github.com:acme/gitops.git"),
        ("/srv/gitops.git", "/srv/gitops.git"),
        ("file:///srv/gitops.git", "file:///srv/gitops.git"),
    ],
)
def test_what_a_runner_can_clone_is_rendered(given: str, cloned: str) -> None:
    options = dataclasses.replace(CASES["minimal"], gitops_repo=given)
    data = yaml.safe_load(render("cicd", options))
    steps = [s for job in data["jobs"].values() for s in job["steps"]]
    clone = next(s for s in steps if s.get("name") == "Clone the GitOps repository")
    assert clone["env"]["GITOPS_REPO"] == cloned


@pytest.mark.parametrize("given", [".", "./", "..", "../gitops", "./gitops", "gitops", "./."])
def test_a_relative_path_is_refused(given: str) -> None:
    """Before: '.' rendered https://github.com/..git and '../gitops' https://github.com/../gitops.git."""
    options = dataclasses.replace(CASES["minimal"], gitops_repo=given)
    with pytest.raises(ConfigError, match="gitops-repo"):
        render("cicd", options)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """The one-service repository with origin on github.com and its overlays inside it."""
    repo = one_service(tmp_path / "blocklist")
    ops = gitops(tmp_path / "gitops")
    shutil.copytree(ops / "overlays", repo / "overlays")
    shutil.copytree(ops / "base", repo / "base")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "service")
    git(repo, "remote", "add", "origin", "https://github.com/acme/blocklist.git")
    return repo


def _init(repo: Path, gitops: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--dir", str(repo), "--registry", "127.0.0.1:5000"]
    argv += ["--actions-repo", "acme/ci-actions", "--actions-ref", SHA]
    argv += ["--gitops-repo", gitops, "--health-url", "*=http://127.0.0.1:8541/health"]
    argv += ["--overlays", "dev=overlays/dev"]
    code = main(argv, {}, out, err)
    return code, err.getvalue()


@pytest.mark.parametrize(
    "gitops",
    [
        ".",
        "./",
        "{app}",
        "{app}/overlays",  # a folder of the application repository is still that repository
        "file://{app}",
        "acme/blocklist",
        "ACME/Blocklist",
        "https://github.com/acme/blocklist",
        "https://github.com/acme/blocklist.git/",
        "https://x-access-token:t@github.com/acme/blocklist.git",
        "git@github.com:acme/blocklist.git",
    ],
)
def test_init_refuses_the_application_repository_as_gitops_repo(app: Path, gitops: str) -> None:
    code, err = _init(app, gitops.format(app=app))
    assert code == 2, err
    assert "--gitops-repo" in err and "own repository" in err and "pipeline again" in err
    assert not (app / ".github").exists()


@pytest.mark.parametrize("gitops", ["acme/gitops", "https://github.com/acme/blocklist-gitops.git"])
def test_init_accepts_another_repository(app: Path, gitops: str) -> None:
    code, err = _init(app, gitops)
    assert code == 0, err
    assert (app / ".github" / "workflows" / "cicd.yml").is_file()


def test_init_refuses_the_application_origin_on_disk(tmp_path: Path, app: Path) -> None:
    origin = tmp_path / "blocklist.git"
    git(tmp_path, "clone", "-q", "--bare", str(app), str(origin))
    git(app, "remote", "set-url", "origin", str(origin))
    code, err = _init(app, str(origin))
    assert code == 2 and "own repository" in err, err
