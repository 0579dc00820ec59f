"""`image-tags` as a CLI: laptop checkouts, presets, the GitHub API, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ci_actions.github.context import Context
from tests.support.act import git
from tests.support.anchor import EVENTS, REPOSITORY, SHA, fake_api
from tests.support.cli import invoke, parse_delimited
from tests.support.fake_github import FakeGitHub

NOW = datetime(2024, 3, 15, 21, 7, 9, 123000, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Context, "now", lambda self: NOW)


@pytest.fixture
def api() -> Iterator[FakeGitHub]:
    with fake_api() as fake:
        yield fake


def _push(api: FakeGitHub, ref: str = "refs/heads/main", **extra: str) -> dict[str, str]:
    return {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(EVENTS / "push.json"),
        "GITHUB_REF": ref,
        "GITHUB_SHA": SHA,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": api.url,
        "INPUT_IMAGES": "app",
        "INPUT_GITHUB-TOKEN": "ghs_secret123",
        **extra,
    }


# -- a laptop: no GITHUB_* at all ----------------------------------------------------


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "work"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "git@github.com:acme/webapp.git")
    (repo / "a.txt").write_text("a\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "first")
    return repo


def _json_outputs(stdout: str) -> dict[str, str]:
    return json.loads(stdout.strip().splitlines()[-1])


def test_laptop_sha_tag_without_any_github_variable(tmp_path: Path, checkout: Path) -> None:
    sha = git(checkout, "rev-parse", "HEAD")
    run = invoke(
        tmp_path,
        "image-tags",
        ["--images", "app", "--tags", "type=sha", "--json"],
        cwd=checkout,
        runner=False,
    )
    assert run.code == 0, run.log
    out = _json_outputs(run.stdout)
    assert out["tags"] == f"app:sha-{sha[:7]}"
    labels = out["labels"].splitlines()
    assert f"org.opencontainers.image.revision={sha}" in labels
    assert "org.opencontainers.image.source=https://github.com/acme/webapp" in labels
    assert "org.opencontainers.image.title=webapp" in labels


def test_laptop_tag_checkout_and_commit_date(tmp_path: Path, checkout: Path) -> None:
    git(checkout, "tag", "v1.4.0")
    git(checkout, "checkout", "-q", "--detach", "v1.4.0")
    date = git(checkout, "show", "-s", "--format=%cd", "--date=format:%Y%m%d", "HEAD")
    run = invoke(
        tmp_path,
        "image-tags",
        [
            "--context",
            "git",
            "--images",
            "app",
            "--tags",
            "type=semver,pattern={{version}}\ntype=raw,value=c{{commit_date 'YYYYMMDD' tz='UTC'}}",
            "--json",
        ],
        cwd=checkout,
        runner=False,
    )
    assert run.code == 0, run.log
    out = _json_outputs(run.stdout)
    assert out["tag-names"].splitlines() == ["1.4.0", f"c{date}", "latest"]


def test_laptop_default_branch_latest(tmp_path: Path, checkout: Path) -> None:
    run = invoke(
        tmp_path,
        "image-tags",
        ["--preset", "multi", "--json"],
        cwd=checkout,
        runner=False,
    )
    assert run.code == 0, run.log
    sha = git(checkout, "rev-parse", "--short=7", "HEAD")
    assert _json_outputs(run.stdout)["tag-names"].splitlines() == [
        "main",
        "20240315",
        "latest",
        f"sha-{sha}",
    ]


def test_git_context_outside_a_checkout(tmp_path: Path) -> None:
    run = invoke(tmp_path, "image-tags", ["--context", "git"], runner=False)
    assert run.code == 2
    assert "not a git checkout" in run.log


# -- presets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "ref", "tags", "expected"),
    [
        ("multi", "refs/heads/main", "", ["main", "20240315", "latest", "sha-9c1b0e5"]),
        ("multi", "refs/heads/dev", "", ["dev", "20240315", "sha-9c1b0e5"]),
        ("gitflow", "refs/heads/main", "", ["stable-9c1b0e5"]),
        ("gitflow", "refs/heads/develop", "", ["beta-20240315-210709-9c1b0e5"]),
        ("gitflow", "refs/heads/feature/login", "", ["dev-feature-login-9c1b0e5"]),
        ("gitflow", "refs/tags/v1.2.3", "", []),
        (
            "gitflow",
            "refs/tags/v1.2.3",
            "type=semver,pattern={{version}}",
            ["1.2.3", "latest"],
        ),
        ("gitflow", "refs/heads/main", "type=raw,value=extra", ["stable-9c1b0e5", "extra"]),
        (
            "multi",
            "refs/heads/main",
            "type=ref,event=branch,prefix=b-",
            ["main", "b-main", "20240315", "latest", "sha-9c1b0e5"],
        ),
    ],
)
def test_presets(
    tmp_path: Path, api: FakeGitHub, preset: str, ref: str, tags: str, expected: list[str]
) -> None:
    env = _push(api, ref, INPUT_PRESET=preset, INPUT_TAGS=tags)
    run = invoke(tmp_path, "image-tags", env=env)
    assert run.code == 0, run.log
    assert (run.outputs["tag-names"].split("\n") if run.outputs["tag-names"] else []) == expected


def test_unknown_preset(tmp_path: Path, api: FakeGitHub) -> None:
    run = invoke(tmp_path, "image-tags", env=_push(api, INPUT_PRESET="trunk"))
    assert run.code == 2
    assert "preset" in run.log and "multi or gitflow" in run.log


# -- the GitHub API --------------------------------------------------------------------


def test_repository_data_comes_from_the_api_with_the_token(tmp_path: Path, api: FakeGitHub) -> None:
    run = invoke(tmp_path, "image-tags", env=_push(api))
    assert run.code == 0, run.log
    labels = run.outputs["labels"].split("\n")
    assert "org.opencontainers.image.description=Web app served by the API" in labels
    assert "org.opencontainers.image.licenses=MIT" in labels
    paths = [c.path for c in api.calls]
    assert paths == [f"/repos/{REPOSITORY}"]  # the commit date came from the payload
    assert api.calls[0].headers["authorization"] == "Bearer ghs_secret123"
    assert run.log.count("ghs_secret123") == 1  # only in the ::add-mask:: command


def test_api_down_falls_back_to_the_event(tmp_path: Path, api: FakeGitHub) -> None:
    api.fail_status = 500
    run = invoke(tmp_path, "image-tags", env=_push(api))
    assert run.code == 0, run.log
    assert "::warning" in run.log and "could not read repository data" in run.log
    labels = run.outputs["labels"].split("\n")
    assert "org.opencontainers.image.description=Web app (event copy)" in labels
    assert "org.opencontainers.image.licenses=Apache-2.0" in labels


def test_api_unreachable_falls_back(tmp_path: Path, api: FakeGitHub) -> None:
    env = _push(api, GITHUB_API_URL="http://127.0.0.1:9")
    run = invoke(tmp_path, "image-tags", env=env)
    assert run.code == 0, run.log
    assert "could not read repository data" in run.log
    assert "org.opencontainers.image.title=webapp" in run.outputs["labels"]


def test_commit_date_from_the_api_when_the_event_lacks_it(tmp_path: Path, api: FakeGitHub) -> None:
    env = _push(
        api,
        "refs/heads/main",
        GITHUB_EVENT_NAME="workflow_dispatch",
        GITHUB_EVENT_PATH=str(EVENTS / "workflow_dispatch.json"),
        INPUT_TAGS="type=raw,value={{commit_date 'YYYYMMDD-HHmmss'}}",
    )
    run = invoke(tmp_path, "image-tags", env=env)
    assert run.code == 0, run.log
    assert run.outputs["version"] == "20240315-230405"
    assert f"/repos/{REPOSITORY}/commits/{SHA}" in [c.path for c in api.calls]


# -- runner files ------------------------------------------------------------------------


def test_outputs_exported_to_github_env(tmp_path: Path, api: FakeGitHub) -> None:
    run = invoke(tmp_path, "image-tags", env=_push(api, INPUT_TAGS="type=sha"))
    assert run.code == 0, run.log
    exported = parse_delimited(run.env_file)
    assert exported["DOCKER_METADATA_OUTPUT_VERSION"] == "sha-9c1b0e5"
    assert exported["DOCKER_METADATA_OUTPUT_TAG_NAMES"] == "sha-9c1b0e5"
    assert Path(exported["DOCKER_METADATA_OUTPUT_BAKE_FILE"]).is_file()
    off = invoke(
        tmp_path / "off",
        "image-tags",
        env=_push(api, INPUT_TAGS="type=sha", DOCKER_METADATA_SET_OUTPUT_ENV="false"),
    )
    assert off.code == 0 and off.env_file == ""
    bad = invoke(
        tmp_path / "bad",
        "image-tags",
        env=_push(api, INPUT_TAGS="type=sha", DOCKER_METADATA_SET_OUTPUT_ENV="maybe"),
    )
    assert bad.code == 2


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "needle"),
    [
        ({"INPUT_TAGS": "type=sha\ntype=foo,value=x"}, "'type=foo,value=x'"),
        ({"INPUT_TAGS": "type=sha,colour=red"}, "unknown attribute 'colour'"),
        ({"INPUT_TAGS": "type=raw,value={{date}}"}, "a date needs a format"),
        ({"INPUT_TAGS": "type=raw,value={{date 'YYYY' zone='UTC'}}"}, "unknown zone attribute"),
        ({"INPUT_TAGS": "type=sha,enable=yes"}, "enable must be true or false"),
        ({"INPUT_TAGS": "type=sha,enable={{branch}}"}, "enable must be true or false, got 'main'"),
        ({"INPUT_FLAVOR": "latest=maybe"}, "flavor"),
        ({"INPUT_IMAGES": "name=app,push=true"}, "images"),
        ({"INPUT_CONTEXT": "cloud"}, "context"),
        ({"INPUT_TAGS": "type=raw,value={{#if branch}}x{{/if}}"}, "not supported"),
        ({"INPUT_TAGS": 'type=raw,"value=open'}, "a quoted field is not closed"),
        ({"INPUT_LABELS": "build={{date}}"}, "input 'labels': a date needs a format"),
        ({"INPUT_FLAVOR": "prefix={{date}}-"}, "input 'flavor': a date needs a format"),
        ({"INPUT_TAGS": 'type=raw,value="q"'}, "a quote may only open a field"),
    ],
)
def test_bad_input_exits_2_and_names_the_line(
    tmp_path: Path, api: FakeGitHub, inputs: dict[str, str], needle: str
) -> None:
    run = invoke(tmp_path, "image-tags", env=_push(api, **inputs))
    assert run.code == 2, run.log
    assert needle in run.log


def test_ref_that_matches_no_rule_warns_and_skips(tmp_path: Path, api: FakeGitHub) -> None:
    env = _push(
        api,
        "refs/tags/sometag",
        GITHUB_EVENT_PATH=str(EVENTS / "push_tag.json"),
        INPUT_TAGS="type=semver,pattern={{version}}\ntype=match,pattern=v(\\d+),group=1\ntype=ref,event=tag",
    )
    run = invoke(tmp_path, "image-tags", env=env)
    assert run.code == 0, run.log
    assert "sometag is not a valid semver" in run.log
    assert "does not match sometag" in run.log
    assert run.outputs["tag-names"] == "sometag\nlatest"


def test_no_tag_at_all_warns(tmp_path: Path, api: FakeGitHub) -> None:
    run = invoke(tmp_path, "image-tags", env=_push(api, INPUT_TAGS="type=ref,event=tag"))
    assert run.code == 0
    assert "No Docker tag has been generated" in run.log
    assert run.outputs["tags"] == "" and run.outputs["version"] == ""
    assert json.loads(run.outputs["json"])["tags"] == []


@pytest.mark.parametrize(
    ("how", "extra", "args"),
    [
        ("the declared default, run as a command", {}, ()),
        ("the expression passed as a flag", {}, ("--github-token", "${{ github.token }}")),
        ("the expression in INPUT_", {"INPUT_GITHUB-TOKEN": " ${{ github.token }} "}, ()),
    ],
)
def test_an_unexpanded_token_expression_is_never_sent(
    tmp_path: Path, api: FakeGitHub, how: str, extra: dict[str, str], args: tuple[str, ...]
) -> None:
    env = {k: v for k, v in _push(api).items() if k != "INPUT_GITHUB-TOKEN"} | extra
    run = invoke(tmp_path, "image-tags", args, env=env)
    assert run.code == 0, (how, run.log)
    assert [c.path for c in api.calls] == [f"/repos/{REPOSITORY}"], how
    assert "authorization" not in api.calls[0].headers, how
    assert "::warning" in run.log and "github-token" in run.log and "expanded" in run.log, how
