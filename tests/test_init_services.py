"""`ci-actions init` and the services file: two or more Dockerfiles write
`.github/ci-actions.yml` (golden, read back by the one loader and validator, covered by
--check and --diff); one Dockerfile writes exactly what init wrote before services
existed (goldens captured from that release's code, not from this one)."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest

from ci_actions.init import main
from tests.render.cases import SHA
from tests.support.act import git
from tests.support.golden import assert_golden

REPOS = Path(__file__).resolve().parent / "fixtures" / "init-repos"
ARGS = [
    "--registry", "127.0.0.1:5000", "--actions-ref", SHA, "--gitops-repo", "acme/gitops",
    "--gitops-branch", "main", "--overlays", "dev=overlays/dev", "--overlays", "prod=overlays/prod",
    "--health-url", "http://127.0.0.1:8541/health", "--workloads", "deployment/app",
]  # fmt: skip


def _repo(tmp_path: Path, name: str) -> Path:
    repo = tmp_path / name
    shutil.copytree(REPOS / name, repo)
    git(repo, "init", "-q", "-b", "main")
    return repo


def _init(repo: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--dir", str(repo), *ARGS, *extra], {}, out, err)
    return code, out.getvalue(), err.getvalue()


def _record(repo: Path, out: str) -> str:
    """init's output and every file it wrote, each as its sha256."""
    written = sorted(p for p in (repo / ".github").rglob("*") if p.is_file())
    lines = [f"{p.relative_to(repo)} {hashlib.sha256(p.read_bytes()).hexdigest()}" for p in written]
    return out + "--- files\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", ["poetry", "unpinned"])
def test_one_dockerfile_writes_what_it_wrote_before(tmp_path: Path, name: str) -> None:
    repo = _repo(tmp_path, name)
    code, out, err = _init(repo)
    assert code == 0, err
    assert not (repo / ".github" / "ci-actions.yml").exists()
    assert_golden(f"init/one-dockerfile/{name}.txt", _record(repo, out))


def test_two_dockerfiles_write_the_services_file(tmp_path: Path) -> None:
    from ci_actions import yamlsafe
    from ci_actions.services.parse import parse_services

    repo = _repo(tmp_path, "two-services")
    code, out, err = _init(repo)
    assert code == 0, err
    path = repo / ".github" / "ci-actions.yml"
    text = path.read_text()
    assert_golden("init/two-services/ci-actions.yml", text)
    services = parse_services(yamlsafe.load(text), repo)
    # from the fixture: api copies its own folder, collector copies lib/shared too (root)
    assert [(s.name, s.context, s.dockerfile, s.image) for s in services] == [
        ("api", "services/api", "services/api/Dockerfile", "127.0.0.1:5000/two-services"),
        ("collector", ".", "services/collector/Dockerfile", "127.0.0.1:5000/collector"),
    ]
    assert "wrote .github/ci-actions.yml" in out
    assert "left out as test material: tests/fixtures/broken/Dockerfile" in out
    assert "builds ONE image, 127.0.0.1:5000/two-services from services/api/Dockerfile" in out
    # --check and --diff cover it like the workflows
    assert _init(repo, "--check")[:2] == (0, "workflows and services file are up to date\n")
    assert _init(repo, "--diff")[:2] == (0, "")
    path.unlink()
    code, out, _ = _init(repo, "--check")
    assert (code, out) == (1, ".github/ci-actions.yml: missing\n")
    code, out, _ = _init(repo, "--diff")
    assert code == 0 and out.startswith("--- /dev/null\n+++ b/.github/ci-actions.yml\n")
    assert not path.exists()


def test_an_edited_services_file_is_kept_and_checked(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "two-services")
    assert _init(repo)[0] == 0
    path = repo / ".github" / "ci-actions.yml"
    edited = path.read_text().replace("paths: []", 'paths: ["lib/**"]', 1)
    path.write_text(edited)
    code, out, err = _init(repo)
    assert code == 0, err
    assert path.read_text() == edited
    assert "services: 2 in .github/ci-actions.yml (api, collector), kept as it is" in out
    assert _init(repo, "--check")[:2] == (0, "workflows are up to date\n")
    path.write_text(edited.replace('name: "collector"', 'name: "api"'))
    before = {p: p.read_text() for p in (repo / ".github" / "workflows").iterdir()}
    (repo / ".github" / "workflows" / "cicd.yml").unlink()  # init would write it again
    code, _, err = _init(repo)
    assert code == 2
    assert "service 'api', field 'name': named twice" in err
    assert not (repo / ".github" / "workflows" / "cicd.yml").exists()  # nothing written
    assert {p for p in (repo / ".github" / "workflows").iterdir()} == set(before) - {
        repo / ".github" / "workflows" / "cicd.yml"
    }


def test_detected_names_that_clash_are_exit_2(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "two-services")
    (repo / "other" / "api").mkdir(parents=True)
    (repo / "other" / "api" / "Dockerfile").write_text("FROM scratch\n")
    code, _, err = _init(repo)
    assert code == 2
    assert "service 'api', field 'name': named twice" in err
    assert "write .github/ci-actions.yml by hand" in err
    assert not (repo / ".github").exists()


def test_a_root_dockerfile_among_several_is_named_after_the_repository(tmp_path: Path) -> None:
    from ci_actions import yamlsafe
    from ci_actions.services.parse import parse_services

    repo = _repo(tmp_path, "two-services")
    (repo / "Dockerfile").write_text("FROM scratch\nCOPY lib/shared /srv/shared\n")
    code, out, err = _init(repo)
    assert code == 0, err
    text = (repo / ".github" / "ci-actions.yml").read_text()
    services = parse_services(yamlsafe.load(text), repo)
    assert [(s.name, s.context, s.dockerfile) for s in services] == [
        ("two-services", ".", "Dockerfile"),
        ("api", "services/api", "services/api/Dockerfile"),
        ("collector", ".", "services/collector/Dockerfile"),
    ]
    assert "builds ONE image, 127.0.0.1:5000/two-services from Dockerfile (context .)" in out
