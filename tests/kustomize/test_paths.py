"""`paths` of kustomize-bump: absolute or `..` paths are fine when they lead inside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ci_actions.kustomize import PathsError, find_files
from tests.support.cli import invoke
from tests.support.gitops import gitops_files

API = "registry.local:5000/team/api"

# (pattern, with {root} for the repository and {outside} for a sibling; the files found or None)
TABLE = [
    ("overlays/dev", ["overlays/dev/kustomization.yaml"]),
    ("{root}/overlays/dev", ["overlays/dev/kustomization.yaml"]),
    ("{root}/overlays/dev/", ["overlays/dev/kustomization.yaml"]),
    ("{root}/overlays/./dev", ["overlays/dev/kustomization.yaml"]),
    ("{root}/overlays/prod/../dev", ["overlays/dev/kustomization.yaml"]),
    ("{link}/overlays/dev", ["overlays/dev/kustomization.yaml"]),  # the repo named via a symlink
    ("{root}/overlays/*", ["overlays/dev/kustomization.yaml", "overlays/prod/kustomization.yaml"]),
    ("{root}/base/api.yaml", ["base/api.yaml"]),
    ("overlays/prod/../dev", ["overlays/dev/kustomization.yaml"]),
    ("{root}", None),  # the root has no kustomization: names nothing (a different error)
    ("{outside}/overlays/dev", None),
    ("{root}/../outside/overlays/dev", None),
    ("../outside/overlays/dev", None),
    ("/etc/passwd", None),
    ("{root}-sibling/overlays/dev", None),  # a prefix of the root's name is not inside it
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for name in ("repo", "outside", "repo-sibling"):
        for rel, text in gitops_files().items():
            (tmp_path / name / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name / rel).write_text(text)
    os.symlink(tmp_path / "repo", tmp_path / "link")
    return tmp_path / "repo"


def _pattern(template: str, repo: Path) -> str:
    return template.format(root=repo, outside=repo.parent / "outside", link=repo.parent / "link")


@pytest.mark.parametrize(("template", "expected"), TABLE)
def test_paths_inside_the_repository_are_accepted(
    repo: Path, template: str, expected: list[str] | None
) -> None:
    pattern = _pattern(template, repo)
    if expected is None:
        with pytest.raises(PathsError) as raised:
            find_files(repo, [pattern])
        assert repr(pattern) in str(raised.value)
        return
    found = find_files(repo, [pattern])
    assert [p.relative_to(repo).as_posix() for p in found] == expected
    assert all(p.is_relative_to(repo) for p in found)


@pytest.mark.parametrize(
    ("template", "code"), [("{root}/overlays/dev", 0), ("{outside}/overlays/dev", 2)]
)
def test_the_cli_takes_pwd_paths(repo: Path, template: str, code: int) -> None:
    pattern = _pattern(template, repo)
    run = invoke(
        repo.parent / "out",
        "kustomize-bump",
        ["--paths", pattern, "--images", f"{API}:9"],
        cwd=repo,
    )
    assert run.code == code, run.log
    if code == 0:
        assert '+    newTag: "9"' in run.outputs["diff"]
        assert (repo.parent / "outside/overlays/dev/kustomization.yaml").read_text() == (
            gitops_files()["overlays/dev/kustomization.yaml"]
        )
    else:
        assert "input 'paths'" in run.log and "outside the repository" in run.log
