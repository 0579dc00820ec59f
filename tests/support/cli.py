"""Run `ci-actions <name>` in-process as a runner would, and read what it wrote."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ci_actions.cli import main


@dataclass
class CliRun:
    code: int
    outputs: dict[str, str]
    stdout: str
    stderr: str
    summary: str
    env_file: str

    @property
    def log(self) -> str:
        return self.stdout + self.stderr


def parse_delimited(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) and lines[i]:
        name, delimiter = lines[i].split("<<", 1)
        end = lines.index(delimiter, i + 1)
        values[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return values


def invoke(
    tmp: Path,
    name: str,
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    runner: bool = True,
) -> CliRun:
    """`runner=True` sets GITHUB_ACTIONS and the runner files, as on a runner."""
    tmp.mkdir(parents=True, exist_ok=True)
    files = {k: tmp / f"{name}-{k}" for k in ("output", "summary", "env")}
    for f in files.values():
        f.write_text("")
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))
    }
    if runner:
        full_env |= {
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(files["output"]),
            "GITHUB_STEP_SUMMARY": str(files["summary"]),
            "GITHUB_ENV": str(files["env"]),
        }
    full_env |= dict(env or {})
    stdout, stderr = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd or tmp)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main([name, *args], full_env)
            except SystemExit as exc:  # argparse
                code = int(exc.code or 0)
    finally:
        os.chdir(old)
    return CliRun(
        code,
        parse_delimited(files["output"].read_text()),
        stdout.getvalue(),
        stderr.getvalue(),
        files["summary"].read_text(),
        files["env"].read_text(),
    )
