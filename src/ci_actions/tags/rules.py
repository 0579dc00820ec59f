"""docker/metadata-action's list inputs: images, tag rules and flavor.

Each input line is CSV (`key=value` fields); a field without `=` is the
rule's `value` (tags) or the image name (images). Parse errors are
RuleError with the offending line; the action turns them into exit 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TYPES = ("schedule", "semver", "pep440", "match", "edge", "ref", "raw", "sha")
DEFAULT_PRIORITY = {
    "schedule": "1000",
    "semver": "900",
    "pep440": "900",
    "match": "800",
    "edge": "700",
    "ref": "600",
    "raw": "200",
    "sha": "100",
}
REF_EVENTS = ("branch", "tag", "pr")
SHA_FORMATS = ("short", "long")
# The attributes each type reads (besides the common ones); anything else is a typo.
COMMON_ATTRS = ("enable", "priority", "prefix", "suffix")
TYPE_ATTRS = {
    "schedule": ("pattern", "value"),
    "semver": ("pattern", "value", "match"),
    "pep440": ("pattern", "value", "match"),
    "match": ("pattern", "value", "group"),
    "edge": ("branch", "value"),
    "ref": ("event", "value"),
    "raw": ("value",),
    "sha": ("format", "value"),
}
DEFAULT_RULES = (
    "type=schedule",
    "type=ref,event=branch",
    "type=ref,event=tag",
    "type=ref,event=pr",
)


class RuleError(ValueError):
    def __init__(self, message: str, line: str = "") -> None:
        super().__init__(message)
        self.line = line


def split_list(value: str) -> list[str]:
    """A list input as docker/* actions read it: one item per line, `#` lines dropped.

    Each line is CSV-read (quotes removed) and its fields joined back with commas.
    """
    items: list[str] = []
    for line in value.replace("\r\n", "\n").split("\n"):
        if not line.strip() or line.startswith("#"):
            continue
        item = ",".join(_split_csv(line, relaxed=True)).strip()
        if item:
            items.append(item)
    return items


def csv_fields(line: str) -> list[str]:
    """The fields of one rule line, as a strict CSV reader splits them.

    A field may be quoted as a whole (`"value=a,b"`, `""` for a quote);
    a quote anywhere else is an error, as it is for the anchor.
    """
    return _split_csv(line, relaxed=False)


def _split_csv(line: str, *, relaxed: bool) -> list[str]:
    """Relaxed (the list inputs' first pass): a misplaced quote is kept as text."""
    fields: list[str] = []
    i, n = 0, len(line)
    while True:
        end = line.find(",", i)
        end = n if end < 0 else end
        if i < n and line[i] == '"':
            after, field = _quoted(line, i + 1)
            if after >= n or line[after] == ",":
                i = after
            elif relaxed:
                field, i = line[i:end], end
            else:
                raise RuleError("unexpected text after a closing quote", line)
        else:
            field = line[i:end]
            if '"' in field and not relaxed:
                raise RuleError('a quote may only open a field, e.g. "value=a,b"', line)
            i = end
        fields.append(field)
        if i >= n:
            return fields
        i += 1  # the comma


def _quoted(line: str, i: int) -> tuple[int, str]:
    out: list[str] = []
    while i < len(line):
        if line[i] == '"':
            if line.startswith('""', i):
                out.append('"')
                i += 2
                continue
            return i + 1, "".join(out)
        out.append(line[i])
        i += 1
    raise RuleError("a quoted field is not closed", line)


@dataclass
class TagRule:
    type: str
    attrs: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def __str__(self) -> str:
        return ",".join([f"type={self.type}", *(f"{k}={v}" for k, v in self.attrs.items())])

    @property
    def priority(self) -> float:
        try:
            return float(self.attrs["priority"])
        except ValueError:
            return float("nan")


_KEY_SPLIT = re.compile(r"^([^=]+?)=(.*)$", re.DOTALL)


def parse_rule(line: str) -> TagRule:
    rule_type = ""
    attrs: dict[str, str] = {}
    for raw in csv_fields(line):
        match = _KEY_SPLIT.match(raw)
        if match is None:
            attrs["value"] = raw.strip()
            continue
        key, value = match.group(1).strip().lower(), match.group(2).strip()
        if key == "type":
            if value not in TYPES:
                raise RuleError(f"unknown tag type {value!r} (one of {', '.join(TYPES)})", line)
            rule_type = value
        else:
            attrs[key] = value
    rule_type = rule_type or "raw"
    known = set(COMMON_ATTRS) | set(TYPE_ATTRS[rule_type])
    for key in attrs:
        if key not in known:
            raise RuleError(
                f"unknown attribute {key!r} for type={rule_type} (one of {', '.join(sorted(known))})",
                line,
            )
    _apply_defaults(rule_type, attrs, line)
    attrs.setdefault("enable", "true")
    attrs.setdefault("priority", DEFAULT_PRIORITY[rule_type])
    return TagRule(rule_type, attrs, line)


def _apply_defaults(rule_type: str, attrs: dict[str, str], line: str) -> None:
    if rule_type == "schedule":
        attrs.setdefault("pattern", "nightly")
    elif rule_type in ("semver", "pep440"):
        if "pattern" not in attrs:
            raise RuleError("missing pattern attribute, e.g. pattern={{version}}", line)
        attrs.setdefault("value", "")
        attrs.setdefault("match", "")
    elif rule_type == "match":
        if "pattern" not in attrs:
            raise RuleError("missing pattern attribute (a regular expression)", line)
        attrs.setdefault("group", "0")
        if not _is_js_number(attrs["group"]):
            raise RuleError(f"invalid match group {attrs['group']!r}", line)
        attrs.setdefault("value", "")
    elif rule_type == "edge":
        attrs.setdefault("branch", "")
    elif rule_type == "ref":
        if "event" not in attrs:
            raise RuleError("missing event attribute (branch, tag or pr)", line)
        if attrs["event"] not in REF_EVENTS:
            raise RuleError(f"invalid event {attrs['event']!r} (branch, tag or pr)", line)
        if attrs["event"] == "pr":
            attrs.setdefault("prefix", "pr-")
    elif rule_type == "raw":
        if "value" not in attrs:
            raise RuleError("missing value attribute", line)
    elif rule_type == "sha":
        attrs.setdefault("prefix", "sha-")
        attrs.setdefault("format", "short")
        if attrs["format"] not in SHA_FORMATS:
            raise RuleError(f"invalid format {attrs['format']!r} (short or long)", line)


def _is_js_number(text: str) -> bool:
    text = text.strip()
    if not text:
        return True  # Number('') is 0
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_rules(lines: list[str]) -> list[TagRule]:
    """The rules, highest priority first (a stable sort, as the anchor's)."""
    rules = [parse_rule(line) for line in (lines or list(DEFAULT_RULES))]

    def key(rule: TagRule) -> float:
        p = rule.priority
        return 0.0 if p != p else -p  # NaN compares equal to everything: keep its place

    if any(r.priority != r.priority for r in rules):
        return rules  # JavaScript's comparator with NaN is inconsistent; keep input order
    return sorted(rules, key=key)


@dataclass(frozen=True)
class Flavor:
    latest: str = "auto"
    prefix: str = ""
    prefix_latest: bool = False
    suffix: str = ""
    suffix_latest: bool = False


def parse_flavor(lines: list[str]) -> Flavor:
    latest, prefix, suffix = "auto", "", ""
    prefix_latest = suffix_latest = False
    for line in lines:
        onlatest_for = ""
        for raw in csv_fields(line):
            parts = [p.strip() for p in raw.split("=")]
            if len(parts) == 1:
                raise RuleError("a flavor entry must be key=value", line)
            key, value = parts[0].lower(), parts[1]
            if key == "latest":
                if value not in ("auto", "true", "false"):
                    raise RuleError(f"invalid latest {value!r} (auto, true or false)", line)
                latest = value
            elif key == "prefix":
                prefix, onlatest_for = value, "prefix"
            elif key == "suffix":
                suffix, onlatest_for = value, "suffix"
            elif key == "onlatest":
                if value not in ("true", "false"):
                    raise RuleError(f"invalid onlatest {value!r} (true or false)", line)
                if onlatest_for == "prefix":
                    prefix_latest = value == "true"
                elif onlatest_for == "suffix":
                    suffix_latest = value == "true"
            else:
                raise RuleError(
                    f"unknown flavor entry {key!r} (latest, prefix, suffix, onlatest)", line
                )
    return Flavor(latest, prefix, prefix_latest, suffix, suffix_latest)


@dataclass(frozen=True)
class Image:
    name: str
    enable: bool = True


def parse_images(lines: list[str]) -> list[Image]:
    if len(lines) == 1:  # the short form: `a,b,c` on one line
        names = [f.strip() for f in csv_fields(lines[0])]
        if all("=" not in n for n in names):
            return [Image(n) for n in names]
    images: list[Image] = []
    for line in lines:
        name, enable = "", True
        for raw in csv_fields(line):
            parts = [p.strip() for p in raw.split("=")]
            if len(parts) == 1:
                name = parts[0]
                continue
            key, value = parts[0].lower(), parts[1]
            if key == "name":
                name = value
            elif key == "enable":
                if value not in ("true", "false"):
                    raise RuleError(f"invalid enable {value!r} (true or false)", line)
                enable = value == "true"
            else:
                raise RuleError(f"unknown image attribute {key!r} (name, enable)", line)
        if not name:
            raise RuleError("image name is empty", line)
        images.append(Image(name, enable))
    return images
