"""Everything an action prints or writes for the runner.

On a runner (GITHUB_ACTIONS=true) this speaks workflow commands on stdout;
elsewhere it logs plain lines to stderr and prints outputs on stdout as
`name=value` lines (a multi-line value as `name<<DELIMITER` ... `DELIMITER`,
the GITHUB_OUTPUT form) or one JSON object. Every secret is masked first and
redacted from anything this prints.

Text from inputs, files or the ledger never becomes a workflow command of
its own: in a command, data and properties are escaped as the runner's own
toolkit escapes them (a newline cannot end the command early); a plain log
line the runner would read as a command (`::name::` after leading blanks,
or the old `##[name]` anywhere) is printed between `stop-commands` and a
one-time resume token, so the runner shows it and runs nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TextIO

from ci_actions.result import Annotation, Result, output_text


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def could_be_command(text: str) -> bool:
    """Would the runner take any line of `text` for a workflow command?"""
    return any(line.lstrip().startswith("::") or "##[" in line for line in text.splitlines())


def format_annotation(ann: Annotation) -> str:
    props = []
    if ann.file:
        props.append(f"file={escape_property(ann.file)}")
    if ann.line is not None:
        props.append(f"line={ann.line}")
    if ann.end_line is not None:
        props.append(f"endLine={ann.end_line}")
    if ann.column is not None:
        props.append(f"col={ann.column}")
    if ann.title:
        props.append(f"title={escape_property(ann.title)}")
    head = f"::{ann.level}" + (" " + ",".join(props) if props else "")
    return f"{head}::{escape_data(ann.message)}"


def _token() -> str:
    """32 random hex digits (secrets.token_hex(16) without importing secrets)."""
    return os.urandom(16).hex()


def multiline_record(name: str, value: str) -> str:
    """`name<<DELIM\\nvalue\\nDELIM\\n` with a random delimiter that the value cannot hold."""
    while True:
        delimiter = f"ghadelimiter_{_token()}"
        if delimiter not in value:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


class Runner:
    def __init__(
        self,
        environ: Mapping[str, str],
        *,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        debug: bool = False,
        json_outputs: bool = False,
    ) -> None:
        self.environ = environ
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.in_runner = environ.get("GITHUB_ACTIONS", "") == "true"
        self.debug_enabled = debug or environ.get("RUNNER_DEBUG", "") == "1"
        self.json_outputs = json_outputs
        self._secrets: list[str] = []

    # -- masking -----------------------------------------------------------
    def mask(self, values: Sequence[str]) -> None:
        """Register secrets: masked on a runner, redacted from all we print."""
        for value in values:
            for piece in [value, *value.splitlines()]:
                piece = piece.strip()
                if len(piece) < 3 or piece in self._secrets:
                    continue
                self._secrets.append(piece)
                if self.in_runner:
                    self._emit(f"::add-mask::{escape_data(piece)}")
        self._secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- logs ----------------------------------------------------------------
    def _emit(self, line: str) -> None:
        stream = self.stdout if self.in_runner else self.stderr
        stream.write(line + "\n")
        stream.flush()

    def _plain(self, stream: TextIO, text: str) -> None:
        """`text` as it is, as log lines the runner cannot take for commands."""
        if self.in_runner and could_be_command(text):
            token = _token()
            text = f"::stop-commands::{token}\n{text}\n::{token}::"
        stream.write(text + "\n")
        stream.flush()

    def info(self, message: str) -> None:
        self._plain(self.stdout if self.in_runner else self.stderr, self.redact(message))

    def debug(self, message: str) -> None:
        if not self.debug_enabled:
            return
        text = self.redact(message)
        if self.in_runner:
            for line in text.splitlines() or [""]:
                self._emit(f"::debug::{escape_data(line)}")
        else:
            self._emit(f"debug: {text}")

    def warning(self, message: str, **where: object) -> None:
        self.annotate(Annotation(message, "warning", **where))  # type: ignore[arg-type]

    def error(self, message: str, **where: object) -> None:
        self.annotate(Annotation(message, "error", **where))  # type: ignore[arg-type]

    def annotate(self, ann: Annotation) -> None:
        ann = Annotation(
            self.redact(ann.message),
            ann.level,
            ann.file,
            ann.line,
            ann.end_line,
            ann.column,
            self.redact(ann.title),
        )
        if self.in_runner:
            self._emit(format_annotation(ann))
        else:
            where = ann.file + (f":{ann.line}" if ann.line is not None else "")
            self._emit(f"{ann.level}: " + (f"{where}: " if where else "") + ann.message)

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        if self.in_runner:
            self._emit(f"::group::{escape_data(self.redact(title))}")
        else:
            self._emit(f"== {self.redact(title)}")
        try:
            yield
        finally:
            if self.in_runner:
                self._emit("::endgroup::")

    # -- results -------------------------------------------------------------
    def write_outputs(self, declared: Sequence[str], outputs: Mapping[str, object]) -> None:
        """Every declared output, even empty, plus any extra ones the action set."""
        names = list(declared) + [n for n in outputs if n not in declared]
        values = {name: self.redact(output_text(outputs.get(name))) for name in names}
        path = self.environ.get("GITHUB_OUTPUT", "")
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                for name, value in values.items():
                    fh.write(multiline_record(name, value))
        elif self.json_outputs:
            self.stdout.write(json.dumps(values, ensure_ascii=False) + "\n")
        else:
            for name, value in values.items():
                # a multi-line value in GITHUB_OUTPUT's own delimited form, so it stays parseable
                multiline = "\n" in value or "\r" in value
                record = multiline_record(name, value) if multiline else f"{name}={value}"
                self._plain(self.stdout, record.rstrip("\n"))
        self.stdout.flush()

    def write_env(self, variables: Mapping[str, str]) -> None:
        path = self.environ.get("GITHUB_ENV", "")
        if not path or not variables:
            return
        with open(path, "a", encoding="utf-8") as fh:
            for name, value in variables.items():
                fh.write(multiline_record(name, value))

    def write_summary(self, markdown: str) -> None:
        if not markdown:
            return
        path = self.environ.get("GITHUB_STEP_SUMMARY", "")
        text = self.redact(markdown).rstrip("\n") + "\n"
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(text)
        else:
            self.debug("summary:\n" + text)

    def finish(self, declared: Sequence[str], result: Result) -> None:
        for ann in result.annotations:
            self.annotate(ann)
        self.write_summary(result.summary)
        self.write_env(result.env)
        self.write_outputs(declared, result.outputs)
        if result.message:
            self.info(result.message)
