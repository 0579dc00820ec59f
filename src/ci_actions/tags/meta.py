"""From an event, repository data and rules to version, tags, labels and annotations.

Pure: time, the event and the repository data come in; warnings go out in
`Meta.warnings`. Mirrors docker/metadata-action's rule evaluation: rules by
priority, the first produced value is the version, later ones are extra tags,
the first rule that produced a value decides `latest` (flavor `latest=auto`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cmp_to_key
from typing import Any, TypeVar

from ci_actions.tags import handlebars
from ci_actions.tags.collate import locale_compare
from ci_actions.tags.moment import UnknownTimeZone, format_in_zone, zone
from ci_actions.tags.rules import Flavor, Image, TagRule, parse_flavor, parse_images, parse_rules
from ci_actions.tags.versions import parse_pep440, parse_semver

_V = TypeVar("_V")

DEFAULT_SHORT_SHA_LENGTH = 7
_SANITIZE = re.compile(r"[^a-zA-Z0-9._-]+")
# Events that always run on the last commit of the default branch.
_DEFAULT_BRANCH_EVENTS = re.compile(r"create|discussion|issues|schedule")


class ExpressionError(ValueError):
    """An expression that cannot be evaluated (bad template, date without format, ...)."""

    def __init__(self, message: str, input_name: str = "tags") -> None:
        super().__init__(message)
        self.input_name = input_name  # the action input the expression came from


@dataclass(frozen=True)
class EventContext:
    event_name: str = ""
    ref: str = ""
    sha: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    commit_date: datetime = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class RepoInfo:
    name: str = ""
    description: str = ""
    html_url: str = ""
    license: str = ""  # SPDX id
    default_branch: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RepoInfo:
        lic = data.get("license") or {}
        return cls(
            name=str(data.get("name") or ""),
            description=str(data.get("description") or ""),
            html_url=str(data.get("html_url") or ""),
            license=str(lic.get("spdx_id") or "") if isinstance(lic, Mapping) else "",
            default_branch=str(data.get("default_branch") or ""),
        )


@dataclass(frozen=True)
class MetaInputs:
    images: Sequence[str] = ()
    tags: Sequence[str] = ()
    flavor: Sequence[str] = ()
    labels: Sequence[str] = ()
    annotations: Sequence[str] = ()
    bake_target: str = "docker-metadata-action"
    short_sha_length: int = DEFAULT_SHORT_SHA_LENGTH


@dataclass
class Version:
    main: str | None = None
    partial: list[str] = field(default_factory=list)
    latest: bool | None = None


MAX_TAG_LENGTH = 128


def sanitize_tag(tag: str) -> str:
    """Invalid characters become `-` (as the anchor does); beyond it, a leading `.` or `-`
    is dropped and the tag is cut at 128 characters, so Docker accepts every tag."""
    return _SANITIZE.sub("-", tag).lstrip(".-")[:MAX_TAG_LENGTH]


def short_sha(sha: str, length: int) -> str:
    return sha if length >= len(sha) else sha[:length]


def iso_ms(moment: datetime) -> str:
    """JavaScript's Date.toISOString(): UTC, milliseconds, `Z`."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# moment's `format()` without a format: what an unquoted format (a name that resolves to
# nothing, like `{{date YYYYMMDD}}`) or an empty one renders, in UTC and elsewhere.
DEFAULT_FORMAT_UTC = "YYYY-MM-DDTHH:mm:ss[Z]"
DEFAULT_FORMAT = "YYYY-MM-DDTHH:mm:ssZ"


def _date_helper(moment: datetime) -> Callable[[Sequence[Any], Mapping[str, Any]], str]:
    def helper(params: Sequence[Any], named: Mapping[str, Any]) -> str:
        if not params or not (params[0] is None or isinstance(params[0], str)):
            raise ExpressionError("a date needs a format, e.g. {{date 'YYYYMMDD'}}")
        tz = "UTC"
        for key, value in named.items():
            if key != "tz":
                raise ExpressionError(f"unknown {key} attribute (only tz='Zone')")
            tz = str(value)
        try:
            fmt = params[0]
            if not fmt:
                utc = moment.astimezone(zone(tz)).utcoffset() == timedelta(0)
                fmt = DEFAULT_FORMAT_UTC if utc else DEFAULT_FORMAT
            return format_in_zone(moment, fmt, tz)
        except UnknownTimeZone:
            raise ExpressionError(
                f"unknown time zone {tz!r} (use e.g. tz='Europe/Paris')"
            ) from None

    return helper


def _js_regex(pattern: str) -> tuple[re.Pattern[str], bool]:
    """A JavaScript regular expression (`/src/flags` or a bare source) for Python's re."""
    flags, global_ = 0, False
    wrapped = re.match(r"^/(.+)/(.*)$", pattern, re.DOTALL)
    source = pattern
    if wrapped:
        source = wrapped.group(1)
        for flag in wrapped.group(2):
            flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}.get(flag, 0)
            global_ = global_ or flag == "g"
    source = re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", source)
    try:
        return re.compile(source, flags), global_
    except re.error as exc:
        raise ExpressionError(f"invalid regular expression {pattern!r}: {exc}") from None


def _js_match(pattern: str, value: str) -> list[str | None] | None:
    """String.prototype.match: the match and its groups (all matches with the g flag)."""
    regex, global_ = _js_regex(pattern)
    if global_:
        found = [m.group(0) for m in regex.finditer(value)]
        return list(found) if found else None
    match = regex.search(value)
    if match is None:
        return None
    return [match.group(0), *match.groups()]


def _index(items: list[str | None], key: str) -> str | None:
    if not re.fullmatch(r"0|[1-9]\d*", key):
        return None
    i = int(key)
    return items[i] if i < len(items) else None


class Meta:
    def __init__(
        self, inputs: MetaInputs, context: EventContext, repo: RepoInfo, now: datetime
    ) -> None:
        self.inputs = inputs
        self.context = context
        self.repo = repo
        self.date = now
        self.warnings: list[str] = []
        self.images: list[Image] = parse_images(list(inputs.images))
        self.rules: list[TagRule] = parse_rules(list(inputs.tags))
        self.flavor: Flavor = parse_flavor(list(inputs.flavor))
        self.version = self._version()

    # -- expressions -----------------------------------------------------------

    def _render(self, template: str, scope: Mapping[str, Any]) -> str:
        try:
            return handlebars.render(template, scope)
        except handlebars.TemplateError as exc:
            raise ExpressionError(f"{exc} (in {template!r})") from None
        except ExpressionError as exc:
            raise ExpressionError(f"{exc} (in {template!r})") from None

    def _ref_without(self, prefix: str) -> str:
        ref = self.context.ref
        return ref[len(prefix) :] if ref.startswith(prefix) else ""

    def _is_default_branch(self) -> str:
        branch = self.context.ref.removeprefix("refs/heads/")
        if not branch:
            return "false"
        repo = self.context.payload.get("repository")
        if isinstance(repo, Mapping) and repo.get("default_branch") == branch:
            return "true"
        if _DEFAULT_BRANCH_EVENTS.search(self.context.event_name):
            return "true"
        return "false"

    def _base_ref(self) -> str:
        payload = self.context.payload
        if self.context.ref.startswith("refs/tags/") and payload.get("base_ref") is not None:
            return (
                str(payload["base_ref"]).replace("refs/heads/", "", 1)
                if str(payload["base_ref"]).startswith("refs/heads/")
                else str(payload["base_ref"])
            )
        pr = payload.get("pull_request")
        if self.context.ref.startswith("refs/pull/") and isinstance(pr, Mapping):
            base = pr.get("base")
            if isinstance(base, Mapping) and base.get("ref") is not None:
                return str(base["ref"])
        return ""

    def global_scope(self) -> dict[str, Any]:
        length = self.inputs.short_sha_length
        return {
            "branch": lambda p, n: self._ref_without("refs/heads/"),
            "tag": lambda p, n: self._ref_without("refs/tags/"),
            "sha": lambda p, n: short_sha(self.context.sha, length),
            "base_ref": lambda p, n: self._base_ref(),
            "is_default_branch": lambda p, n: self._is_default_branch(),
            "is_not_default_branch": lambda p, n: (
                "true" if self._is_default_branch() == "false" else "false"
            ),
            "date": _date_helper(self.date),
            "commit_date": _date_helper(self.context.commit_date),
        }

    def expand(self, template: str) -> str:
        return self._render(template, self.global_scope())

    def _expand_from(self, input_name: str, template: str) -> str:
        try:
            return self.expand(template)
        except ExpressionError as exc:
            raise ExpressionError(str(exc), input_name) from None

    # -- rules ----------------------------------------------------------------

    def _latest(self, auto: bool) -> bool:
        return auto if self.flavor.latest == "auto" else self.flavor.latest == "true"

    def _version(self) -> Version:
        version = Version()
        handlers: dict[str, Callable[[TagRule], tuple[str, bool] | None]] = {
            "schedule": self._schedule,
            "semver": self._semver,
            "pep440": self._pep440,
            "match": self._match,
            "ref": self._ref,
            "edge": self._edge,
            "raw": self._raw,
            "sha": self._sha,
        }
        for rule in self.rules:
            enabled = self.expand(rule.attrs["enable"])
            if enabled not in ("true", "false"):
                raise ExpressionError(
                    f"enable must be true or false, got {enabled!r} (in {rule.source!r})"
                )
            if enabled != "true":
                continue
            produced = handlers[rule.type](rule)
            if produced is None:
                continue
            value, latest = produced
            value = sanitize_tag(value)
            if not value:
                continue
            if version.main is None:
                version.main = value
            elif value != version.main:
                version.partial.append(value)
            if version.latest is None:
                version.latest = self._latest(latest)
        version.partial = list(dict.fromkeys(version.partial))
        if version.latest is None:
            version.latest = False
        return version

    def _with_affixes(self, value: str, rule: TagRule) -> str:
        if "prefix" in rule.attrs:
            value = self.expand(rule.attrs["prefix"]) + value
        elif self.flavor.prefix:
            value = self._expand_from("flavor", self.flavor.prefix) + value
        if "suffix" in rule.attrs:
            value = value + self.expand(rule.attrs["suffix"])
        elif self.flavor.suffix:
            value = value + self._expand_from("flavor", self.flavor.suffix)
        return value

    def _schedule(self, rule: TagRule) -> tuple[str, bool] | None:
        if "schedule" not in self.context.event_name:
            return None
        scope = {
            "date": _date_helper(self.date),
            "commit_date": _date_helper(self.context.commit_date),
        }
        return self._with_affixes(self._render(rule.attrs["pattern"], scope), rule), False

    def _version_source(self, rule: TagRule) -> str | None:
        """The text a semver/pep440/match rule reads: `value`, else the pushed tag."""
        if rule.attrs["value"]:
            return self.expand(rule.attrs["value"])
        if self.context.ref.startswith("refs/tags/"):
            return self.context.ref.removeprefix("refs/tags/")
        return None

    def _apply_match(self, rule: TagRule, raw: str) -> str:
        if rule.attrs["match"]:
            found = _js_match(rule.attrs["match"], raw)
            if not found:
                self.warnings.append(f"{rule.attrs['match']} does not match {raw}.")
            else:
                group = found[1] if len(found) > 1 else None
                if group is None:
                    raise ExpressionError(
                        f"match {rule.attrs['match']!r} needs a capture group (in {rule.source!r})"
                    )
                raw = group
        return raw.replace("/", "-")

    def _parsed_version(
        self, rule: TagRule, parse: Callable[[str], _V | None], complaint: str
    ) -> tuple[str, _V] | None:
        """The rule's source after its `match`, parsed; None (and `complaint` when it does not parse)."""
        source = self._version_source(rule)
        if source is None:
            return None
        raw = self._apply_match(rule, source)
        parsed = parse(raw)
        if parsed is None:
            self.warnings.append(complaint.format(raw=raw))
            return None
        return raw, parsed

    def _semver(self, rule: TagRule) -> tuple[str, bool] | None:
        found = self._parsed_version(
            rule, parse_semver, "{raw} is not a valid semver. More info: https://semver.org/"
        )
        if found is None:
            return None
        parsed = found[1]
        pattern = rule.attrs["pattern"]
        if parsed.prerelease:
            template = pattern if _is_raw_statement(pattern) else "{{version}}"
            return self._with_affixes(self._render(template, parsed.scope()), rule), False
        return self._with_affixes(self._render(pattern, parsed.scope()), rule), True

    def _pep440(self, rule: TagRule) -> tuple[str, bool] | None:
        found = self._parsed_version(
            rule,
            parse_pep440,
            "{raw} does not conform to PEP 440. More info: https://www.python.org/dev/peps/pep-0440",
        )
        if found is None:
            return None
        raw, parsed = found
        pattern = rule.attrs["pattern"]
        if parsed.is_special:
            value = raw if _is_raw_statement(pattern) else parsed.clean
            return self._with_affixes(value, rule), False
        scope = {
            "raw": lambda p, n: raw,
            "version": lambda p, n: parsed.clean,
            "major": lambda p, n: parsed.part(0),
            "minor": lambda p, n: parsed.part(1),
            "patch": lambda p, n: parsed.part(2),
        }
        return self._with_affixes(self._render(pattern, scope), rule), True

    def _match(self, rule: TagRule) -> tuple[str, bool] | None:
        source = self._version_source(rule)
        if source is None:
            return None
        found = _js_match(rule.attrs["pattern"], source)
        if not found:
            self.warnings.append(f"{rule.attrs['pattern']} does not match {source}.")
            return None
        group = _index(found, rule.attrs["group"])
        if group is None:
            self.warnings.append(
                f"Group {rule.attrs['group']} does not exist for {rule.attrs['pattern']} pattern."
            )
            return None
        return self._with_affixes(group, rule), True

    def _ref(self, rule: TagRule) -> tuple[str, bool] | None:
        event, ref = rule.attrs["event"], self.context.ref
        if event == "branch" and ref.startswith("refs/heads/"):
            return self._with_affixes(ref.removeprefix("refs/heads/"), rule), False
        if event == "tag" and ref.startswith("refs/tags/"):
            return self._with_affixes(ref.removeprefix("refs/tags/"), rule), True
        if event == "pr" and ref.startswith("refs/pull/"):
            number = ref.removeprefix("refs/pull/").removesuffix("/merge")
            return self._with_affixes(number, rule), False
        return None

    def _edge(self, rule: TagRule) -> tuple[str, bool] | None:
        if not self.context.ref.startswith("refs/heads/"):
            return None
        branch = rule.attrs["branch"] or self.repo.default_branch
        if branch != self.context.ref.removeprefix("refs/heads/"):
            return None
        return self._with_affixes("edge", rule), False

    def _raw(self, rule: TagRule) -> tuple[str, bool] | None:
        return self._with_affixes(self.expand(rule.attrs["value"]), rule), False

    def _sha(self, rule: TagRule) -> tuple[str, bool] | None:
        sha = self.context.sha
        if not sha:
            return None
        if rule.attrs["format"] == "short":
            sha = short_sha(sha, self.inputs.short_sha_length)
        return self._with_affixes(sha, rule), False

    # -- outputs ----------------------------------------------------------------

    def image_names(self) -> list[str]:
        return [image.name.lower() for image in self.images if image.enable]

    def _tags_for(self, prefix: str) -> list[str]:
        assert self.version.main is not None
        tags = [prefix + self.version.main, *(prefix + p for p in self.version.partial)]
        if self.version.latest:
            f = self.flavor
            latest = (
                (f.prefix if f.prefix_latest else "")
                + "latest"
                + (f.suffix if f.suffix_latest else "")
            )
            tags.append(prefix + sanitize_tag(latest))
        return tags

    def tags(self, names_only: bool = False) -> list[str]:
        if not self.version.main:
            return []
        images = [] if names_only else self.image_names()
        if not images:
            return self._tags_for("")
        return [tag for image in images for tag in self._tags_for(f"{image}:")]

    def _oci(self, extra: Sequence[str], input_name: str) -> list[str]:
        entries = [
            f"org.opencontainers.image.title={self.repo.name}",
            f"org.opencontainers.image.description={self.repo.description}",
            f"org.opencontainers.image.url={self.repo.html_url}",
            f"org.opencontainers.image.source={self.repo.html_url}",
            f"org.opencontainers.image.version={self.version.main or ''}",
            f"org.opencontainers.image.created={iso_ms(self.date)}",
            f"org.opencontainers.image.revision={self.context.sha}",
            f"org.opencontainers.image.licenses={self.repo.license}",
        ]
        entries += [self._expand_from(input_name, line) for line in extra]
        merged: dict[str, str] = {}
        for entry in entries:
            key, sep, value = entry.partition("=")
            if sep:
                merged[key] = value
        keys = sorted(merged, key=cmp_to_key(locale_compare))
        return [f"{k}={merged[k]}" for k in keys]

    def labels(self) -> list[str]:
        return self._oci(self.inputs.labels, "labels")

    def annotations(self) -> list[str]:
        return self._oci(self.inputs.annotations, "annotations")

    def leveled_annotations(self, levels: Sequence[str]) -> list[str]:
        plain = self.annotations()
        return [f"{level}:{a}" for level in levels for a in plain]

    def json_output(self, levels: Sequence[str]) -> dict[str, Any]:
        return {
            "tags": self.tags(),
            "tag-names": self.tags(names_only=True),
            "labels": label_map(self.labels()),
            "annotations": self.leveled_annotations(levels),
        }

    def _args(self) -> dict[str, str]:
        args = {"DOCKER_META_IMAGES": ",".join(self.image_names())}
        if self.version.main is not None:
            args["DOCKER_META_VERSION"] = self.version.main
        return args

    def bake(self, body: dict[str, Any]) -> str:
        return js_json({"target": {self.inputs.bake_target: body}}, indent=2)

    def bake_files(self, levels: Sequence[str]) -> dict[str, str]:
        """File suffix ('' for the tags+labels file) -> content, as the anchor writes them."""
        labels = label_map(self.labels())
        return {
            "tags": self.bake({"tags": self.tags(), "args": self._args()}),
            "labels": self.bake({"labels": labels}),
            "annotations": self.bake({"annotations": self.leveled_annotations(levels)}),
            "": self.bake({"tags": self.tags(), "labels": labels, "args": self._args()}),
        }


_LABEL = re.compile(r"([^=]*)=(.*)")


def label_map(labels: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for label in labels:
        match = _LABEL.search(label)
        if match:
            out[match.group(1)] = match.group(2)
    return out


def js_json(value: Any, indent: int | None = None) -> str:
    """JSON.stringify(value[, null, indent])."""
    if indent is None:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _is_raw_statement(pattern: str) -> bool:
    try:
        return handlebars.parse(pattern).is_single("raw")
    except handlebars.TemplateError:
        return False
