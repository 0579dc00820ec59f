"""kustomize-bump's `commit-message`: a sandboxed template, rendered before any file is touched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.support.act import git
from tests.support.cli import invoke
from tests.support.gitops import clone, gitops_files, make_remote

API = "registry.local:5000/team/api"

# Templates that try to reach Python from a commit message; {marker} is a file each would create.
ATTACKS = [
    "{{{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}}}",
    "{{{{ lipsum.__globals__['os'].popen('touch {marker}').read() }}}}",
    "{{{{ joiner.__init__.__globals__.os.system('touch {marker}') }}}}",
    "{{{{ ''.__class__.__mro__[1].__subclasses__() }}}}",
    "{{{{ images.__class__.__base__.__subclasses__() }}}}",
    "{{{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('touch {marker}') }}}}",
    "{{{{ namespace.__init__.__globals__.os.popen('touch {marker}').read() }}}}",
    "{{% set x = images.append('touch {marker}') %}}{{{{ x }}}}",
    "{{{{ '{{0.__class__.__init__.__globals__}}'.format(images) }}}}",
    "{{{{ images|attr('__class__') }}}}",
]

# One template per error class a template can raise, and a word of the message it gives.
BROKEN = [
    ("{% for %}", "line 1"),  # TemplateSyntaxError, at compile time
    ("{{ nope }}", "'nope' is undefined"),  # UndefinedError (StrictUndefined)
    ("{{ images[7].name }}", "UndefinedError"),  # UndefinedError on data
    ("{{ 1/0 }}", "ZeroDivisionError"),  # a Python error raised by the template
    ("{{ images[0].name|int + 'x' }}", "TypeError"),
    ("{{ 'x' * 10**9 }}", "too large"),  # SecurityError: the sandbox bounds products
    ("{{ images.clear() }}", "unsafe"),  # SecurityError: immutable
    ("{{ '   ' }}", "empty message"),
    ("{{ range(3)|list }}", "'range' is undefined"),  # no globals beyond the variables
]


def _tree(root: Path) -> dict[str, str]:
    """Every file of the checkout (but .git) and its hash."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return make_remote(tmp_path, gitops_files())


def _bump(tmp: Path, work: Path, mode: str, message: str, *extra: str):  # type: ignore[no-untyped-def]
    args = ["--paths", "overlays/prod", "--images", f"{API}:2.0.0", "--mode", mode]
    return invoke(
        tmp / "out", "kustomize-bump", [*args, "--commit-message", message, *extra], cwd=work
    )


def _assert_untouched(work: Path, remote: Path, before: dict[str, str]) -> None:
    assert _tree(work) == before
    assert git(work, "status", "--porcelain") == ""
    assert git(remote, "rev-list", "--count", "main") == "1"


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("mode", ["commit", "pull-request"])
def test_a_template_cannot_run_code(tmp_path: Path, remote: Path, attack: str, mode: str) -> None:
    work = clone(tmp_path, remote, "work")
    marker = tmp_path / "pwned"
    before = _tree(work)
    run = _bump(tmp_path, work, mode, attack.format(marker=marker))
    assert not marker.exists()
    assert run.code == 2, run.log
    assert "input 'commit-message'" in run.log
    assert "nothing was written" in run.log
    _assert_untouched(work, remote, before)


@pytest.mark.parametrize(("template", "says"), BROKEN)
@pytest.mark.parametrize("mode", ["commit", "pull-request"])
def test_every_template_error_is_exit_2_and_leaves_the_checkout_as_it_was(
    tmp_path: Path, remote: Path, template: str, says: str, mode: str
) -> None:
    work = clone(tmp_path, remote, "work")
    before = _tree(work)
    run = _bump(tmp_path, work, mode, template)
    assert run.code == 2, run.log
    assert "input 'commit-message'" in run.log
    assert says in run.log
    _assert_untouched(work, remote, before)


@pytest.mark.parametrize(("template", "says"), BROKEN[1:4])
def test_dry_run_renders_the_message_too(
    tmp_path: Path, remote: Path, template: str, says: str
) -> None:
    work = clone(tmp_path, remote, "work")
    before = _tree(work)
    run = _bump(tmp_path, work, "commit", template, "--dry-run", "true")
    assert run.code == 2, run.log
    assert says in run.log
    _assert_untouched(work, remote, before)


def test_the_variables_a_template_sees(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    template = (
        "{{ environment }} {{ branch }} {{ files|join(',') }}\n\n"
        "{% for i in images %}{{ i.name }} {{ i.old_tag }}->{{ i.new_tag }}{% endfor %}"
    )
    run = _bump(tmp_path, work, "commit", template, "--branch", "main")
    assert run.code == 0, run.log
    assert git(remote, "log", "-1", "--format=%B", "main").strip() == (
        f"prod main overlays/prod/kustomization.yaml\n\n{API} 1.0.0->2.0.0"
    )
    assert git(work, "status", "--porcelain") == ""


def test_a_bump_that_changes_nothing_renders_no_message(tmp_path: Path, remote: Path) -> None:
    """Nothing to commit: a template that needs a changed file is never rendered."""
    work = clone(tmp_path, remote, "work")
    args = ["--paths", "overlays/prod", "--images", f"{API}:1.0.0", "--mode", "commit"]
    run = invoke(
        tmp_path / "out", "kustomize-bump", [*args, "--commit-message", "{{ files[0] }}"], cwd=work
    )
    assert run.code == 0, run.log
    assert run.outputs["changed"] == "false"
    assert git(remote, "rev-list", "--count", "main") == "1"
