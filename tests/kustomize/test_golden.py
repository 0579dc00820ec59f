"""Whole-file golden results: a bump changes only the scalars it sets.

Each case under tests/golden/kustomize-bump/<case>/ has `before/` (the repo),
`images.txt` (the `images` input) and `after/` (every file, as it must be
after the bump). Regenerate with UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ci_actions.github.inputs import parse_list
from ci_actions.kustomize import find_files, parse_image_arg, plan
from tests.support.golden import assert_golden_tree, path_of

GOLDEN = path_of("kustomize-bump")
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES)
def test_golden(tmp_path: Path, case: str) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(GOLDEN / case / "before", repo)
    settings = [parse_image_arg(a) for a in parse_list((GOLDEN / case / "images.txt").read_text())]
    files = find_files(repo, sorted(_files(repo)))
    result = plan(repo, files, settings)
    assert sorted(result.write()) == sorted(result.changed_files)
    assert_golden_tree(f"kustomize-bump/{case}/after", repo)
    assert not result.unmatched()
