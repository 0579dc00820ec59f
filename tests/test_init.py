"""`ci-actions init` on real repositories: what it infers, --check, --diff, refusing to overwrite."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml

from ci_actions.cli import main as cli_main
from ci_actions.errors import ConfigError
from ci_actions.init import main, recordable
from ci_actions.render import infer, written_by_us
from ci_actions.render.pin import Installed
from ci_actions.render.pin import resolve as pin_resolve
from tests.render.cases import SHA
from tests.support.act import git
from tests.support.one_service import gitops as one_service_gitops
from tests.support.one_service import one_service

ROOT = Path(__file__).resolve().parents[1]
BASE = ["--registry", "127.0.0.1:5000", "--actions-ref", SHA]
PROBE = ["--health-url", "http://127.0.0.1:8541/health"]


def run(repo: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--dir", str(repo), *args], {}, out, err)
    return code, out.getvalue(), err.getvalue()


def files(out: str) -> list[str]:
    """The lines of init's output that say what it did to each workflow."""
    return [line for line in out.splitlines() if line.startswith(("wrote ", "unchanged "))]


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, None)
    return data


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    """The one-service GitOps repository as a bare remote."""
    work = one_service_gitops(tmp_path / "gitops-src")
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "gitops")
    bare = tmp_path / "gitops.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return bare


@pytest.fixture
def service(tmp_path: Path) -> Path:
    """The one-service repository as a repository whose origin's default branch is `trunk`."""
    repo = one_service(tmp_path / "blocklist")
    git(repo, "init", "-q", "-b", "trunk")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "service")
    origin = tmp_path / "blocklist.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "fetch", "-q", "origin")
    git(repo, "remote", "set-head", "origin", "trunk")
    git(repo, "checkout", "-q", "-b", "feature")  # the current branch is not the default
    return repo


def test_init_infers_what_it_can(service: Path, gitops: Path) -> None:
    code, out, err = run(
        service,
        *BASE,
        "--gitops-repo",
        str(gitops),
        "--health-url",
        "dev=http://127.0.0.1:8541/health",
        "--workloads",
        "prod=deployment/blocklist",
    )
    assert code == 0, err
    assert files(out) == [
        "wrote .github/workflows/cicd.yml",
        "wrote .github/workflows/monitor.yml",
        "wrote .github/workflows/rollback.yml",
    ]
    cicd = load(service / ".github/workflows/cicd.yml")
    assert cicd["on"]["push"]["branches"] == ["trunk"]  # origin's HEAD, not the current branch
    # requires-python = ">=3.11" in the example's pyproject
    assert cicd["jobs"]["test"]["strategy"]["matrix"]["python-version"] == [
        "3.11",
        "3.12",
        "3.13",
        "3.14",
    ]
    steps = cicd["jobs"]["test"]["steps"]
    assert [s["run"] for s in steps if s.get("name", "").startswith("lint")] == ["ruff check ."]
    # overlays found in the GitOps remote, dev promoted before prod, prod protected
    assert [j for j in cicd["jobs"] if j.startswith("deploy-")] == ["deploy-dev", "deploy-prod"]
    assert cicd["jobs"]["verify-prod"]["strategy"]["max-parallel"] == 1
    include = cicd["jobs"]["verify-dev"]["strategy"]["matrix"]["include"][0]
    assert include == {
        "service": "blocklist",
        "image": "127.0.0.1:5000/blocklist",
        "target": "dev",
        "overlay": "overlays/dev",
        "health-url": "http://127.0.0.1:8541/health",
        "workloads": "",
        "namespace": "",
    }
    # the one Dockerfile, built from the root: it copies lib/blockstore/ and services/api/api/
    build = next(s for s in cicd["jobs"]["image"]["steps"] if s.get("id") == "build")
    assert build["with"]["file"] == "services/api/Dockerfile" and build["with"]["context"] == "."
    tags = next(s for s in cicd["jobs"]["image"]["steps"] if s.get("id") == "tags")
    assert tags["with"]["images"] == "127.0.0.1:5000/blocklist"  # the folder name


def test_check_diff_and_recorded_options(service: Path, gitops: Path) -> None:
    args = [
        *BASE,
        *PROBE,
        "--gitops-repo",
        str(gitops),
        "--runs-on",
        "self-hosted,linux",
        "--python",
        "3.11",
    ]
    assert run(service, *args)[0] == 0
    # Later runs need no options: the header recorded them.
    assert run(service, "--check") == (0, "workflows are up to date\n", "")
    assert files(run(service)[1]) == [
        f"unchanged .github/workflows/{n}.yml" for n in ("cicd", "monitor", "rollback")
    ]
    # Drift: a different option makes every file differ; --diff shows it, --check fails, nothing is written.
    before = (service / ".github/workflows/cicd.yml").read_text()
    code, out, _ = run(service, *args[:-1], "3.12", "--check")
    assert code == 1 and ".github/workflows/cicd.yml: differs from the templates" in out
    code, out, _ = run(service, *args[:-1], "3.12", "--diff")
    assert code == 0
    assert '-        python-version: ["3.11"]\n+        python-version: ["3.12"]\n' in out
    assert (service / ".github/workflows/cicd.yml").read_text() == before
    # A missing file is drift too.
    (service / ".github/workflows/monitor.yml").unlink()
    code, out, _ = run(service, "--check")
    assert code == 1 and out == ".github/workflows/monitor.yml: missing\n"


def test_refuses_to_overwrite_a_workflow_it_did_not_write(service: Path, gitops: Path) -> None:
    args = [*BASE, *PROBE, "--gitops-repo", str(gitops)]
    workflows = service / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "cicd.yml").write_text("name: mine\non: push\n")
    code, _, err = run(service, *args)
    assert code == 2 and "cicd.yml was not written by ci-actions init" in err
    # all or nothing: the other two were not written either
    assert sorted(p.name for p in workflows.iterdir()) == ["cicd.yml"]
    assert (workflows / "cicd.yml").read_text() == "name: mine\non: push\n"
    assert run(service, *args, "--force")[0] == 0
    assert written_by_us((workflows / "cicd.yml").read_text())
    # A file init wrote and a person edited since is theirs now.
    path = workflows / "rollback.yml"
    path.write_text(path.read_text().replace("manual rollback", "rolled back by hand"))
    code, _, err = run(service, *args)
    assert code == 2 and "rollback.yml was not written" in err
    assert "rolled back by hand" in path.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gitops-repo", "acme/gitops"], "--registry is required"),
        (["--registry", "r", "--actions-ref", SHA], "--gitops-repo is required"),
        ([*BASE, "--gitops-repo", "acme/gitops"], "no overlays found in acme/gitops"),
        (
            [*BASE, *PROBE, "--gitops-repo", "acme/gitops", "--overlays", "dev=o", "--preset", "x"],
            "preset 'x' is unknown",
        ),
        (
            [*BASE, *PROBE, "--gitops-repo", "a/g", "--overlays", "dev=o", "--actions-ref", "v1"],
            "not a full commit SHA",
        ),
    ],
)
def test_bad_options_exit_2_and_write_nothing(service: Path, args: list[str], message: str) -> None:
    code, _, err = run(service, *args)
    assert code == 2 and message in err, err
    assert not (service / ".github").exists()


def test_no_dockerfile_is_exit_2(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, *BASE, "--gitops-repo", "a/b", "--overlays", "dev=o")
    assert code == 2 and "no Dockerfile" in err


def test_tenants_and_explicit_production(service: Path) -> None:
    args = [
        *BASE,
        "--gitops-repo", "acme/gitops",
        "--overlays", "dev=k8s/dev",
        "--overlays", "live=k8s/tenants/a,k8s/tenants/b",
        "--health-url", "https://{tenant}.example/health",
        "--health-url", "live-b=https://b.example/health",
        "--workloads", "deployment/blocklist",
        "--namespace", "blocklist",
        "--production", "live",
    ]  # fmt: skip
    assert run(service, *args)[0] == 0
    cicd = load(service / ".github/workflows/cicd.yml")
    include = cicd["jobs"]["verify-live"]["strategy"]["matrix"]["include"]
    assert [(i["target"], i["overlay"], i["health-url"]) for i in include] == [
        ("live-a", "k8s/tenants/a", "https://{tenant}.example/health"),
        ("live-b", "k8s/tenants/b", "https://b.example/health"),
    ]
    assert (
        include[0]["workloads"] == "deployment/blocklist" and include[0]["namespace"] == "blocklist"
    )
    assert cicd["jobs"]["verify-live"]["strategy"]["max-parallel"] == 1
    assert "max-parallel" not in cicd["jobs"]["verify-dev"]["strategy"]
    # one commit for both tenants of live
    [bump] = [s for s in cicd["jobs"]["deploy-live"]["steps"] if s.get("id") == "bump"]
    assert bump["with"]["paths"] == "k8s/tenants/a\nk8s/tenants/b"


def test_the_cli_runs_init(service: Path, gitops: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(
        ["init", "--dir", str(service), *BASE, *PROBE, "--gitops-repo", str(gitops)], {}
    )
    assert code == 0 and "wrote .github/workflows/cicd.yml" in capsys.readouterr().out


def test_a_local_checkout_commit_is_not_a_pin(service: Path, gitops: Path) -> None:
    """From a ci-actions checkout, only a commit tagged as the release is pinned by default."""
    head = git(ROOT, "rev-parse", "HEAD").strip()
    tags = git(ROOT, "tag", "--points-at", "HEAD").split()
    code, _, err = run(service, "--registry", "r", *PROBE, "--gitops-repo", str(gitops))
    if "v0.1.0" in tags:
        assert code == 0, err
        assert (
            f"/actions/changes@{head} # v0.1.0"
            in (service / ".github/workflows/cicd.yml").read_text()
        )
    else:
        assert code == 2 and f"checkout is at {head[:12]}" in err and "--actions-ref" in err
        assert not (service / ".github").exists()


def test_recordable_drops_dir_and_mode_flags() -> None:
    assert recordable(
        ["--dir", "x", "--registry", "r", "--check", "--dir=y", "--force", "--diff"]
    ) == ["--registry", "r"]


@pytest.mark.parametrize(
    ("requires", "expected"),
    [
        (">=3.11", ("3.11", "3.12", "3.13", "3.14")),
        (">=3.10,<3.12", ("3.10", "3.11")),
        ("~=3.12.0", ("3.12",)),
        ("", ("3.14",)),
        ("not a specifier", ("3.14",)),
        # no fixed list: a version newer than any known here is admitted, never replaced
        (">=3.15", ("3.15",)),
        ("==3.16.*", ("3.16",)),
    ],
)
def test_python_versions_from_requires_python(requires: str, expected: tuple[str, ...]) -> None:
    project = {"project": {"requires-python": requires}} if requires else {}
    assert infer.python_versions(project) == expected


def test_linters_and_install_args(tmp_path: Path) -> None:
    (tmp_path / ".flake8").write_text("[flake8]\n")
    project = {
        "tool": {"black": {}, "mypy": {}},
        "project": {"optional-dependencies": {"test": ["pytest"]}},
    }
    commands, packages = infer.linters(tmp_path, project)
    assert commands == ("black --check .", "flake8", "mypy .")
    assert infer.install_args(tmp_path, project, packages) == (".[test]", "black", "flake8", "mypy")
    (tmp_path / "requirements.txt").write_text("requests==2.0\n")
    assert infer.install_args(tmp_path, {}, ()) == ("-r", "requirements.txt", "pytest")
    assert infer.requirements(tmp_path) == ("requirements.txt",)


def test_dockerfile_and_overlays_discovery(tmp_path: Path) -> None:
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "services" / "api").mkdir(parents=True)
    (tmp_path / "services" / "api" / "Dockerfile").write_text("FROM scratch\n")
    assert infer.dockerfile(tmp_path) == Path("services/api/Dockerfile")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert infer.dockerfile(tmp_path) == Path("Dockerfile")  # the root one first
    tree = [
        "overlays/prod/kustomization.yaml",
        "overlays/dev/kustomization.yaml",
        "overlays/staging/kustomization.yml",
        "overlays/qa/patch.yaml",
        "base/kustomization.yaml",
    ]
    assert infer.overlays_in(tree) == ["overlays/dev", "overlays/staging", "overlays/prod"]


def test_editing_only_the_recorded_command_makes_the_file_foreign(
    service: Path, gitops: Path
) -> None:
    """The header's hash covers the recorded command: an edited command is not replayed."""
    assert run(service, *BASE, *PROBE, "--gitops-repo", str(gitops))[0] == 0
    path = service / ".github/workflows/cicd.yml"
    text = path.read_text()
    edited = text.replace("--registry 127.0.0.1:5000", "--registry evil.example", 1)
    assert edited != text
    path.write_text(edited)
    assert not written_by_us(edited)
    code, _, err = run(service)  # a bare init: nothing recorded it may trust
    assert code == 2 and "--registry is required" in err
    code, _, err = run(service, *BASE, *PROBE, "--gitops-repo", str(gitops))
    assert code == 2 and "cicd.yml was not written by ci-actions init" in err
    assert path.read_text() == edited


@pytest.mark.parametrize(
    ("installed", "repo", "ref", "expected"),
    [
        # installed from git: the commit pip recorded, under that URL's repository
        (
            Installed("0.1.0", vcs_url="https://github.com/acme/ci-actions.git", vcs_commit=SHA),
            None,
            None,
            ("acme/ci-actions", SHA, SHA[:12], ""),
        ),
        # a release with its commit recorded at build, under the project URL
        (
            Installed(
                "1.2.0",
                release_commit=SHA,
                project_urls=("Source, https://github.com/ci-actions/ci-actions",),
            ),
            None,
            None,
            ("ci-actions/ci-actions", SHA, "v1.2.0", ""),
        ),
        # a release without a recorded commit: the tag, with a warning
        (
            Installed("1.2.0", project_urls=("Source, https://github.com/ci-actions/ci-actions",)),
            None,
            None,
            ("ci-actions/ci-actions", "v1.2.0", "v1.2.0", "a tag can be moved"),
        ),
        # a checkout at the release tag
        (
            Installed(
                "1.2.0",
                checkout_head=SHA,
                checkout_tags=("v1.2.0",),
                project_urls=("Source, https://github.com/ci-actions/ci-actions",),
            ),
            "mine/ci-actions",
            None,
            ("mine/ci-actions", SHA, "v1.2.0", ""),
        ),
        # given: used as given
        (Installed("0.1.0"), "acme/ci", SHA, ("acme/ci", SHA, "v0.1.0", "")),
    ],
)
def test_pins_are_what_the_installation_justifies(
    installed: Installed, repo: str | None, ref: str | None, expected: tuple[str, ...]
) -> None:
    pin = pin_resolve(installed, repo, ref, None)
    assert (pin.repo, pin.ref, pin.version) == expected[:3]
    assert expected[3] in pin.warning and bool(pin.warning) is bool(expected[3])


@pytest.mark.parametrize(
    ("installed", "message"),
    [
        (Installed("0.1.0", checkout_head=SHA), "not the release v0.1.0"),
        (Installed("0.2.0.dev3"), "not a release and records no commit"),
        (Installed("0.1.0", release_commit=SHA), "which repository publishes"),
        (Installed("0.1.0", project_urls=("Homepage, https://example.com",)), "which repository"),
    ],
)
def test_pins_init_cannot_justify_are_refused(installed: Installed, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        pin_resolve(installed, None, None, None)


def test_gitops_branch_is_the_remotes_default(service: Path, tmp_path: Path) -> None:
    work = one_service_gitops(tmp_path / "ops-src")
    git(work, "init", "-q", "-b", "master")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "gitops")
    bare = tmp_path / "ops.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    code, out, err = run(service, *BASE, *PROBE, "--gitops-repo", str(bare))
    assert code == 0, err
    assert f"gitops branch: master  <- the default branch of {bare}" in out
    clone = next(
        s
        for s in load(service / ".github/workflows/cicd.yml")["jobs"]["deploy-dev"]["steps"]
        if s.get("name") == "Clone the GitOps repository"
    )
    assert clone["env"]["GITOPS_BRANCH"] == "master"
    # recorded: a later run that cannot reach the remote renders the same branch
    shutil.rmtree(bare)
    assert run(service, "--check") == (0, "workflows are up to date\n", "")


def test_init_refuses_a_target_with_nothing_to_probe(service: Path) -> None:
    code, _, err = run(
        service, *BASE, "--gitops-repo", "a/b", "--overlays", "dev=o", "--overlays", "prod=p",
        "--health-url", "dev=http://127.0.0.1:8541/health",
    )  # fmt: skip
    assert code == 2 and "nothing to probe after a deploy of prod" in err
    assert not (service / ".github").exists()


def test_warns_when_the_image_is_not_one_the_overlays_set(service: Path, gitops: Path) -> None:
    # the one-service overlays set 127.0.0.1:5000/blocklist only (images:)
    code, out, _ = run(service, *BASE, *PROBE, "--gitops-repo", str(gitops), "--image", "shop")
    assert code == 0
    assert "the image 127.0.0.1:5000/shop is not among the images the overlays set" in out
    assert "(127.0.0.1:5000/blocklist)" in out
    code, out, _ = run(service, *BASE, *PROBE, "--gitops-repo", str(gitops))
    assert code == 0 and "not among the images" not in out


@pytest.mark.parametrize(
    ("files", "dockerfile", "expected"),
    [
        # compose names the Dockerfile: its context wins
        (
            {
                "compose.yaml": "services:\n  api:\n    build:\n      context: .\n"
                "      dockerfile: svc/Dockerfile\n",
                "svc/Dockerfile": "FROM x\nCOPY . .\n",
            },
            "svc/Dockerfile",
            (".", "compose.yaml builds service 'api'"),
        ),
        # COPY sources only the root holds
        (
            {
                "svc/Dockerfile": 'FROM x\nCOPY --chown=1:1 svc/app /app\nADD ["lib", "/lib"]\n',
                "svc/app/main.py": "",
                "lib/x.py": "",
            },
            "svc/Dockerfile",
            (".", "COPY/ADD source"),
        ),
        # sources beside the Dockerfile (a --from copy and a URL are not sources)
        (
            {
                "svc/Dockerfile": "FROM x\nCOPY --from=build /out /out\nADD https://e.x/f /f\n"
                "COPY app/ \\\n  /app/\n",
                "svc/app/main.py": "",
                "app/other.py": "",
            },
            "svc/Dockerfile",
            ("svc", "COPY/ADD source"),
        ),
        # a root Dockerfile that copies its package: the root
        (
            {"Dockerfile": "FROM x\nCOPY app/ /srv/app/\n", "app/main.py": ""},
            "Dockerfile",
            (".", "COPY/ADD source (app/)"),
        ),
        # nothing copied: the Dockerfile's folder
        ({"svc/Dockerfile": "FROM x\nRUN true\n"}, "svc/Dockerfile", ("svc", "copies nothing")),
    ],
)
def test_build_context(
    tmp_path: Path, files: dict[str, str], dockerfile: str, expected: tuple[str, str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    context, rule = infer.build_context(tmp_path, Path(dockerfile))
    assert context == expected[0] and expected[1] in rule, rule


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ARG VERSION\n", True), ("arg VERSION=1.0\n", True), ("ARG VERSIONS\n", False),
     ("ENV VERSION=1\n", False), ("# ARG VERSION\n", False)],
)  # fmt: skip
def test_takes_version(tmp_path: Path, text: str, expected: bool) -> None:
    (tmp_path / "Dockerfile").write_text("FROM x\n" + text)
    assert infer.takes_version(tmp_path, Path("Dockerfile")) is expected


@pytest.mark.parametrize(
    ("files", "commands", "pip_args"),
    [
        (
            {"uv.lock": ""},
            ["pip install --quiet --disable-pip-version-check uv", "uv sync --locked"],
            ["pytest"],
        ),
        ({"poetry.lock": ""}, ["-check poetry", "poetry install"], ["pytest"]),
        (
            {
                "pyproject.toml": "[project]\nname='a'\n[project.optional-dependencies]\ntests=['x']\n"
            },
            [],
            [".[tests]"],
        ),
        (
            {"pyproject.toml": "[project]\nname='a'\n[dependency-groups]\ndev=['pytest']\n"},
            ["'pip>=25.1'"],
            ["-e", ".", "--group", "dev", "pytest"],
        ),
        (
            {"requirements.txt": "", "requirements-test.txt": ""},
            [],
            ["-r", "requirements.txt", "-r", "requirements-test.txt", "pytest"],
        ),
        ({}, [], ["pytest"]),
    ],
)
def test_test_dependencies_are_the_projects_own(
    tmp_path: Path, files: dict[str, str], commands: list[str], pip_args: list[str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    found = infer.install(tmp_path, Path("."), infer.pyproject(tmp_path), ())
    assert len(found.commands) == len(commands), found.commands
    for fragment, command in zip(commands, found.commands, strict=True):
        assert fragment in command
    assert list(found.pip_args) == pip_args


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.14\n", "3.14"),
        ("cpython-3.12.4\n", "3.12"),
        ("# dev\n3.11.9\n", "3.11"),
        ("pypy\n", None),
    ],
)
def test_python_version_file(tmp_path: Path, text: str, expected: str | None) -> None:
    (tmp_path / "backend").mkdir()
    (tmp_path / ".python-version").write_text(text)
    assert infer.python_version_file(tmp_path / "backend", tmp_path) == expected


def test_the_test_package_is_the_nearest_project_above_the_tests(tmp_path: Path) -> None:
    for name in ("backend/pyproject.toml", "backend/tests/unit/test_a.py", "pyproject.toml",
                 "frontend/node_modules/x/test_b.py"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert infer.test_package(tmp_path) == Path("backend")
