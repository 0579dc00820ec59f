"""What act is given as the local ci-actions repository: the checkout's files, never a venv."""

from __future__ import annotations

from pathlib import Path

from tests.support.act import git, snapshot


def test_the_snapshot_holds_the_sources_and_no_virtualenv(tmp_path: Path) -> None:
    repo = tmp_path / "ci-actions"
    (repo / "actions" / "changes").mkdir(parents=True)
    (repo / "actions" / "changes" / "action.yml").write_text("name: changes\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    (repo / "untracked.py").write_text("x = 1\n")  # an edit not committed yet: taken
    # virtualenvs that .gitignore does not name (there is none): never taken
    for venv in (".venv", "venv", "py312"):
        (repo / venv / "lib").mkdir(parents=True)
        (repo / venv / "lib" / "site.py").write_text("")
    (repo / "py312" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (repo / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    target = snapshot(repo, tmp_path / "snap")
    copied = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert copied == ["actions/changes/action.yml", "untracked.py"]
