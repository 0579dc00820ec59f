"""One action calls another through its `run` on typed inputs (no string dictionaries)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ci_actions.actions import kustomize_bump
from ci_actions.actions.kustomize_bump import BumpInputs, Mode
from ci_actions.errors import InputError
from ci_actions.git import Identity
from ci_actions.github.context import Context, GitHubContext
from ci_actions.github.inputs import RawInputs
from ci_actions.github.runner import Runner
from ci_actions.gitops import GitOpsTarget
from ci_actions.result import Result
from tests.actions.test_release_ledger import (
    DIGEST_1,
    IMAGE,
    _healthy_then_failed,
    ledger,
    lines,
)
from tests.support.gitops import gitops_files, make_remote


def test_commit_inputs_read_images_as_the_images_input_does() -> None:
    """BumpInputs.commit parses like parse_inputs: the same settings, commit mode."""
    lines = ["reg/web:1.4.0", "app=registry:5000/team/app@sha256:" + "c" * 64]
    raw = RawInputs(
        kustomize_bump.SPEC,
        {
            "paths": "envs/prod",
            "images": "\n".join(lines),
            "mode": "commit",
            "push-retries": "5",
            "ordering": "none",
        },
    )
    parsed = kustomize_bump.parse_inputs(raw)
    called = BumpInputs.commit(["envs/prod"], lines, GitOpsTarget())
    assert called.mode is Mode.COMMIT
    assert (called.paths, called.images, called.target) == (
        parsed.paths,
        parsed.images,
        parsed.target,
    )


@pytest.mark.parametrize("images", [[], ["reg/web@sha256:xyz"], ["reg/web:bad tag"], ["=x"]])
def test_commit_inputs_refuse_what_the_input_refuses(images: list[str]) -> None:
    with pytest.raises(InputError, match="input 'images'"):
        BumpInputs.commit(["envs/prod"], images, GitOpsTarget())


def test_a_called_bump_masks_the_token_it_is_given(tmp_path: Path) -> None:
    """The caller's token is masked by kustomize-bump itself, before it prints anything."""
    out = io.StringIO()
    ctx = Context(
        github=GitHubContext(),
        environ={},
        cwd=tmp_path,
        log=Runner({"GITHUB_ACTIONS": "true"}, stdout=out, stderr=out),
    )
    target = GitOpsTarget(token="called-s3cret", working_directory=tmp_path)
    with pytest.raises(InputError, match="not a git checkout"):  # tmp_path is no checkout
        kustomize_bump.run(BumpInputs.commit(["envs/prod"], ["reg/web:1"], target), ctx)
    assert "::add-mask::called-s3cret" in out.getvalue()


def test_ledger_rollback_gives_the_bump_its_repository_branch_token_and_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = make_remote(tmp_path, gitops_files())
    _healthy_then_failed(tmp_path, remote)
    calls: list[BumpInputs] = []
    real = kustomize_bump.run

    def recorded(inputs: BumpInputs, ctx: Context) -> Result:
        calls.append(inputs)
        return real(inputs, ctx)

    monkeypatch.setattr(kustomize_bump, "run", recorded)
    run = ledger(
        tmp_path,
        command="rollback",
        service="api",
        environment="prod",
        paths="overlays/prod",
        repository=str(remote),
        branch="main",
        token="ledger-s3cret",
        push_retries="7",
        author_name="Ops Bot",
        author_email="ops@example.test",
    )
    assert run.code == 0, run.log
    [bump] = calls
    assert bump.mode is Mode.COMMIT
    assert bump.paths == ("overlays/prod",)
    assert [str(i) for i in bump.images] == [f"{IMAGE}:1.0.0@{DIGEST_1}"]
    assert bump.environment == "prod"
    assert bump.target == GitOpsTarget(
        repository=str(remote),
        branch="main",
        token="ledger-s3cret",
        working_directory=tmp_path / "runs",
        identity=Identity("Ops Bot", "ops@example.test"),
        push_retries=7,
    )
    shown = [line for line in run.log.splitlines() if not line.startswith("::add-mask::")]
    assert not [line for line in shown if "ledger-s3cret" in line]


def test_a_refused_bump_is_the_ledger_rollback_s_refusal(tmp_path: Path) -> None:
    """kustomize-bump says no (the image is in none of the paths): exit 1 with its reason,
    reported as release-ledger's, and the ledger is left as it was."""
    remote = make_remote(tmp_path, gitops_files())
    _healthy_then_failed(tmp_path, remote)
    before = lines(remote)
    run = ledger(
        tmp_path,
        command="rollback",
        service="api",
        environment="prod",
        paths="base/worker.yaml",
        repository=str(remote),
    )
    assert run.code == 1, run.log
    assert f"image(s) {IMAGE} found in none of the paths" in run.summary
    assert "### release-ledger failed" in run.summary
    assert run.outputs["changed"] == "false"  # kustomize-bump's outputs go along
    assert lines(remote) == before


def test_actions_are_found_as_modules_and_as_packages() -> None:
    """release-ledger is a package; its modules are not actions; every action has an action.yml."""
    from ci_actions.actions import ACTIONS

    assert ACTIONS["release-ledger"] == "ci_actions.actions.release_ledger"
    assert not {"common", "read", "write", "rollback"} & set(ACTIONS)
    shipped = Path(__file__).parents[1] / "actions"
    assert set(ACTIONS) == {p.name for p in shipped.iterdir() if (p / "action.yml").is_file()}
