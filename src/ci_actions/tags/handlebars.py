"""The part of Handlebars that docker/metadata-action's expressions use.

`{{name}}`, `{{name 'arg' key='value'}}`, `{{{name}}}` (no escaping),
`{{! comment}}`, `\\{{` (a literal `{{`) and `~` whitespace control.
A name resolves in a scope: a plain value is rendered, a callable is called
as a helper with its positional arguments and a hash of named ones.
Rendered values are HTML-escaped as Handlebars does; block helpers
(`{{#if}}`) are not supported and are reported as a TemplateError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Helper = Callable[[Sequence[Any], Mapping[str, Any]], Any]
Scope = Mapping[str, Any]

_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "`": "&#x60;",
    "=": "&#x3D;",
}
_ESCAPE_RE = re.compile(r"[&<>\"'`=]")
_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<key>[A-Za-z_][\w-]*)=(?=\S)
      | '(?P<sq>(?:[^'\\]|\\.)*)'
      | "(?P<dq>(?:[^"\\]|\\.)*)"
      | (?P<num>-?\d+(?:\.\d+)?)(?=\s|$)
      | (?P<path>[^\s'"=()]+)
    )""",
    re.VERBOSE,
)


class TemplateError(ValueError):
    """A template that cannot be parsed or rendered."""


@dataclass(frozen=True)
class Mustache:
    path: str
    params: tuple[Any, ...] = ()
    hash: tuple[tuple[str, Any], ...] = ()
    escape: bool = True


@dataclass(frozen=True)
class PathRef:
    name: str


@dataclass(frozen=True)
class Template:
    parts: tuple[str | Mustache, ...] = field(default_factory=tuple)

    def is_single(self, name: str) -> bool:
        """True when the template is exactly one `{{name}}` and nothing else."""
        return (
            len(self.parts) == 1
            and isinstance(self.parts[0], Mustache)
            and self.parts[0].path == name
        )


def parse(source: str) -> Template:
    parts: list[str | Mustache] = []
    text: list[str] = []
    pos = 0
    strip_next = False
    while True:
        start = source.find("{{", pos)
        if start < 0:
            text.append(source[pos:])
            break
        if start > 0 and source[start - 1] == "\\":
            if start > 1 and source[start - 2] == "\\":  # `\\{{`: a backslash, then a mustache
                text.append(source[pos : start - 1])
            else:  # `\{{`: literal up to the next mustache
                text.append(source[pos : start - 1])
                nxt = source.find("{{", start + 2)
                end = len(source) if nxt < 0 else nxt
                text.append(source[start:end])
                pos = end
                continue
        else:
            text.append(source[pos:start])
        triple = source.startswith("{{{", start)
        close = "}}}" if triple else "}}"
        body_start = start + (3 if triple else 2)
        if source.startswith("{{!--", start):
            end = source.find("--}}", start)
            if end < 0:
                raise TemplateError(f"unclosed comment in {source!r}")
            end_len = 4
        else:
            end = source.find(close, body_start)
            end_len = len(close)
            if end < 0:
                raise TemplateError(f"unclosed '{{{{' in {source!r}")
        body = source[body_start:end]
        pos = end + end_len
        strip_before = body.startswith("~")
        if strip_before:
            body = body[1:]
        strip_after = body.endswith("~")
        if strip_after:
            body = body[:-1]
        chunk = "".join(text)
        if strip_next:
            chunk = chunk.lstrip()
        if strip_before:
            chunk = chunk.rstrip()
        if chunk:
            parts.append(chunk)
        text = []
        strip_next = strip_after
        if body.startswith("!"):
            continue
        escape = not triple
        if body.startswith("&"):
            body, escape = body[1:], False
        if body[:1] in ("#", "/", "^", ">", "else") or body.strip() == "else":
            raise TemplateError(
                f"block expressions like '{{{{{body.strip()}}}}}' are not supported"
            )
        parts.append(_parse_mustache(body, escape, source))
    chunk = "".join(text)
    if strip_next:
        chunk = chunk.lstrip()
    if chunk:
        parts.append(chunk)
    return Template(tuple(parts))


def _parse_mustache(body: str, escape: bool, source: str) -> Mustache:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    body = body.rstrip()
    while pos < len(body):
        match = _TOKEN_RE.match(body, pos)
        if match is None or match.end() == pos:
            raise TemplateError(f"cannot parse '{{{{{body}}}}}' in {source!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind == "key":
            tokens.append(("key", match.group("key")))
        elif kind in ("sq", "dq"):
            tokens.append(("value", re.sub(r"\\(.)", r"\1", match.group(kind))))
        elif kind == "num":
            number = match.group("num")
            tokens.append(("value", float(number) if "." in number else int(number)))
        else:
            word = match.group("path")
            literal = {"true": True, "false": False, "null": None, "undefined": None}
            tokens.append(("value", literal[word]) if word in literal else ("path", word))
    if not tokens or tokens[0][0] != "path":
        raise TemplateError(f"empty or invalid expression '{{{{{body}}}}}' in {source!r}")
    path = tokens[0][1]
    params: list[Any] = []
    hash_: list[tuple[str, Any]] = []
    i = 1
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "key":
            if i + 1 >= len(tokens) or tokens[i + 1][0] == "key":
                raise TemplateError(f"{value}= has no value in {source!r}")
            nkind, nvalue = tokens[i + 1]
            hash_.append((value, PathRef(nvalue) if nkind == "path" else nvalue))
            i += 2
            continue
        if hash_:
            raise TemplateError(f"positional argument after a named one in {source!r}")
        params.append(PathRef(value) if kind == "path" else value)
        i += 1
    return Mustache(path, tuple(params), tuple(hash_), escape)


def to_text(value: Any) -> str:
    """How JavaScript turns a rendered value into text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ",".join(to_text(v) for v in value)
    return str(value)


def escape(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)


def _lookup(scope: Scope, path: str) -> Any:
    value: Any = scope
    for part in path.removeprefix("this.").split("."):
        if part in ("this", "."):
            continue
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return None
    return value


def render(template: Template | str, scope: Scope) -> str:
    if isinstance(template, str):
        template = parse(template)
    out: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        out.append(_render_mustache(part, scope))
    return "".join(out)


def _render_mustache(part: Mustache, scope: Scope) -> str:
    def resolve(arg: Any) -> Any:
        return _lookup(scope, arg.name) if isinstance(arg, PathRef) else arg

    target = _lookup(scope, part.path)
    if callable(target):
        params = [resolve(p) for p in part.params]
        named = {k: resolve(v) for k, v in part.hash}
        value = target(params, named)
    elif part.params or part.hash:
        raise TemplateError(f'Missing helper: "{part.path}"')
    else:
        value = target
    text = to_text(value)
    return escape(text) if part.escape else text
