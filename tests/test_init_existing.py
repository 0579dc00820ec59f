"""`ci-actions init` over a project that already has workflows (tests/fixtures/init-workflows):
what they did is carried into the rendered cicd.yml field by field, or named in init's
output as not carried over; another workflow pushing the same image is a warning.

Expected values are read off the fixture workflows (see their README), not from init.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci_actions.init import main
from ci_actions.manifests.policies import starter_policy_file
from tests.render.cases import SHA
from tests.support.act import git
from tests.support.one_service import gitops as one_service_gitops
from tests.support.one_service import one_service

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / "tests" / "fixtures" / "init-workflows"
PROBE = ["--health-url", "http://127.0.0.1:8541/health", "--actions-ref", SHA]


@dataclass(frozen=True)
class Case:
    fixture: str
    branch: str  # the application's default branch
    origin: str
    args: tuple[str, ...]
    # (job, step id or uses prefix, input) -> value; None: the input is absent
    inputs: dict[tuple[str, str, str], str | None]
    push_branches: list[str]
    push_tags: list[str]
    image_permissions: dict[str, str]
    tag_rules: list[str]  # after the two rules that make the version
    root_lints: list[str]
    carried: list[str] = field(default_factory=list)  # fragments of init's output lines
    not_carried: list[str] = field(default_factory=list)  # fragments of "NOT carried over" lines
    warnings: list[str] = field(default_factory=list)


CASES = [
    Case(
        "models-web-app",
        branch="master",
        origin="https://github.com/kserve/models-web-app.git",
        args=("--registry", "ghcr.io", "--image", "kserve/models-web-app"),
        inputs={
            ("image", "build", "platforms"): "linux/ppc64le,linux/amd64,linux/arm64",
            ("image", "build", "cache-from"): None,  # type=gha: not carried
            ("image", "build", "cache-to"): None,
            ("image", "build", "username"): "${{ github.actor }}",
            ("image", "build", "password"): "${{ github.token }}",
        },
        push_branches=["master", "release-*"],
        push_tags=["v*"],
        image_permissions={"contents": "read", "packages": "write"},
        tag_rules=[
            "type=schedule",
            "type=ref,event=branch",
            "type=ref,event=pr",
            "type=semver,pattern={{version}}",
            "type=sha",
            "type=raw,value=latest,enable=${{ github.ref == 'refs/heads/master' }}",
        ],
        root_lints=["flake8 backend"],
        carried=[
            "platforms: linux/ppc64le,linux/amd64,linux/arm64",
            "registry login to ghcr.io with the job's token",
            "release triggers: master, release-*, tags v*",
            "image tag rules: 6",
            "linter: flake8 backend",
        ],
        not_carried=[
            "build cache `type=gha`, `type=gha,mode=max` (web-app-docker-publish.yml",
            "version string: git describe in a run step of release.yml",
        ],
        warnings=[
            "web-app-docker-publish.yml pushes ghcr.io/kserve/models-web-app too and will keep"
        ],
    ),
    Case(
        "registry-cache",
        branch="main",
        origin="git@github.com:acme/blocklist.git",
        args=("--registry", "registry.example.com", "--image", "acme/blocklist"),
        inputs={
            ("image", "build", "platforms"): None,
            ("image", "build", "cache-from"): (
                "type=registry,ref=registry.example.com/acme/blocklist:buildcache"
            ),
            ("image", "build", "cache-to"): (
                "type=registry,ref=registry.example.com/acme/blocklist:buildcache,mode=max"
            ),
            ("image", "build", "username"): "${{ secrets.REGISTRY_USERNAME }}",
            ("image", "build", "password"): "${{ secrets.REGISTRY_PASSWORD }}",
        },
        push_branches=["main", "stable/**"],
        push_tags=["release-*"],
        image_permissions={"contents": "read"},
        tag_rules=[],
        root_lints=["black --check ."],
        carried=["build cache: type=registry,ref=registry.example.com/acme/blocklist:buildcache"],
        not_carried=["linter `ruff check src` (lint.yml (job backend)): it runs in backend"],
        warnings=[
            "build.yml pushes registry.example.com/acme/blocklist, registry.example.com/acme/docs"
        ],
    ),
]


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    work = one_service_gitops(tmp_path / "gitops-src")
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "gitops")
    bare = tmp_path / "gitops.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def app(tmp_path: Path, case: Case) -> Path:
    repo = one_service(tmp_path / "app")
    shutil.copytree(WORKFLOWS / case.fixture, repo / ".github" / "workflows")
    git(repo, "init", "-q", "-b", case.branch)
    git(repo, "remote", "add", "origin", case.origin)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "app")
    return repo


def run(repo: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--dir", str(repo), *args], {}, out, err)
    return code, out.getvalue(), err.getvalue()


def _step(jobs: dict[str, Any], job: str, key: str) -> dict[str, Any]:
    steps = jobs[job]["steps"]
    return next(s for s in steps if s.get("id") == key or str(s.get("uses", "")).startswith(key))


@pytest.mark.parametrize("case", CASES, ids=[c.fixture for c in CASES])
def test_existing_workflows_are_carried_over_or_named(
    tmp_path: Path, gitops: Path, case: Case
) -> None:
    repo = app(tmp_path, case)
    before = {p.name: p.read_text() for p in (repo / ".github" / "workflows").iterdir()}
    code, out, err = run(repo, *case.args, *PROBE, "--gitops-repo", str(gitops))
    assert code == 0, out + err
    data = yaml.safe_load((repo / ".github" / "workflows" / "cicd.yml").read_text())
    on, jobs = data[True], data["jobs"]
    assert on["push"]["branches"] == case.push_branches
    assert on["push"]["tags"] == case.push_tags
    assert on["pull_request"]["branches"] == [case.branch]
    assert jobs["image"]["permissions"] == case.image_permissions
    for (job, step, name), value in case.inputs.items():
        assert _step(jobs, job, step)["with"].get(name) == value, (job, step, name)
    rules = _step(jobs, "image", "tags")["with"]["tags"].splitlines()
    assert rules[:2] == ["type=semver,pattern={{version}},priority=1200", "type=sha,priority=1100"]
    assert [r for r in rules[2:] if not r.startswith("#")] == case.tag_rules
    lints = [s["run"] for s in jobs["test"]["steps"] if s.get("working-directory") == "."]
    assert lints == case.root_lints
    lines = out.splitlines()
    for fragment in case.carried:
        assert any(fragment in line for line in lines), (fragment, out)
    missed = [line for line in lines if line.startswith("NOT carried over: ")]
    assert len(missed) == len(case.not_carried), out
    for fragment in case.not_carried:
        assert any(fragment in line for line in missed), (fragment, out)
    warned = [line for line in lines if line.startswith("warning: ")]
    for fragment in case.warnings:
        assert any(fragment in line for line in warned), (fragment, out)
    # the project's own workflows are read, never touched
    assert {n: (repo / ".github" / "workflows" / n).read_text() for n in before} == before
    # what was carried over is rendered again the same: no drift, even once the old
    # workflows are gone (what init found is recorded as options in the header)
    assert run(repo, "--check")[0] == 0
    for name in before:
        (repo / ".github" / "workflows" / name).unlink()
    code, out, _ = run(repo, "--check")
    assert code == 0, out


def test_the_test_command_and_policy_file_options_need_no_hand_edit(
    tmp_path: Path, gitops: Path
) -> None:
    repo = app(tmp_path, CASES[1])
    args = (*CASES[1].args, *PROBE, "--gitops-repo", str(gitops))
    code, out, err = run(
        repo, *args, "--test-command", "python -m pytest -m 'not slow'",
        "--policy-file", "policies/validate.yaml",
    )  # fmt: skip
    assert code == 0, out + err
    jobs = yaml.safe_load((repo / ".github" / "workflows" / "cicd.yml").read_text())["jobs"]
    assert jobs["test"]["steps"][-1]["run"] == "python -m pytest -m 'not slow'"
    validate = next(s for s in jobs["deploy-dev"]["steps"] if s.get("name", "").startswith("Valid"))
    assert validate["with"]["policy-file"] == ".gitops/policies/validate.yaml"
    assert run(repo, "--check")[0] == 0  # the recorded options render the same files
    code, _, err = run(repo, *args, "--test-command", "pytest ${{ github.head_ref }}")
    assert code == 2 and "expression" in err, err
    for bad in ("/etc/policy.yaml", "../policy.yaml"):
        code, _, err = run(repo, *args, "--policy-file", bad)
        assert code == 2 and "policy-file" in err


# -- the policy file in the GitOps repository (issue 18, item 2) ------------------------


def _validate_inputs(repo: Path) -> dict[str, str]:
    jobs = yaml.safe_load((repo / ".github" / "workflows" / "cicd.yml").read_text())["jobs"]
    step = next(s for s in jobs["deploy-dev"]["steps"] if s.get("name", "").startswith("Valid"))
    return dict(step["with"])


def test_a_local_gitops_checkout_gets_a_commented_policy_file_once(
    tmp_path: Path, gitops: Path
) -> None:
    repo = app(tmp_path, CASES[1])
    checkout = tmp_path / "gitops-checkout"
    git(tmp_path, "clone", "-q", str(gitops), str(checkout))
    args = (*CASES[1].args, *PROBE, "--gitops-repo", "acme/gitops", "--gitops-dir", str(checkout))
    args = (*args, "--gitops-branch", "main")
    policy = checkout / "validate-manifests-policy.yaml"

    code, out, err = run(repo, *args)
    assert code == 0, out + err
    assert policy.read_text() == starter_policy_file()
    assert f"wrote {policy}" in out and "commit" in out
    # not committed yet: the runner's clone would not have it, so the step does not name it
    assert "policy-file" not in _validate_inputs(repo)
    assert run(repo, "--check")[0] == 0  # the file is not part of the drift check

    policy.write_text("policies:\n  resources: error\n")  # the team edits it: never overwritten
    git(checkout, "add", policy.name)
    git(checkout, "commit", "-q", "-m", "policies")
    code, out, _ = run(repo, *args)
    assert code == 0 and policy.read_text() == "policies:\n  resources: error\n"
    assert f"wrote {policy}" not in out
    assert _validate_inputs(repo)["policy-file"] == ".gitops/validate-manifests-policy.yaml"
    # recorded, and the local path is not: a check elsewhere renders the same file
    header = (repo / ".github" / "workflows" / "cicd.yml").read_text().splitlines()[2]
    assert "--policy-file validate-manifests-policy.yaml" in header
    assert str(checkout) not in header
    shutil.rmtree(checkout)
    assert run(repo, "--check")[0] == 0


def test_a_remote_gitops_repository_gets_the_hint_and_nothing_is_written(
    tmp_path: Path, gitops: Path
) -> None:
    repo = app(tmp_path, CASES[1])
    listing = sorted(p.name for p in gitops.iterdir())
    code, out, err = run(repo, *CASES[1].args, *PROBE, "--gitops-repo", str(gitops))
    assert code == 0, out + err
    assert sorted(p.name for p in gitops.iterdir()) == listing  # a bare repository: untouched
    assert "no validate-manifests-policy.yaml in the GitOps repository" in out
    assert "--gitops-dir" in out and "commit" in out
    assert "policy-file" not in _validate_inputs(repo)


# -- what is never carried over: read directly, one small workflow each ------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def _publish(with_: str, extra_steps: str = "") -> str:
    return (
        "on:\n  push:\n    branches: [main]\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
        "    strategy:\n      matrix:\n        platform: [linux/amd64, linux/arm64]\n"
        "    steps:\n" + extra_steps + "      - uses: docker/build-push-action@v6\n"
        "        with:\n" + with_
    )


@pytest.mark.parametrize(
    ("text", "expected", "not_carried"),
    [
        # unreadable workflows are skipped: an alias bomb, a syntax error
        (BOMB, {}, []),
        ("on: [push\njobs: {", {}, []),
        # a value read from the workflow's own job means nothing in the pipeline's jobs
        (
            _publish("          platforms: ${{ matrix.platform }}\n          push: false\n"),
            {"platforms": ""},
            ["platforms `${{ matrix.platform }}`"],
        ),
        (
            _publish(
                "          push: false\n",
                "      - uses: docker/metadata-action@v5\n        with:\n          images: x\n"
                "          tags: |\n            type=sha\n"
                "            type=raw,value=${{ steps.version.outputs.v }}\n",
            ),
            {"tag_rules": ("type=sha",), "publishers": ()},
            ["image tag rule `type=raw,value=${{ steps.version.outputs.v }}`"],
        ),
        # a lint command with an expression would put one inside run:
        (
            _publish("          push: false\n", "      - run: flake8 ${{ github.workspace }}\n"),
            {"lint_commands": ()},
            ["linter `flake8 ${{ github.workspace }}`"],
        ),
        # a registry cache whose ref is another step's output
        (
            _publish(
                "          push: true\n          cache-from: type=registry,ref=${{ steps.r.outputs.ref }}\n"
            ),
            {"cache_from": "", "publishers": (("ci.yml", ()),)},
            ["build cache `type=registry,ref=${{ steps.r.outputs.ref }}`"],
        ),
    ],
)
def test_what_is_not_carried_over(
    tmp_path: Path, text: str, expected: dict[str, Any], not_carried: list[str]
) -> None:
    from ci_actions.render import existing

    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(text)
    found = existing.read(tmp_path)
    for name, value in expected.items():
        assert getattr(found, name) == value, name
    assert len(found.not_carried) == len(not_carried), found.not_carried
    for fragment, line in zip(not_carried, found.not_carried, strict=True):
        assert fragment in line


def test_a_workflow_init_wrote_is_not_read_back(tmp_path: Path) -> None:
    from ci_actions.render import HEADER_MARK, existing

    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    body = _publish("          platforms: linux/amd64,linux/arm64\n          push: true\n")
    (tmp_path / ".github" / "workflows" / "cicd.yml").write_text(f"{HEADER_MARK} 0.1.0\n{body}")
    assert existing.read(tmp_path) == existing.Existing()


@pytest.mark.parametrize("name", [".github/workflows/ci.yml", "compose.yaml"])
def test_a_hostile_yaml_file_is_skipped_not_a_crash(
    tmp_path: Path, gitops: Path, name: str
) -> None:
    repo = app(tmp_path, CASES[1])
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text("jobs: " + "[" * 100_000)  # libyaml's composer recurses per level
    code, out, err = run(repo, *CASES[1].args, *PROBE, "--gitops-repo", str(gitops))
    assert code == 0, out + err


def test_a_given_option_wins_over_the_workflows(tmp_path: Path, gitops: Path) -> None:
    repo = app(tmp_path, CASES[0])
    code, out, err = run(
        repo, *CASES[0].args, *PROBE, "--gitops-repo", str(gitops),
        "--platforms", "linux/amd64", "--registry-login", "secrets", "--push-tag", "release/*",
        "--lint", "ruff check backend",
    )  # fmt: skip
    assert code == 0, out + err
    data = yaml.safe_load((repo / ".github" / "workflows" / "cicd.yml").read_text())
    build = _step(data["jobs"], "image", "build")["with"]
    assert build["platforms"] == "linux/amd64"
    assert build["password"] == "${{ secrets.REGISTRY_PASSWORD }}"
    assert data["jobs"]["image"]["permissions"] == {"contents": "read"}
    assert data[True]["push"]["tags"] == ["release/*"]
    assert data[True]["push"]["branches"] == ["master", "release-*"]  # not given: found
    lints = [s["run"] for s in data["jobs"]["test"]["steps"] if s.get("working-directory") == "."]
    assert lints == ["ruff check backend"]
    for bad in ("rm -rf /", "flake8 ${{ github.workspace }}"):
        code, _, err = run(
            repo, *CASES[0].args, *PROBE, "--gitops-repo", str(gitops), "--lint", bad
        )
        assert code == 2 and "--lint" in err, err


def test_a_gitops_folder_inside_another_repository_gets_no_file(tmp_path: Path) -> None:
    """The folder is not a checkout's root: a file written at the toplevel would land in
    another repository (here: the one holding the example)."""
    outer = tmp_path / "outer"
    one_service_gitops(outer / "gitops")
    git(outer, "init", "-q", "-b", "main")
    git(outer, "add", "-A")
    git(outer, "commit", "-q", "-m", "outer")
    repo = app(tmp_path, CASES[1])
    code, out, err = run(
        repo, *CASES[1].args, *PROBE, "--gitops-repo", str(outer / "gitops"),
        "--gitops-branch", "main",
    )  # fmt: skip
    assert code == 0, out + err
    assert not list(outer.rglob("validate-manifests-policy.yaml"))
    assert git(outer, "status", "--porcelain") == ""
