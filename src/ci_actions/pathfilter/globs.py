"""Globs over `/`-separated repository paths, as GitHub's `paths:` filters read them.

`*` and `?` never cross a `/`; `**` as a whole segment spans any number of
directories (none included); `[...]` is a character class and `{a,b}` an
alternation. Dot files are matched like any other file. A pattern is
anchored at the repository root: `*.md` matches `README.md`, not `docs/a.md`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_SPECIAL = frozenset("*?[{")


@dataclass(frozen=True)
class Glob:
    """`regex` is None for the two common shapes matched without one: a plain path
    (`pyproject.toml`: equal) and a plain folder's `**` (`lib/**`: below `lib/`)."""

    pattern: str
    regex: re.Pattern[str] | None
    literal: str = ""
    below: str = ""

    def matches(self, path: str) -> bool:
        if self.regex is not None:
            return self.regex.fullmatch(path) is not None
        if self.below:
            return path.startswith(self.below)
        return path == self.literal


@functools.lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> Glob:
    text = pattern.lstrip("/") if pattern != "/" else pattern
    folder = text.removesuffix("/**")
    if folder != text and folder and not _SPECIAL.intersection(folder):
        return Glob(pattern, None, below=folder + "/")
    if text and not _SPECIAL.intersection(text):
        return Glob(pattern, None, literal=text)
    return Glob(pattern, re.compile(_translate(text)))


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i) and (i == 0 or pattern[i - 1] == "/"):
                after = i + 2
                if after == n:  # trailing `**`: everything below
                    out.append(".*")
                    i = after
                    continue
                if pattern[after] == "/":  # `**/`: zero or more directories
                    out.append("(?:.*/)?")
                    i = after + 1
                    continue
            while i < n and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        if c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif c == "{":
            end = pattern.find("}", i)
            if end == -1:
                out.append(re.escape(c))
            else:
                alternatives = pattern[i + 1 : end].split(",")
                out.append("(?:" + "|".join(_translate(a) for a in alternatives) + ")")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)
