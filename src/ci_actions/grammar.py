"""The grammar of single values that reach a command line or a file: pure checks.

Each check returns "" when the value is well formed, else why it is not.
Inputs declare a kind (github/inputs.py) and are checked here before any
work; ledger lines are checked here when written and when read back. A value
that passes can never be taken for an option: none of these kinds may start
with `-`.
"""

from __future__ import annotations

import re

SHA_RE = re.compile(r"^[0-9a-f]{7,64}\Z")  # \Z: `$` would let a trailing newline in
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-f0-9]{32,128}\Z")
# distribution/reference: a path component is lower-case alphanumerics with separators.
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9-]+)*(?::\d{1,5})?\Z"
)
_REV_SUFFIX = re.compile(r"(?:[~^]\d{0,6})*\Z")
MAX_REF = 255
MAX_NAME = 255
# git check-ref-format, rule 4 and 5: no control characters, space, ~ ^ : ? * [ or backslash.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def line_error(value: str) -> str:
    """One line: no line break and no NUL (a value that cannot smuggle a second line)."""
    if "\0" in value:
        return "contains a NUL character"
    if "\n" in value or "\r" in value:
        return "must be a single line (it contains a line break)"
    return ""


def operand_error(value: str) -> str:
    """A single value passed to a command as an operand: one line, never `-` first."""
    if error := line_error(value):
        return error
    if value.startswith("-"):
        return "must not start with '-'"
    return ""


def ref_error(name: str) -> str:
    """git's rules for a branch or ref name (`git check-ref-format --branch`)."""
    if error := operand_error(name):
        return error
    if not name:
        return "is empty"
    if len(name) > MAX_REF:
        return f"is longer than {MAX_REF} characters"
    if _REF_FORBIDDEN.search(name):
        return "contains a space, a control character or one of ~ ^ : ? * [ \\"
    if name in ("@", "HEAD") or "@{" in name:
        return "must not be '@' or 'HEAD' or contain '@{'"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "must not start or end with '/' or contain '//'"
    if ".." in name or name.endswith("."):
        return "must not contain '..' or end with '.'"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "no part of it may start with '.' or end with '.lock'"
    return ""


def sha_error(value: str) -> str:
    """A git commit SHA: 7 to 64 lower-case hex digits (SHA-1 or SHA-256, maybe abbreviated)."""
    if SHA_RE.match(value):
        return ""
    return "is not a commit SHA (7 to 64 hex digits)"


def rev_error(value: str) -> str:
    """A commit: a SHA, or a ref name with optional `~N` / `^N` suffixes (`HEAD~1`)."""
    if SHA_RE.match(value):
        return ""
    if error := operand_error(value):
        return error
    match = _REV_SUFFIX.search(value)
    base = value[: match.start()] if match else value
    return "" if base == "HEAD" else ref_error(base)


def tag_error(value: str) -> str:
    """A Docker tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`."""
    return "" if TAG_RE.match(value) else "is not an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"


def digest_error(value: str) -> str:
    """A content digest `ALGORITHM:HEX`, e.g. sha256:<64 hex>."""
    return "" if DIGEST_RE.match(value) else "is not a digest (ALGORITHM:HEX, e.g. sha256:<64 hex>)"


def image_name_error(name: str) -> str:
    """`[HOST[:PORT]/]PATH`: lower-case path components, at most 255 characters."""
    if not name or len(name) > MAX_NAME:
        return f"must be 1 to {MAX_NAME} characters"
    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        if not _HOST.match(first):
            return f"has an invalid registry host {first!r}"
        parts = parts[1:]
    for part in parts:
        if not _COMPONENT.match(part):
            return f"has an invalid path component {part!r} (lower-case letters, digits, '.', '_', '-')"
    return ""


def image_error(value: str) -> str:
    """An image reference `NAME[:TAG][@DIGEST]` (`:` and `@` looked for after the first `/`)."""
    if error := operand_error(value):
        return error
    slash = value.find("/")
    start = slash + 1 if slash >= 0 else 0
    name, tag, digest = value, "", ""
    at = value.find("@", start)
    if at >= 0:
        name, digest = value[:at], value[at + 1 :]
        if error := digest_error(digest):
            return f"digest {digest!r} {error}"
    colon = name.rfind(":", start)
    if colon >= 0:
        name, tag = name[:colon], name[colon + 1 :]
        if error := tag_error(tag):
            return f"tag {tag!r} {error}"
    if error := image_name_error(name):
        return f"name {name!r} {error}"
    return ""
