"""Read a step's stdout the way the GitHub runner does, to see which commands it would run.

Written from the runner's ActionCommand parser and command manager: lines
end at CR, LF or CRLF; `::name props::data` after leading blanks (V2), or
`##[name props]data` anywhere in a line (V1); only registered names count;
data and properties are unescaped with the runner's mappings; after
`::stop-commands::TOKEN` nothing runs until a line `::TOKEN::` (the token
is registered as a command name meanwhile).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

REGISTERED = {
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "stop-commands",
    "warning",
}
_DATA = [("%0D", "\r"), ("%0A", "\n"), ("%25", "%")]
_PROPERTY = [("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")]
_V1 = [("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%")]


def _unescape(text: str, mappings: list[tuple[str, str]]) -> str:
    for escaped, token in mappings:
        text = text.replace(escaped, token)
    return text


@dataclass(frozen=True)
class Command:
    name: str
    data: str
    properties: dict[str, str] = field(default_factory=dict)


def _v2(line: str, registered: set[str]) -> Command | None:
    line = line.lstrip()
    if not line.startswith("::"):
        return None
    end = line.find("::", 2)
    if end < 0:
        return None
    info = line[2:end]
    name, _, props = info.partition(" ")
    if name not in registered:
        return None
    properties = {}
    for item in props.strip().split(","):
        key, eq, value = item.partition("=")
        if item and eq and key and value:
            properties[key] = _unescape(value, _PROPERTY)
    return Command(name, _unescape(line[end + 2 :], _DATA), properties)


def _v1(line: str, registered: set[str]) -> Command | None:
    start = line.find("##[")
    if start < 0:
        return None
    close = line.find("]", start)
    if close < 0:
        return None
    name, _, props = line[start + 3 : close].partition(" ")
    if name not in registered:
        return None
    properties = {}
    for item in props.split(";"):
        key, eq, value = item.partition("=")
        if item and eq and key and value:
            properties[key] = _unescape(value, _V1)
    return Command(name, _unescape(line[close + 1 :], _V1), properties)


@dataclass
class RunnerLog:
    commands: list[Command]  # the commands the runner would run (stop/resume included)
    shown: list[str]  # the lines shown as plain log text


def parse(stdout: str) -> RunnerLog:
    log = RunnerLog([], [])
    stop_token = ""
    for line in re.split(r"\r\n|\r|\n", stdout.removesuffix("\n")):
        registered = REGISTERED | ({stop_token} if stop_token else set())
        command = _v2(line, registered) or _v1(line, registered)
        if stop_token:
            if command is not None and command.name == stop_token:
                stop_token = ""
                log.commands.append(command)
            else:
                log.shown.append(line)
            continue
        if command is None:
            log.shown.append(line)
            continue
        log.commands.append(command)
        if command.name == "stop-commands":
            stop_token = command.data
    return log


def runs(log: RunnerLog) -> list[Command]:
    """The commands that do something (not the stop/resume pairs)."""
    tokens = {c.data for c in log.commands if c.name == "stop-commands"}
    return [c for c in log.commands if c.name != "stop-commands" and c.name not in tokens]
