import io
import re
from pathlib import Path

import pytest

from ci_actions.github.runner import Runner, format_annotation, multiline_record
from ci_actions.result import Annotation, Result


def _parse_output_file(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) - 1:
        name, delimiter = lines[i].split("<<", 1)
        end = lines.index(delimiter, i + 1)
        values[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return values


def test_outputs_use_random_delimiters_and_all_declared_names(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = Runner({"GITHUB_OUTPUT": str(out), "GITHUB_ACTIONS": "true"}, stdout=io.StringIO())
    runner.write_outputs(["a", "b", "c"], {"a": "x\ny", "b": True, "extra": {"k": [1, 2]}})
    text = out.read_text()
    assert _parse_output_file(text) == {"a": "x\ny", "b": "true", "c": "", "extra": '{"k":[1,2]}'}
    delimiters = re.findall(r"<<(\S+)", text)
    assert len(set(delimiters)) == 4


def test_delimiter_never_occurs_in_value() -> None:
    record = multiline_record("a", "ghadelimiter_ in value")
    assert record.count(record.split("<<")[1].split("\n")[0]) == 2


def test_outside_a_runner_outputs_are_lines_or_json() -> None:
    stdout = io.StringIO()
    Runner({}, stdout=stdout, stderr=io.StringIO()).write_outputs(["a"], {"a": 1})
    assert stdout.getvalue() == "a=1\n"
    stdout = io.StringIO()
    Runner({}, stdout=stdout, json_outputs=True).write_outputs(["a", "b"], {"a": False})
    assert stdout.getvalue() == '{"a": "false", "b": ""}\n'


def test_outside_a_runner_a_multi_line_value_is_delimited_as_in_github_output() -> None:
    stdout = io.StringIO()
    Runner({}, stdout=stdout, stderr=io.StringIO()).write_outputs(
        ["tags", "version"], {"tags": "r/a:1.2.3\nr/a:latest\nversion=evil", "version": "1.2.3"}
    )
    text = stdout.getvalue()
    assert text.endswith("version=1.2.3\n")
    # the value's own `version=evil` line cannot pass for an output
    assert _parse_output_file(text.removesuffix("version=1.2.3\n")) == {
        "tags": "r/a:1.2.3\nr/a:latest\nversion=evil"
    }


def test_secrets_masked_first_and_redacted_everywhere(tmp_path: Path) -> None:
    stdout = io.StringIO()
    summary = tmp_path / "summary.md"
    runner = Runner({"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, stdout=stdout)
    runner.mask(["hunter22", "line-one\nline-two"])
    runner.info("password is hunter22")
    runner.error("failed with line-two", file="a.py", line=3)
    runner.write_summary("token hunter22")
    lines = stdout.getvalue().splitlines()
    assert lines[:3] == [
        "::add-mask::hunter22",
        "::add-mask::line-one%0Aline-two",
        "::add-mask::line-one",
    ]
    assert "hunter22" not in "\n".join(lines[4:])
    assert lines[-1] == "::error file=a.py,line=3::failed with ***"
    assert summary.read_text() == "token ***\n"


def test_annotation_escaping() -> None:
    ann = Annotation("50% done\nnext", "warning", file="a,b:c.py", line=2, title="t: x")
    assert (
        format_annotation(ann)
        == "::warning file=a%2Cb%3Ac.py,line=2,title=t%3A x::50%25 done%0Anext"
    )


def test_debug_only_when_asked() -> None:
    stderr = io.StringIO()
    Runner({}, stderr=stderr).debug("hidden")
    Runner({"RUNNER_DEBUG": "1"}, stderr=stderr).debug("shown")
    assert stderr.getvalue() == "debug: shown\n"


def test_finish_writes_env_and_summary(tmp_path: Path) -> None:
    env_file, summary = tmp_path / "env", tmp_path / "sum"
    runner = Runner(
        {
            "GITHUB_ENV": str(env_file),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(tmp_path / "o"),
        },
        stdout=io.StringIO(),
    )
    runner.finish(["x"], Result(outputs={"x": "1"}, summary="# hi", env={"A": "b"}))
    assert _parse_output_file(env_file.read_text()) == {"A": "b"}
    assert summary.read_text() == "# hi\n"


# -- hostile text through every writer, read back as the runner reads stdout --------
HOSTILE = [
    "plain",
    "x\n::error::forged",
    "x\r::add-mask::forged",
    "x\r\n::warning file=a.py,line=1::forged",
    "   ::error::after blanks",
    "\t::debug::after a tab",
    "text ##[error]forged v1",
    "##[add-mask]forged",
    "%0A::error::pre-escaped%25",
    "a,b:c=d%2C",
    "::stop-commands::abc\n::error::forged\n::abc::",
    "ends with a newline\n",
    "::error::forged",
]


def _runner_out(**env: str) -> tuple[Runner, io.StringIO]:
    stdout = io.StringIO()
    return Runner({"GITHUB_ACTIONS": "true", **env}, stdout=stdout, debug=True), stdout


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_never_becomes_a_command(text: str) -> None:
    from tests.support.runner_log import Command, parse, runs

    runner, stdout = _runner_out()
    runner.info(text)
    log = parse(stdout.getvalue())
    assert runs(log) == []
    assert "\n".join(log.shown) == re.sub(r"\r\n|\r", "\n", text)  # shown as it is

    for level in ("warning", "error"):
        runner, stdout = _runner_out()
        getattr(runner, level)(text, file=text, line=3, title=text)
        assert parse(stdout.getvalue()).commands == [
            Command(level, text, {"file": text, "line": "3", "title": text})
        ]

    runner, stdout = _runner_out()
    runner.debug(text)
    debug = parse(stdout.getvalue()).commands
    assert {c.name for c in debug} == {"debug"}
    assert "\n".join(c.data for c in debug) == text.removesuffix("\n").replace(
        "\r\n", "\n"
    ).replace("\r", "\n")

    runner, stdout = _runner_out()
    with runner.group(text):
        pass
    assert parse(stdout.getvalue()).commands == [Command("group", text), Command("endgroup", "")]

    runner, stdout = _runner_out()
    runner.mask([f"secret-{text}"])
    masks = parse(stdout.getvalue()).commands
    assert {c.name for c in masks} == {"add-mask"}
    assert masks[0].data == f"secret-{text}".strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_outputs_and_the_final_message_on_stdout_run_nothing(text: str) -> None:
    from tests.support.runner_log import parse, runs

    runner, stdout = _runner_out()  # no GITHUB_OUTPUT: outputs are printed
    runner.finish(["out"], Result(outputs={"out": text}, message=text))
    log = parse(stdout.getvalue())
    assert runs(log) == []
    first = text.split("\n")[0].split("\r")[0]
    if first == text:
        assert f"out={text}" in log.shown
    else:  # a multi-line value is printed in the GITHUB_OUTPUT form: `out<<DELIMITER`, the lines
        assert any(line.startswith("out<<") for line in log.shown)
        assert first in log.shown


def test_a_hostile_ledger_reason_is_shown_not_run(tmp_path: Path) -> None:
    """`reason` reaches the log, the summary and the ledger; on stdout it runs nothing."""
    from tests.support.cli import invoke
    from tests.support.runner_log import parse, runs

    reason = "deploy ok\n::add-mask::hunter2\n::error title=x::forged failure\n##[warning]v1"
    plain = tmp_path / "plain"
    plain.mkdir()
    common = ["--service", "api", "--environment", "prod", "--push", "false"]
    image = ["--image", "registry.local:5000/team/api:1", "--status", "deployed"]
    run = invoke(
        tmp_path / "r1", "release-ledger", ["--command", "record", *common, *image], cwd=plain
    )
    assert run.code == 0, run.log
    run = invoke(
        tmp_path / "r2",
        "release-ledger",
        ["--command", "set-status", *common, "--status", "healthy", "--reason", reason],
        cwd=plain,
    )
    assert run.code == 0, run.log
    log = parse(run.stdout)
    assert runs(log) == []
    assert "::add-mask::hunter2" in log.shown and "##[warning]v1" in log.shown
