"""README's "Quick start on an existing GitOps repository", run as written on examples/gitops."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from tests.support.cli import invoke

ROOT = Path(__file__).resolve().parents[1]
TITLE = "## Quick start on an existing GitOps repository"


def _session() -> list[tuple[list[str], list[str]]]:
    """(command argv, the lines README shows it printing), from the section's console block."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split(TITLE, 1)[1].split("\n## ")[0]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    steps: list[tuple[list[str], list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((shlex.split(line[2:]), []))
        else:
            steps[-1][1].append(line)
    return steps


def test_the_readme_sequence_runs_on_the_example_gitops_repository(tmp_path: Path) -> None:
    repo = tmp_path / "gitops"
    shutil.copytree(ROOT / "examples" / "gitops", repo)
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    steps = _session()
    assert [argv[:2] for argv, _ in steps] == [
        ["ci-actions", "validate-manifests"],
        ["ci-actions", "kustomize-bump"],
    ]
    for i, (argv, shown) in enumerate(steps):
        run = invoke(tmp_path / f"out{i}", argv[1], argv[2:], cwd=repo)
        assert run.code == 0, run.log
        for line in shown:
            assert line in run.log, f"README shows {line!r} for {argv}; it printed:\n{run.log}"
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
