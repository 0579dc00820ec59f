import io
import re
from pathlib import Path

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
