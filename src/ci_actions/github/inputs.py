"""Declared inputs of an action and their typed parsing.

Values come from `INPUT_<NAME>` (upper-cased, hyphens kept, as GitHub names
them) or from CLI flags, a flag winning. Every parse error is an InputError
that names the input and says how to fix it (exit 2). A value that is not
UTF-8 (Python keeps such bytes of the environment and argv as lone
surrogates, U+DC80 to U+DCFF) is refused for every input, before its kind.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar, overload

from ci_actions import grammar
from ci_actions.errors import InputError
from ci_actions.fsutil import utf8_problem

# What a single-value input must look like; "text" is free text (newlines allowed).
KINDS = {
    "text": lambda value: "contains a NUL character" if "\0" in value else "",
    "line": grammar.line_error,
    "operand": grammar.operand_error,
    "ref": grammar.ref_error,
    "rev": grammar.rev_error,
    "sha": grammar.sha_error,
    "tag": grammar.tag_error,
    "digest": grammar.digest_error,
    "image": grammar.image_error,
}
HINTS = {
    "line": "give one value on one line",
    "operand": "give one value on one line, not starting with '-'",
    "ref": "give a branch name git accepts (git check-ref-format --branch)",
    "rev": "give a commit SHA, or a branch or tag name (optionally with ~N or ^N)",
    "sha": "give the full or abbreviated hex SHA of the commit",
    "tag": "give one image tag, e.g. 1.2.3",
    "digest": "give the digest as sha256:<64 hex>",
    "image": "give one image reference, e.g. registry:5000/team/app:1.2.3",
}
MAX_INTEGER = 1_000_000
MAX_SECONDS = 7 * 24 * 3600.0
E = TypeVar("E", bound=Enum)
MAX_PUSH_RETRIES = 100  # each retry fetches, re-applies and pushes: more is a mistake


@dataclass(frozen=True)
class InputSpec:
    name: str
    description: str
    default: str = ""
    required: bool = False
    secret: bool = False  # masked with ::add-mask:: before anything prints
    kind: str = "line"  # a key of KINDS, checked before any work; lists and free text say "text"

    @property
    def env_name(self) -> str:
        return "INPUT_" + self.name.upper()


@dataclass(frozen=True)
class OutputSpec:
    name: str
    description: str


@dataclass(frozen=True)
class ActionSpec:
    """What an action declares; its action.yml must say the same (a test checks)."""

    name: str
    description: str
    inputs: tuple[InputSpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()
    icon: str = "box"  # action.yml branding (a Feather icon name)
    install_extra: str = ""  # package extra the action needs, e.g. "scanners"

    def input(self, name: str) -> InputSpec:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise KeyError(name)


_TRUE = {"true"}
_FALSE = {"false"}
_DURATION = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$"
)


_SURROGATES = re.compile("[\ud800-\udfff]+")


def encoding_error(value: str) -> str:
    """Where a value given as text stops being UTF-8, or "" when it is UTF-8."""
    if not _SURROGATES.search(value):
        return ""
    try:  # the bytes as they came (os.environ and argv decode with surrogateescape)
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no byte stands for
        data = value.encode("utf-8", "surrogatepass")
    return utf8_problem(data)


def parse_bool(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise InputError(name, f"{value!r} is not a boolean", hint="use true or false")


def parse_duration(name: str, value: str) -> float:
    """Seconds from `90s`, `5m`, `1h`, `1m30s` or plain seconds (`2.5`)."""
    text = value.strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        match = _DURATION.match(text)
        if not text or match is None:
            raise InputError(
                name, f"{value!r} is not a duration", hint="use e.g. 90s, 5m, 1h, 1m30s or seconds"
            ) from None
        seconds = sum(
            float(match.group(unit) or 0) * mult
            for unit, mult in (("h", 3600), ("m", 60), ("s", 1))
        )
    if seconds < 0:
        raise InputError(name, f"{value!r} is negative", hint="give a duration of 0 or more")
    return seconds


def parse_list(value: str, *, commas: bool = False) -> list[str]:
    """Newline-separated items; `#` lines are comments; blank lines dropped.

    With commas=True each line may also hold several comma-separated items
    (for values that can never contain a comma).
    """
    items: list[str] = []
    for line in value.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if commas:
            items.extend(part.strip() for part in line.split(",") if part.strip())
        else:
            items.append(line)
    return items


def parse_csv_lines(value: str) -> list[list[str]]:
    """Each non-comment line CSV-parsed (docker/* actions' list syntax)."""
    import csv

    rows: list[list[str]] = []
    for line in parse_list(value):
        rows.append([cell.strip() for cell in next(csv.reader([line], skipinitialspace=True))])
    return rows


# A whole value that is a `${{ ... }}` expression: only a runner expands it (in action.yml or
# a workflow). Run as a CLI, a declared default like `${{ github.token }}` arrives verbatim and
# must never be sent anywhere as if it were the value.
UNEXPANDED = re.compile(r"\s*\$\{\{.*\}\}\s*", re.S)


class RawInputs:
    """The raw string value of every declared input, with typed accessors."""

    def __init__(self, spec: ActionSpec, values: Mapping[str, str]) -> None:
        self.spec = spec
        self._values = dict(values)
        # inputs whose value was a GitHub expression nobody expanded: emptied
        self.unexpanded: list[str] = []
        for name, value in self._values.items():
            if UNEXPANDED.fullmatch(value):
                self._values[name] = ""
                self.unexpanded.append(name)

    @classmethod
    def collect(
        cls,
        spec: ActionSpec,
        environ: Mapping[str, str],
        flags: Mapping[str, str] | None = None,
    ) -> RawInputs:
        """Flag, else INPUT_<NAME>, else the declared default."""
        flags = flags or {}
        values: dict[str, str] = {}
        for item in spec.inputs:
            if item.name in flags:
                values[item.name] = flags[item.name]
            elif item.env_name in environ:
                values[item.name] = environ[item.env_name]
            else:
                values[item.name] = item.default
        return cls(spec, values)

    def check_values(self) -> None:
        """Every value is UTF-8, then matches its declared kind; an empty value is left to the action."""
        for item in self.spec.inputs:
            problem = encoding_error(self._values.get(item.name, ""))
            if problem:
                raise InputError(
                    item.name,
                    f"is not UTF-8 text: {problem}",
                    hint="give the value as UTF-8 text",
                )
        for item in self.spec.inputs:
            value = self._values.get(item.name, "")
            if item.kind != "text":
                value = value.strip()
            if not value:
                continue
            error = KINDS[item.kind](value)
            if error:
                shown = "the value" if item.secret else repr(value[:80])  # a secret is never shown
                raise InputError(item.name, f"{shown} {error}", hint=HINTS.get(item.kind, ""))

    def check_required(self) -> None:
        for item in self.spec.inputs:
            if item.required and not self.text(item.name):
                raise InputError(item.name, "is required", hint=f"set '{item.name}'")

    def secrets(self) -> list[str]:
        """The secret values to mask; a value with bytes that are not UTF-8 (refused
        later) is masked piece by piece around them, as they cannot be printed."""
        found: list[str] = []
        for item in self.spec.inputs:
            if item.secret:
                found.extend(p for p in _SURROGATES.split(self._values[item.name]) if p)
        return found

    def text(self, name: str) -> str:
        self.spec.input(name)  # a typo in an action's own code fails loudly
        return self._values.get(name, "").strip()

    def raw_text(self, name: str) -> str:
        """The value without stripping (multi-line YAML and file contents)."""
        self.spec.input(name)
        return self._values.get(name, "")

    def flag(self, name: str) -> bool:
        return parse_bool(name, self.text(name) or self.spec.input(name).default or "false")

    def optional_flag(self, name: str) -> bool | None:
        value = self.text(name)
        return None if not value else parse_bool(name, value)

    def integer(self, name: str, *, minimum: int | None = None, maximum: int = MAX_INTEGER) -> int:
        value = self.text(name)
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", value):
            raise InputError(name, f"{value[:40]!r} is not a whole number")
        number = int(value)
        if minimum is not None and number < minimum:
            raise InputError(name, f"{number} is below the minimum {minimum}")
        if number > maximum:
            raise InputError(name, f"{number} is above the maximum {maximum}")
        return number

    def number(self, name: str, *, maximum: float = MAX_INTEGER) -> float:
        value = self.text(name)
        try:
            number = float(value)
        except ValueError:
            raise InputError(name, f"{value[:40]!r} is not a number") from None
        if not math.isfinite(number) or abs(number) > maximum:
            raise InputError(name, f"{value[:40]!r} is out of range (at most {maximum:g})")
        return number

    def duration(self, name: str, *, maximum: float = MAX_SECONDS) -> float:
        seconds = parse_duration(name, self.text(name))
        if not math.isfinite(seconds) or seconds > maximum:
            raise InputError(name, f"{self.text(name)[:40]!r} is longer than {maximum:g} seconds")
        return seconds

    def items(self, name: str, *, commas: bool = False) -> list[str]:
        return parse_list(self.raw_text(name), commas=commas)

    @overload
    def choice(self, name: str, choices: type[E]) -> E: ...
    @overload
    def choice(self, name: str, choices: Sequence[str]) -> str: ...
    def choice(self, name: str, choices: type[E] | Sequence[str]) -> E | str:
        """One of `choices`: the member of an enum (by value), or one of the strings."""
        allowed = [str(c.value) for c in choices] if isinstance(choices, type) else list(choices)
        value = self.text(name)
        if value not in allowed:
            raise InputError(name, f"{value!r} is not one of {', '.join(allowed)}")
        return choices(value) if isinstance(choices, type) else value

    def choices(self, name: str, choices: Iterable[str], *, commas: bool = True) -> list[str]:
        allowed = list(choices)
        items = self.items(name, commas=commas)
        for item in items:
            if item not in allowed:
                raise InputError(name, f"{item!r} is not one of {', '.join(allowed)}")
        return items

    def yaml(self, name: str) -> Any:
        """A YAML (or JSON) document given inline; empty gives None."""
        import yaml

        from ci_actions import yamlsafe

        return self._document(name, yamlsafe.load, yaml.YAMLError, "YAML")

    def json_value(self, name: str) -> Any:
        return self._document(name, json.loads, json.JSONDecodeError, "JSON")

    def json_object(
        self,
        name: str,
        *,
        hint: str,
        what: str = "a JSON object",
        values: type | tuple[type, ...] = object,
    ) -> dict[str, Any] | None:
        """A JSON object whose values are all `values`; empty gives None."""
        value = self.json_value(name)
        if value is not None and not (
            isinstance(value, dict) and all(isinstance(v, values) for v in value.values())
        ):
            raise InputError(name, f"must be {what}", hint=hint)
        return value

    def _document(
        self, name: str, load: Callable[[str], Any], error: type[Exception], what: str
    ) -> Any:
        text = self.raw_text(name)
        if not text.strip():
            return None
        try:
            return load(text)
        except error as exc:
            raise InputError(name, f"is not valid {what}: {exc}") from None
