"""`ci-actions init` and the services file: two or more Dockerfiles write
`.github/ci-actions.yml` (golden, read back by the one loader and validator, covered by
--check and --diff) and a cicd.yml that builds each service in a job of its own (golden,
schema-valid, zizmor-clean); one Dockerfile writes no services file and the one-service
pipeline."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci_actions.init import main
from tests.render.cases import SHA
from tests.support.act import git
from tests.support.golden import assert_golden
from tests.support.tools import require

REPOS = Path(__file__).resolve().parent / "fixtures" / "init-repos"
BASE = [
    "--registry", "127.0.0.1:5000", "--actions-ref", SHA, "--gitops-repo", "acme/gitops",
    "--gitops-branch", "main", "--overlays", "dev=overlays/dev", "--overlays", "prod=overlays/prod",
    "--health-url", "http://127.0.0.1:8541/health", "--workloads", "deployment/app",
]  # fmt: skip
# the other service's probes: by service, and for one environment by service@env
COLLECTOR = [
    "--health-url", "collector=http://127.0.0.1:8551/health",
    "--health-url", "collector@prod=http://127.0.0.1:8552/health",
    "--workloads", "collector=deployment/collector",
]  # fmt: skip
ARGS = [*BASE, *COLLECTOR]


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
    from ci_actions.services.select import select

    repo = _repo(tmp_path, "two-services")
    code, out, err = _init(repo)
    assert code == 0, err
    path = repo / ".github" / "ci-actions.yml"
    text = path.read_text()
    assert_golden("init/two-services/ci-actions.yml", text)
    services = parse_services(yamlsafe.load(text), repo)
    # from the fixture: api copies its own folder, collector copies lib/shared too (root)
    assert [(s.name, s.context, s.dockerfile, s.image) for s in services] == [
        ("api", "services/api", "services/api/Dockerfile", "127.0.0.1:5000/api"),
        ("collector", ".", "services/collector/Dockerfile", "127.0.0.1:5000/collector"),
    ]
    # a root context is changed by what its Dockerfile copies, not by every file
    assert services[1].paths == (
        "services/collector/Dockerfile",
        "lib/shared/**",
        "services/collector/collect.py",
    )
    for changed, selected in (
        ("lib/shared/__init__.py", ["collector"]),
        ("services/api/app/__init__.py", ["api"]),
        ("services/collector/Dockerfile", ["collector"]),
        ("pyproject.toml", []),
    ):
        assert [s.name for s in select(services, [changed])] == selected, changed
    assert "wrote .github/ci-actions.yml" in out
    assert "left out as test material: tests/fixtures/broken/Dockerfile" in out
    assert (
        "cicd.yml builds each service a change touches, in a job of its own: api "
        "(services/api/Dockerfile -> 127.0.0.1:5000/api), collector "
        "(services/collector/Dockerfile -> 127.0.0.1:5000/collector)"
    ) in out
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
    # what the pipeline reads from the file (a probe) makes the workflows stale
    probed = edited.replace("http://127.0.0.1:8551/health", "http://127.0.0.1:9551/health")
    path.write_text(probed)
    code, out, _ = _init(repo, "--check")
    assert code == 1 and ".github/workflows/cicd.yml: differs from the templates\n" in out
    assert _init(repo)[0] == 0
    assert "http://127.0.0.1:9551/health" in (repo / ".github/workflows/cicd.yml").read_text()
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
    code, out, err = _init(repo, "--health-url", "api=http://127.0.0.1:8561/health")
    assert code == 0, err
    text = (repo / ".github" / "ci-actions.yml").read_text()
    services = parse_services(yamlsafe.load(text), repo)
    assert [(s.name, s.context, s.dockerfile) for s in services] == [
        ("two-services", ".", "Dockerfile"),
        ("api", "services/api", "services/api/Dockerfile"),
        ("collector", ".", "services/collector/Dockerfile"),
    ]
    assert "two-services (Dockerfile -> 127.0.0.1:5000/two-services), api " in out


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def _lint(repo: Path) -> None:
    """The written workflows are schema-valid and zizmor-clean."""
    files = sorted(str(p) for p in (repo / ".github" / "workflows").glob("*.yml"))
    schema = subprocess.run(
        [require("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    zizmor = subprocess.run(
        [require("zizmor"), "--offline", "--no-progress", "--format", "plain", str(repo)],
        capture_output=True,
        text=True,
    )
    assert zizmor.returncode == 0 and "No findings" in zizmor.stdout + zizmor.stderr, (
        zizmor.stdout + zizmor.stderr
    )


def test_two_dockerfiles_write_a_pipeline_that_builds_each_service(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "two-services")
    code, _, err = _init(repo)
    assert code == 0, err
    path = repo / ".github" / "workflows" / "cicd.yml"
    assert_golden("init/two-services/cicd.yml", path.read_text())
    jobs = _load(path)["jobs"]
    assert [j for j in jobs if j.startswith("image")] == ["image-api", "image-collector"]
    build = {
        j: next(s for s in jobs[j]["steps"] if s.get("id") == "build")["with"]
        for j in ("image-api", "image-collector")
    }
    # the contexts init found: api copies its folder, collector copies lib/shared (the root)
    assert [(b["context"], b["file"]) for b in build.values()] == [
        ("services/api", "services/api/Dockerfile"),
        (".", "services/collector/Dockerfile"),
    ]
    legs = jobs["verify-prod"]["strategy"]["matrix"]["include"]
    assert [(leg["service"], leg["health-url"], leg["workloads"]) for leg in legs] == [
        ("api", "http://127.0.0.1:8541/health", "deployment/app"),
        ("collector", "http://127.0.0.1:8552/health", "deployment/collector"),
    ]
    assert "rollback-prod" not in jobs  # policy failed: the legs roll back
    _lint(repo)
    # --rollback-policy all is recorded, and --check keeps to it
    code, _, err = _init(repo, "--rollback-policy", "all")
    assert code == 0, err
    jobs = _load(path)["jobs"]
    assert "rollback-dev" in jobs
    # prod: auto-rollback is off for both (init's default for production): no job
    assert "rollback-prod" not in jobs
    assert "--rollback-policy all" in path.read_text().split("\n")[2]
    out = io.StringIO()
    assert main(["--dir", str(repo), "--check"], {}, out, io.StringIO()) == 0, out.getvalue()
    _lint(repo)


def test_a_service_with_nothing_to_probe_is_exit_2_naming_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "two-services")
    err = io.StringIO()
    code = main(["--dir", str(repo), *BASE], {}, io.StringIO(), err)
    assert code == 2
    assert "service 'collector': nothing to probe after a deploy to dev, prod" in err.getvalue()
    assert "--health-url collector=URL" in err.getvalue()
    assert not (repo / ".github").exists()


def test_image_names_a_service_by_service_and_an_unknown_one_is_exit_2(tmp_path: Path) -> None:
    from ci_actions import yamlsafe
    from ci_actions.services.parse import parse_services

    repo = _repo(tmp_path, "two-services")
    code, _, err = _init(repo, "--image", "blocklist", "--image", "collector=blocklist-collector")
    assert code == 0, err
    text = (repo / ".github" / "ci-actions.yml").read_text()
    assert [s.image for s in parse_services(yamlsafe.load(text), repo)] == [
        "127.0.0.1:5000/blocklist",
        "127.0.0.1:5000/blocklist-collector",
    ]
    tags = _load(repo / ".github/workflows/cicd.yml")["jobs"]["image-collector"]["steps"][1]
    assert tags["with"]["images"] == "127.0.0.1:5000/blocklist-collector"
    one = _repo(tmp_path, "poetry")
    code, _, err = _init(one, "--image", "api=a")
    assert code == 2 and "--image api=a: no service 'api' (services: none, one Dockerfile)" in err
    for args, message in (
        (
            ["--image", "worker=w"],
            "--image worker=w: no service 'worker' (services: api, collector)",
        ),
        (["--image", "a", "--image", "b"], "--image is given 2 times without a service: a, b"),
    ):
        fresh = _repo(tmp_path / args[1], "two-services")
        code, _, err = _init(fresh, *args)
        assert code == 2 and message in err, err
        assert not (fresh / ".github").exists()


def test_warns_about_each_service_whose_image_the_overlays_do_not_set(tmp_path: Path) -> None:
    from tests.support.gitops import gitops_files

    repo = _repo(tmp_path, "two-services")
    checkout = tmp_path / "gitops"
    for rel, text in gitops_files().items():  # the overlays set .../team/api and .../team/worker
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        (checkout / rel).write_text(text.replace("registry.local:5000", "127.0.0.1:5000"))
    code, out, err = _init(repo, "--gitops-dir", str(checkout), "--image", "team/api")
    assert code == 0, err
    assert "warning: the image 127.0.0.1:5000/api" not in out
    assert (
        "warning: the image 127.0.0.1:5000/collector is not among the images the overlays set "
        "(127.0.0.1:5000/team/api, 127.0.0.1:5000/team/worker): pass --image collector=NAME"
    ) in out
    code, out, err = _init(
        repo, "--gitops-dir", str(checkout), "--image", "team/api",
        "--image", "collector=team/worker",
    )  # fmt: skip
    assert code == 0, err
    assert "not among the images" not in out
