"""kustomize-bump through the CLI, against real git with bare remotes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest

from ci_actions.actions import kustomize_bump
from ci_actions.actions.kustomize_bump import BumpInputs
from ci_actions.github.context import Context, GitHubContext
from ci_actions.github.runner import Runner
from ci_actions.gitops import GitOpsTarget
from ci_actions.kustomize.message import compile_template
from tests.support.act import git
from tests.support.cli import invoke
from tests.support.gitops import OVERLAY, clone, gitops_files, make_remote, show

API = "registry.local:5000/team/api"


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return make_remote(tmp_path, gitops_files())


def test_commit_mode_pushes_only_the_changed_scalar(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    run = invoke(
        tmp_path / "out",
        "kustomize-bump",
        ["--paths", "overlays/prod", "--images", f"{API}:1.2.3", "--mode", "commit"],
        cwd=work,
    )
    assert run.code == 0, run.log
    expected = OVERLAY.format(env="prod").replace(
        'newTag: "1.0.0"  # set', 'newTag: "1.2.3"  # set'
    )
    assert show(remote, "overlays/prod/kustomization.yaml") == expected
    assert show(remote, "overlays/dev/kustomization.yaml") == OVERLAY.format(env="dev")
    assert run.outputs["changed"] == "true"
    assert json.loads(run.outputs["changed-files"]) == ["overlays/prod/kustomization.yaml"]
    assert run.outputs["commit-sha"] == git(remote, "rev-parse", "main")
    assert json.loads(run.outputs["previous-images"]) == {API: f"{API}:1.0.0"}
    subject = git(remote, "log", "-1", "--format=%s%n%an <%ae>", "main")
    assert subject == (
        f"prod: set {API} to 1.2.3\n"
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    )
    assert git(work, "status", "--porcelain") == ""


WORKER = "registry.local:5000/team/worker"


def _bump(tmp: Path, cwd: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return invoke(tmp / "out", "kustomize-bump", list(args), cwd=cwd, env=env)


def test_edit_mode_changes_files_only(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    run = _bump(
        tmp_path, work, "--paths", "overlays/*/kustomization.yaml", "--images", f"{API}:2.0.0"
    )
    assert run.code == 0, run.log
    assert json.loads(run.outputs["changed-files"]) == [
        "overlays/dev/kustomization.yaml",
        "overlays/prod/kustomization.yaml",
    ]
    assert run.outputs["commit-sha"] == ""
    assert '+    newTag: "2.0.0"  # set by CI' in run.outputs["diff"]
    assert git(work, "diff", "--name-only").splitlines() == [
        "overlays/dev/kustomization.yaml",
        "overlays/prod/kustomization.yaml",
    ]
    assert git(remote, "rev-list", "--count", "main") == "1"


def test_dry_run_writes_nothing_and_prints_the_diff(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    run = _bump(
        tmp_path,
        work,
        "--paths",
        "overlays/dev",
        "--images",
        f"{WORKER}:9",
        "--mode",
        "commit",
        "--dry-run",
        "true",
    )
    assert run.code == 0, run.log
    assert run.outputs["changed"] == "true"
    assert '-    newTag: "1.0.0"\n+    newTag: "9"' in run.outputs["diff"]
    assert "dry run" in run.log
    assert git(work, "status", "--porcelain") == ""
    assert git(remote, "rev-list", "--count", "main") == "1"


def test_nothing_to_change_makes_no_commit(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    run = _bump(
        tmp_path, work, "--paths", "overlays/dev", "--images", f"{API}:1.0.0", "--mode", "commit"
    )
    assert run.code == 0, run.log
    assert run.outputs["changed"] == "false"
    assert run.outputs["commit-sha"] == ""
    assert git(remote, "rev-list", "--count", "main") == "1"


def test_image_found_nowhere_is_exit_1_unless_allowed(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    args = ["--paths", "base/api.yaml", "--images", f"{API}:3\nregistry.local:5000/team/nope:1"]
    run = _bump(tmp_path, work, *args)
    assert run.code == 1, run.log
    assert "registry.local:5000/team/nope found in none of the paths" in run.log
    assert git(work, "status", "--porcelain") == ""
    run = _bump(tmp_path, work, *args, "--allow-missing", "true")
    assert run.code == 0, run.log
    assert git(work, "diff", "--name-only") == "base/api.yaml"
    assert json.loads(run.outputs["previous-images"]) == {API: f"{API}:0.1.0"}


def test_bad_yaml_is_exit_2_with_file_and_line_and_nothing_written(
    tmp_path: Path, remote: Path
) -> None:
    work = clone(tmp_path, remote, "work")
    (work / "overlays/prod/kustomization.yaml").write_text("images:\n- name: x\n  newTag: [\n")
    git(work, "commit", "-qam", "broken")
    git(work, "push", "-q", "origin", "HEAD:main")
    run = _bump(
        tmp_path,
        work,
        "--paths",
        "overlays/dev\noverlays/prod",
        "--images",
        f"{API}:3",
        "--mode",
        "commit",
    )
    assert run.code == 2, run.log
    assert "::error file=overlays/prod/kustomization.yaml,line=4::" in run.stdout
    assert git(work, "status", "--porcelain") == ""
    assert git(remote, "rev-list", "--count", "main") == "2"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--images", "app"], "input 'images'"),
        (["--images", "app:v1", "--paths", "nowhere"], "input 'paths'"),
        (["--images", "app:v1", "--mode", "push"], "input 'mode'"),
        (
            ["--images", "app:v1", "--commit-message", "{% for %}", "--mode", "commit"],
            "input 'commit-message'",
        ),
        (["--images", "app:v1", "--push-retries", "-1"], "input 'push-retries'"),
    ],
)
def test_bad_inputs_are_exit_2(tmp_path: Path, remote: Path, args: list[str], says: str) -> None:
    work = clone(tmp_path, remote, "work")
    run = _bump(tmp_path, work, "--paths", "overlays/dev", *args)
    assert run.code == 2, run.log
    assert says in run.log


def _always_behind(remote: Path) -> None:
    """A remote whose branch always moves on before our push lands (a faster writer)."""
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "cat >/dev/null\n"
        "unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n"
        "export GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=x@x GIT_COMMITTER_NAME=x GIT_COMMITTER_EMAIL=x@x\n"
        "head=$(git rev-parse refs/heads/main)\n"
        "new=$(git commit-tree -p $head -m other $head^{tree})\n"
        "git update-ref refs/heads/main $new $head\n"
    )
    hook.chmod(0o755)


def test_push_rejected_after_retries_is_exit_3_and_tree_clean(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    _always_behind(remote)
    run = _bump(
        tmp_path,
        work,
        "--paths",
        "overlays/dev",
        "--images",
        f"{API}:5",
        "--mode",
        "commit",
        "--push-retries",
        "2",
    )
    assert run.code == 3, run.log
    assert "rejected after 3 attempt(s)" in run.log
    assert git(work, "status", "--porcelain") == ""
    assert git(work, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
    assert show(remote, "overlays/dev/kustomization.yaml") == OVERLAY.format(env="dev")


def test_declined_push_is_exit_3(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'denied: no write access' >&2\nexit 1\n")
    hook.chmod(0o755)
    run = _bump(
        tmp_path, work, "--paths", "overlays/dev", "--images", f"{API}:5", "--mode", "commit"
    )
    assert run.code == 3, run.log
    assert "denied: no write access" in run.log
    assert git(work, "status", "--porcelain") == ""


def test_other_repository_is_cloned_and_the_token_never_shows(
    tmp_path: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "tok-s3cr3t-value"
    shim = tmp_path / "bin"
    shim.mkdir()
    real = subprocess.run(
        ["which", "git"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (shim / "git").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/argv.log\nexec {real} "$@"\n')
    (shim / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim}:{os.environ['PATH']}")
    app = tmp_path / "app"
    app.mkdir()
    run = _bump(
        tmp_path,
        app,
        "--repository",
        f"file://{remote}",
        "--paths",
        "overlays/prod",
        "--images",
        f"{API}:7.0.0",
        "--mode",
        "commit",
        "--token",
        token,
        "--commit-message",
        "deploy {{ images[0].new_tag }} to {{ environment }} (was {{ images[0].old_tag }})",
        env={"RUNNER_TEMP": str(tmp_path / "runner-temp")},
    )
    assert run.code == 0, run.log
    assert git(remote, "log", "-1", "--format=%B", "main") == "deploy 7.0.0 to prod (was 1.0.0)"
    assert 'newTag: "7.0.0"' in show(remote, "overlays/prod/kustomization.yaml")
    assert f"::add-mask::{token}" in run.stdout
    assert token not in run.log.replace(f"::add-mask::{token}", "")
    argv = (tmp_path / "argv.log").read_text()
    assert "clone" in argv and "push" in argv
    assert token not in argv
    assert list((tmp_path / "runner-temp").iterdir()) == []  # the clone is gone


def test_token_stays_out_of_the_checkout_config(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    run = _bump(
        tmp_path,
        work,
        "--paths",
        "overlays/dev",
        "--images",
        f"{API}:8",
        "--mode",
        "commit",
        "--token",
        "tok-xyz",
    )
    assert run.code == 0, run.log
    assert "tok-xyz" not in (work / ".git" / "config").read_text()


def test_edit_mode_with_repository_is_refused(tmp_path: Path, remote: Path) -> None:
    run = _bump(
        tmp_path,
        tmp_path,
        "--repository",
        f"file://{remote}",
        "--paths",
        "overlays/dev",
        "--images",
        "a:1",
    )
    assert run.code == 2, run.log
    assert "input 'mode'" in run.log


def test_called_in_process_for_a_rollback(tmp_path: Path, remote: Path) -> None:
    """Another action calls run() with typed inputs; previous-images sets the images back."""
    work = clone(tmp_path, remote, "work")
    ctx = Context(github=GitHubContext(), environ={}, cwd=work, log=Runner({}))
    here = GitOpsTarget()  # the checkout in cwd
    first = kustomize_bump.run(BumpInputs.commit(["overlays/prod"], [f"{API}:2.0.0"], here), ctx)
    previous = json.loads(json.dumps(first.outputs["previous-images"]))
    assert previous == {API: f"{API}:1.0.0"}
    back = BumpInputs.commit(
        ["overlays/prod"], [f"{name}={ref}" for name, ref in previous.items()], here
    )
    template = compile_template("rollback {{ images[0].name }} to {{ images[0].current }}")
    back = kustomize_bump.run(dataclasses.replace(back, message=template), ctx)
    assert back.outputs["changed"] is True
    # `name=name:tag` writes newName too: the same image, rendered the same way
    text = show(remote, "overlays/prod/kustomization.yaml")
    assert f"newName: {API}" in text and 'newTag: "1.0.0"  # set by CI' in text
    assert git(remote, "log", "-1", "--format=%s", "main") == f"rollback {API} to {API}:1.0.0"
