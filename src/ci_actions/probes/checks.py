"""HTTP checks, the pure part: what a check expects and whether an answer meets it.

A check is a URL with expectations (status codes or ranges, a substring,
JSON fields equal to or compared with values, a latency ceiling, the
expected version read from a JSON field or a header). `judge` says whether
one answer meets them; `CheckResult.flaps` counts a success followed by a
failure; `redirect_keeps_headers` says whether a redirect may carry the
check's headers. The network side (attempts, retries, the time budget) is
`ci_actions.probes.http`.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

_COMPARISON = re.compile(r"^\s*(>=|<=|!=|==|>|<)\s*(.+?)\s*$")


@dataclass(frozen=True)
class StatusSet:
    """`200`, `200-299`, `200,204,301-302`."""

    ranges: tuple[tuple[int, int], ...] = ((200, 299),)

    @classmethod
    def parse(cls, text: str) -> StatusSet:
        ranges = []
        for part in re.split(r"[,\s]+", str(text).strip()):
            if not part:
                continue
            low, sep, high = part.partition("-")
            if not low.isdigit() or (sep and not high.isdigit()):
                raise ValueError(f"{part!r} is not a status code or range like 200-299")
            ranges.append((int(low), int(high) if sep else int(low)))
        if not ranges:
            raise ValueError("no status codes given")
        return cls(tuple(ranges))

    def __contains__(self, code: object) -> bool:
        return isinstance(code, int) and any(lo <= code <= hi for lo, hi in self.ranges)

    def __str__(self) -> str:
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ranges)


@dataclass(frozen=True)
class VersionSource:
    kind: str  # json | header
    name: str

    @classmethod
    def parse(cls, text: str) -> VersionSource:
        kind, sep, name = text.strip().partition(":")
        if not sep or kind not in ("json", "header") or not name:
            raise ValueError(f"{text!r} is not json:PATH or header:NAME")
        return cls(kind, name)


@dataclass(frozen=True)
class Check:
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    status: StatusSet = StatusSet()
    contains: str = ""
    json: Mapping[str, Any] = field(default_factory=dict)
    max_latency_ms: float | None = None
    expected_version: str = ""
    version_from: VersionSource = VersionSource("json", "version")

    @property
    def label(self) -> str:
        return f"{self.method} {self.url}"


@dataclass(frozen=True)
class Timing:
    timeout: float = 60.0  # the whole budget
    interval: float = 2.0
    attempt_timeout: float = 10.0
    success_threshold: int = 3  # one lucky answer from a flapping server is not health
    failure_threshold: int = 0  # 0 = keep trying until the budget is spent
    max_redirects: int = 5
    verify_tls: bool = True
    # hosts (`host` or `host:port`) a redirect may carry the check's headers to
    redirect_allowed_hosts: tuple[str, ...] = ()


@dataclass
class Attempt:
    check: str
    t: float  # seconds since the start
    ok: bool
    status: int | None
    latency_ms: float | None
    reason: str  # why the attempt failed ("" when ok)
    version: str = ""
    fatal: bool = False  # retrying cannot fix it (TLS, a redirect loop, an invalid URL)

    @property
    def message(self) -> str:
        """The reason as shown: a fatal one says so."""
        return f"fatal: {self.reason}" if self.fatal else self.reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "t": round(self.t, 3),
            "ok": self.ok,
            "status": self.status,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "reason": self.message,
            "version": self.version,
        }


@dataclass
class CheckResult:
    check: Check
    healthy: bool = False
    reason: str = ""
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def flaps(self) -> int:
        """How often a success was followed by a failure."""
        return sum(1 for a, b in itertools.pairwise(self.attempts) if a.ok and not b.ok)


def lookup(document: Any, path: str) -> Any:
    """`a.b.0.c` into parsed JSON; raises KeyError when absent."""
    value = document
    for part in path.split(".") if path else []:
        if isinstance(value, list) and part.lstrip("-").isdigit():
            try:
                value = value[int(part)]
            except IndexError:
                raise KeyError(path) from None
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(path)
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def json_expectation_holds(actual: Any, expected: Any) -> bool:
    """Equality (numbers by value, else as text), or `>= N`, `< N`, `!= X` … given as a string."""
    if isinstance(expected, str):
        match = _COMPARISON.match(expected)
        if match:
            op, operand = match.groups()
            a, b = _number(actual), _number(operand)
            if op in ("==", "!="):
                same = (a == b) if a is not None and b is not None else str(actual) == operand
                return same if op == "==" else not same
            if a is None or b is None:
                return False
            return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]
    if isinstance(expected, bool) or isinstance(actual, bool):
        return (
            actual is expected
            if isinstance(expected, bool)
            else str(actual).lower() == str(expected).lower()
        )
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return a == b
    return actual == expected or str(actual) == str(expected)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))  # ceil
    return ordered[min(rank, len(ordered)) - 1]


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def redirect_keeps_headers(old_url: str, new_url: str, allowed_hosts: tuple[str, ...]) -> bool:
    """May a redirect from old_url to new_url carry the headers and cookies the
    check sent? Only to the same origin or an allowed host, never https -> http."""
    old, new = _origin(old_url), _origin(new_url)
    if old[0] == "https" and new[0] != "https":
        return False
    if old == new:
        return True
    _, host, port = new
    names = {host, f"{host}:{port}", f"[{host}]:{port}"}
    return any(entry.lower() in names for entry in allowed_hosts)


def judge(
    check: Check, status: int, headers: Mapping[str, str], body: bytes, latency: float
) -> tuple[str, str]:
    """("" when every expectation holds, else why not; the version seen)."""
    version = ""
    document: Any = None
    if check.json or (check.expected_version and check.version_from.kind == "json"):
        try:
            document = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            document = None
    if check.expected_version:
        if check.version_from.kind == "header":
            version = headers.get(check.version_from.name, "")
        elif document is not None:
            try:
                version = str(lookup(document, check.version_from.name))
            except KeyError:
                version = ""
    if status not in check.status:
        return f"status {status}, expected {check.status}", version
    if check.contains and check.contains not in body.decode(errors="replace"):
        return f"body does not contain {check.contains!r}", version
    if check.json:
        if document is None:
            return "body is not JSON", version
        for path, expected in check.json.items():
            try:
                actual = lookup(document, path)
            except KeyError:
                return f"JSON {path} is missing", version
            if not json_expectation_holds(actual, expected):
                return f"JSON {path} is {actual!r}, expected {expected!r}", version
    if check.expected_version:
        source = f"{check.version_from.kind}:{check.version_from.name}"
        if not version:
            return f"no version at {source}", version
        if version.strip() != check.expected_version:
            return (
                f"version {version!r} at {source}, expected {check.expected_version!r} (old version still serving?)",
                version,
            )
    if check.max_latency_ms is not None and latency > check.max_latency_ms:
        return f"latency {latency:.0f} ms over {check.max_latency_ms:g} ms", version
    return "", version


def latency_summary(results: list[CheckResult]) -> dict[str, float | None]:
    values = [a.latency_ms for r in results for a in r.attempts if a.latency_ms is not None]
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "count": float(len(values)),
    }
