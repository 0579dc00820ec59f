"""HTTP checks: is the service answering, correctly, as the new version?

A check is a URL with expectations (status codes or ranges, a substring,
JSON fields equal to or compared with values, a latency ceiling, the
expected version read from a JSON field or a header). Checks are retried
until each has passed `success-threshold` times in a row, within one total
budget; connection refused or reset, time-outs and 5xx are retried, as is an
answer that does not (yet) meet the expectations (the old version may still
be serving); a TLS failure or a redirect loop ends the check at once, since
retrying cannot fix them. No attempt outlives the budget: each is capped at
`attempt-timeout` and at what is left of the budget, body reads included.

A redirect to another origin (scheme, host or port) goes without any header
the check set and without cookies, unless its host is one the workflow allows;
a redirect from https to http never keeps them.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests  # only health-probe imports this module

Obj = dict[str, Any]
JOIN_GRACE = 0.2
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
    reason: str
    version: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "t": round(self.t, 3),
            "ok": self.ok,
            "status": self.status,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "reason": self.reason,
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


class _Fatal(Exception):
    """A failure that retrying cannot fix."""


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


class _RedirectGuard(requests.Session):
    """A session that drops the check's own headers and every cookie on a
    redirect that `redirect_keeps_headers` refuses, and keeps them all (the
    Authorization header included) on one it allows. requests itself drops only
    Authorization, and sends the cookies of a host to all of its ports."""

    def __init__(self, own_headers: Mapping[str, str], allowed_hosts: tuple[str, ...]) -> None:
        super().__init__()
        self.own_headers = tuple(own_headers)
        self.allowed_hosts = allowed_hosts

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        old, new = response.request.url or "", prepared_request.url or ""
        if redirect_keeps_headers(old, new, self.allowed_hosts):
            return
        for name in (*self.own_headers, "Authorization", "Cookie"):
            prepared_request.headers.pop(name, None)


class Prober:
    def __init__(
        self,
        timing: Timing,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_attempt: Callable[[Attempt], None] = lambda attempt: None,
    ) -> None:
        self.timing = timing
        self.clock = clock
        self.sleep = sleep
        self.on_attempt = on_attempt
        if not timing.verify_tls:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def run(self, checks: list[Check]) -> list[CheckResult]:
        start = self.clock()
        deadline = start + self.timing.timeout
        results = [CheckResult(c) for c in checks]
        streak = {id(r): 0 for r in results}
        misses = {id(r): 0 for r in results}
        pending = list(results)
        while pending:
            for result in list(pending):
                left = deadline - self.clock()
                if left <= 0:
                    break
                attempt = self._attempt(result.check, start, min(self.timing.attempt_timeout, left))
                result.attempts.append(attempt)
                self.on_attempt(attempt)
                if attempt.ok:
                    streak[id(result)] += 1
                    misses[id(result)] = 0
                    if streak[id(result)] >= self.timing.success_threshold:
                        result.healthy, result.reason = True, ""
                        pending.remove(result)
                    continue
                streak[id(result)] = 0
                misses[id(result)] += 1
                result.reason = attempt.reason
                fatal = attempt.reason.startswith("fatal: ")
                limit = self.timing.failure_threshold
                if fatal or (limit and misses[id(result)] >= limit):
                    if not fatal:
                        result.reason = (
                            f"{limit} failed attempt(s) in a row; last: {attempt.reason}"
                        )
                    pending.remove(result)
                    for other in pending:  # one failed check fails the probe: stop the rest
                        other.reason = other.reason or "not finished: another check failed"
                    return results
            left = deadline - self.clock()
            if not pending:
                break
            if left <= 0:
                for result in pending:
                    result.reason = (
                        f"no success within {self.timing.timeout:g}s; last: {result.reason or 'no attempt'}"
                        if self.timing.success_threshold == 1 or not result.attempts
                        else f"{self.timing.success_threshold} successes in a row not reached within {self.timing.timeout:g}s"
                        f" ({result.flaps} flap(s)); last: {result.reason or 'ok'}"
                    )
                break
            self.sleep(min(self.timing.interval, left))
        return results

    def _attempt(self, check: Check, start: float, budget: float) -> Attempt:
        began = self.clock()
        status: int | None = None
        latency: float | None = None
        version = ""
        try:
            status, headers, body, latency = self._fetch(check, budget)
            reason, version = self._judge(check, status, headers, body, latency)
        except _Fatal as exc:
            reason = f"fatal: {exc}"
        except requests.exceptions.SSLError as exc:
            reason = f"fatal: TLS verification failed ({_short(exc)}); set insecure: true only for a test endpoint"
        except requests.exceptions.TooManyRedirects:
            reason = f"fatal: more than {self.timing.max_redirects} redirects (a redirect loop?)"
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
            reason = f"fatal: invalid URL ({_short(exc)})"
        except requests.exceptions.ConnectTimeout:
            reason = "connect timed out"
        except requests.exceptions.ReadTimeout:
            reason = "timed out waiting for the response"
        except requests.exceptions.ChunkedEncodingError:
            reason = "connection reset while reading the body"
        except requests.exceptions.ConnectionError as exc:
            reason = _connection_reason(exc)
        except TimeoutError:
            reason = "no complete response within the attempt timeout"
        return Attempt(check.label, began - start, reason == "", status, latency, reason, version)

    def _fetch(self, check: Check, budget: float) -> tuple[int, Mapping[str, str], bytes, float]:
        """One request on a thread of its own, so that a server trickling bytes
        cannot hold the attempt past its budget (socket time-outs are per read)."""
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["value"] = self._fetch_blocking(check, budget)
            except BaseException as exc:  # handed to the caller below
                box["error"] = exc

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(budget + JOIN_GRACE)  # socket time-outs report first when they apply
        if worker.is_alive():
            raise TimeoutError
        if "error" in box:
            raise box["error"]
        result: tuple[int, Mapping[str, str], bytes, float] = box["value"]
        return result

    def _fetch_blocking(
        self, check: Check, budget: float
    ) -> tuple[int, Mapping[str, str], bytes, float]:
        t0 = self.clock()
        with _RedirectGuard(check.headers, self.timing.redirect_allowed_hosts) as session:
            session.max_redirects = self.timing.max_redirects
            response = session.request(
                check.method,
                check.url,
                headers=dict(check.headers),
                data=check.body.encode() if check.body is not None else None,
                timeout=(budget, budget),
                stream=True,
                verify=self.timing.verify_tls,
                allow_redirects=True,
            )
            try:
                body = response.content
            finally:
                response.close()
        latency = (self.clock() - t0) * 1000
        return response.status_code, response.headers, body, latency

    def _judge(
        self, check: Check, status: int, headers: Mapping[str, str], body: bytes, latency: float
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


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "…"


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    if (
        "NameResolutionError" in text
        or "Name or service not known" in text
        or "nodename nor servname" in text
        or "Temporary failure in name resolution" in text
    ):
        return "DNS name does not resolve"
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return "connection refused"
    if "Connection reset" in text or "RemoteDisconnected" in text or "ConnectionResetError" in text:
        return "connection reset"
    if "timed out" in text.lower():
        return "timed out"
    return f"connection failed ({_short(exc)})"


def latency_summary(results: list[CheckResult]) -> dict[str, float | None]:
    values = [a.latency_ms for r in results for a in r.attempts if a.latency_ms is not None]
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "count": float(len(values)),
    }
