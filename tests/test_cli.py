from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ci_actions import __version__
from ci_actions.actions import changes
from ci_actions.cli import main
from ci_actions.errors import EnvironmentFailure
from tests.support.cli import invoke


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"], {}) == 0
    assert capsys.readouterr().out == f"ci-actions {__version__}\n"


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"], {}) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err


def test_no_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([], {}) == 2


def test_unknown_flag_is_exit_2(tmp_path: Path) -> None:
    assert invoke(tmp_path, "changes", ["--no-such-input", "x"]).code == 2


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (EnvironmentFailure("clone failed", outputs={"head": "abc"}), 3),
        (EnvironmentFailure("registry unreachable"), 3),
        (RuntimeError("boom"), 3),
        (KeyError("k"), 3),
    ],
)
def test_error_handler_maps_exit_codes_and_writes_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, code: int
) -> None:
    def explode(*_: object) -> None:
        raise error

    monkeypatch.setattr(changes, "run", explode)
    run = invoke(tmp_path, "changes")
    assert run.code == code
    assert set(run.outputs) == {o.name for o in changes.SPEC.outputs}
    assert "::error title=changes " in run.stdout
    assert str(error).strip("'") in run.summary  # the step summary says why, not only the log
    assert "Traceback" not in run.log
    if isinstance(error, EnvironmentFailure) and error.outputs:
        assert run.outputs["head"] == "abc"


def test_a_refusal_is_exit_1_with_its_reason_and_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one verdict channel: Result(ok=False), reported as an error with every output."""
    from ci_actions.result import refusal

    monkeypatch.setattr(
        changes,
        "run",
        lambda *_: refusal("changes", "gate failed", hint="why", outputs={"head": "abc"}),
    )
    run = invoke(tmp_path, "changes")
    assert run.code == 1
    assert set(run.outputs) == {o.name for o in changes.SPEC.outputs} | {"head"}
    assert run.outputs["head"] == "abc"
    assert "::error title=changes failed::gate failed (why)" in run.stdout
    assert "### changes failed\n\ngate failed (why)" in run.summary


def test_interrupt_exits_130_and_writes_every_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(changes, "run", interrupted)
    run = invoke(tmp_path, "changes")
    assert run.code == 130
    assert set(run.outputs) == {o.name for o in changes.SPEC.outputs}
    assert "interrupted" in run.summary


def test_traceback_only_in_debug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(changes, "run", explode)
    run = invoke(tmp_path, "changes", env={"RUNNER_DEBUG": "1"})
    assert run.code == 3
    assert "::debug::Traceback" in run.stdout


def test_secret_inputs_masked_before_anything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    spec = replace(
        changes.SPEC,
        inputs=(*changes.SPEC.inputs, changes.InputSpec("token", "t", secret=True)),
    )
    monkeypatch.setattr(changes, "SPEC", spec)

    def leak(inputs: object, ctx: object) -> None:
        raise EnvironmentFailure("auth failed for token tok-123456")

    monkeypatch.setattr(changes, "run", leak)
    run = invoke(tmp_path, "changes", ["--token", "tok-123456"])
    lines = run.stdout.splitlines()
    assert lines[0] == "::add-mask::tok-123456"
    assert "tok-123456" not in "\n".join(lines[1:])


def _action_names() -> list[str]:
    from ci_actions.actions import ACTIONS

    return sorted(ACTIONS)


@pytest.mark.parametrize("name", _action_names())
def test_help_works_for_every_action(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib

    from ci_actions.actions import ACTIONS

    with pytest.raises(SystemExit) as done:
        main([name, "--help"], {})
    assert done.value.code == 0
    out = capsys.readouterr().out
    for item in importlib.import_module(ACTIONS[name]).SPEC.inputs:
        assert f"--{item.name}" in out


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("release-ledger", ["--command", "list", "--push-retr", "3"]),
        ("kustomize-bump", ["--paths", "p", "--images", "a:1", "--pull-request", "x"]),
        ("changes", ["--docs", "*.md"]),  # an abbreviation of --docs-globs
        ("changes", ["--work", "."]),
        ("changes", ["--no-such-input", "x"]),
    ],
)
def test_abbreviated_or_unknown_flags_are_exit_2(
    tmp_path: Path, name: str, args: list[str]
) -> None:
    run = invoke(tmp_path, name, args)
    assert run.code == 2, run.log
    assert "unrecognized arguments" in run.log


# An argv is drawn from pieces: an input's flag and a value, one token of its own (the
# forms argparse alone must decide among them), for the inputs of changes and kustomize-bump.
_FLAGS = ["--base", "--head", "--paths", "--images", "--docs-globs", "--mode", "--docs", "--push"]
_VALUES = ["main", "", "a b", "x=y", "-1", "-x y", "--json", "-", "*.md", "--base=x"]
_SINGLES = [
    "--json", "--debug", "--base=x", "--images=a:1", "--paths=", "--head=--x", "--json=true",
    "--no-such-input", "--", "-h", "--help", "main", "--push-retries", "3",
]  # fmt: skip


def test_the_plain_flag_reader_agrees_with_argparse_or_leaves_the_argv_to_it() -> None:
    """Whatever argv the fast reader accepts, argparse reads the same; the rest (help,
    unknown and abbreviated flags, values like flags) is argparse's alone."""
    import importlib

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from ci_actions.actions import ACTIONS
    from ci_actions.cli import _action_parser, plain_flags

    modules = {name: importlib.import_module(ACTIONS[name]) for name in ACTIONS}  # all load
    accepted = []

    pair = st.tuples(st.sampled_from(_FLAGS), st.sampled_from(_VALUES)).map(list)
    piece = st.one_of(pair, st.sampled_from(_SINGLES).map(lambda token: [token]))

    @settings(max_examples=1500, deadline=None, derandomize=True)
    @given(st.sampled_from(["changes", "kustomize-bump"]), st.lists(piece, max_size=5))
    def check(name: str, pieces: list[list[str]]) -> None:
        argv = [token for part in pieces for token in part]
        module = modules[name]
        fast = plain_flags(argv, [i.name for i in module.SPEC.inputs])
        if fast is not None:
            accepted.append(argv)
            assert fast == vars(_action_parser(name, module).parse_args(argv)), argv

    check()
    assert len([argv for argv in accepted if argv]) > 100  # it did take the common forms


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"], ["-h"], ["--docs", "*.md"], ["--base"], ["--base", "--json"],
        ["--base", "-1"], ["main"], ["--", "--base", "x"], ["--json=true"], ["--base", "-x y"],
    ],
)  # fmt: skip
def test_the_plain_flag_reader_leaves_help_and_odd_forms_to_argparse(argv: list[str]) -> None:
    from ci_actions.cli import plain_flags

    assert plain_flags(argv, [i.name for i in changes.SPEC.inputs]) is None


def test_push_false_is_not_taken_for_push_retries(tmp_path: Path) -> None:
    """kustomize-bump has no `push` input: `--push` was read as `--push-retries`."""
    run = invoke(tmp_path, "kustomize-bump", ["--paths", "p", "--images", "a:1", "--push", "false"])
    assert run.code == 2, run.log
    assert "unrecognized arguments: --push false" in run.log
    assert "push-retries" not in run.log.split("error:")[-1]


def test_init_refuses_abbreviated_flags(tmp_path: Path) -> None:
    try:
        code = main(["init", "--dir", str(tmp_path), "--imag", "x"], {})
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 2
    assert not (tmp_path / ".github").exists()


@pytest.mark.parametrize(
    ("name", "args", "input_name"),
    [
        (
            "kustomize-bump",
            ["--paths", "p", "--images", "a:1", "--push-retries", "1" + "0" * 20],
            "push-retries",
        ),
        (
            "kustomize-bump",
            ["--paths", "p", "--images", "a:1", "--push-retries", "101"],
            "push-retries",
        ),
        ("release-ledger", ["--command", "list", "--push-retries", "1000"], "push-retries"),
        ("release-ledger", ["--command", "list", "--limit", "1e9"], "limit"),
        ("health-probe", ["--url", "http://127.0.0.1:1/", "--timeout", "1e300"], "timeout"),
        (
            "health-probe",
            ["--url", "http://127.0.0.1:1/", "--max-redirects", "51"],
            "max-redirects",
        ),
    ],
)
def test_numbers_are_bounded(tmp_path: Path, name: str, args: list[str], input_name: str) -> None:
    run = invoke(tmp_path, name, args)
    assert run.code == 2, run.log
    assert f"input '{input_name}'" in run.log


# --- a missing extra is one line naming it and the install command ---------------

_BLOCKED_RUN = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # import of NAME now raises ModuleNotFoundError
from ci_actions.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    ("blocked", "args", "line"),
    [
        (
            "jsonschema_rs",
            ["validate-manifests", "--paths", "k8s"],
            "validate-manifests needs the 'manifests' extra, which is not installed"
            " (no module jsonschema_rs): pip install 'ci-actions[manifests]'",
        ),
        (
            "kubernetes_validate",
            ["validate-manifests", "--paths", "k8s"],
            "validate-manifests needs the 'manifests' extra, which is not installed"
            " (no module kubernetes_validate): pip install 'ci-actions[manifests]'",
        ),
    ],
)
def test_a_missing_extra_names_it_and_the_install_command(
    tmp_path: Path, blocked: str, args: list[str], line: str
) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKED_RUN, blocked, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"error: {line}" in done.stdout + done.stderr
    assert "unexpected error" not in done.stdout + done.stderr


def test_a_missing_module_outside_the_extras_is_still_a_crash(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKED_RUN, "yaml", "validate-manifests", "--paths", "."],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3
    assert "unexpected error: ModuleNotFoundError" in done.stdout + done.stderr


def test_missing_scanners_name_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ci_actions.scanners import base

    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setattr(base, "search_path", lambda environ: str(empty))
    (tmp_path / "app.py").write_text("x = 1\n")
    run = invoke(
        tmp_path / "runner", "security-gate", ["--scanners", "bandit,semgrep"], cwd=tmp_path
    )
    assert run.code == 3, run.log
    assert (
        "security-gate needs the 'scanners' extra, which is not installed"
        " (bandit, semgrep not found): pip install 'ci-actions[scanners]'"
    ) in run.log
