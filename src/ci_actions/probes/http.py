"""HTTP checks, the network part: attempts with retries within one time budget.

Checks are retried until each has passed `success-threshold` times in a
row, within one total budget; connection refused or reset, time-outs and
5xx are retried, as is an answer that does not (yet) meet the expectations
(the old version may still be serving); a TLS failure or a redirect loop
ends the check at once, since retrying cannot fix them. No attempt outlives
the budget: each is capped at `attempt-timeout` and at what is left of the
budget, body reads included. What an answer must be is
`ci_actions.probes.checks`.

A redirect to another origin (scheme, host or port) goes without any header
the check set and without cookies, unless its host is one the workflow allows;
a redirect from https to http never keeps them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests  # only health-probe imports this module

from ci_actions.probes.checks import (
    Attempt,
    Check,
    CheckResult,
    Timing,
    judge,
    redirect_keeps_headers,
)

JOIN_GRACE = 0.2


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
                result.reason = attempt.message
                limit = self.timing.failure_threshold
                if attempt.fatal or (limit and misses[id(result)] >= limit):
                    if not attempt.fatal:
                        result.reason = (
                            f"{limit} failed attempt(s) in a row; last: {attempt.message}"
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
        fatal = False
        try:
            status, headers, body, latency = self._fetch(check, budget)
            reason, version = judge(check, status, headers, body, latency)
        except requests.exceptions.SSLError as exc:
            fatal = True
            reason = f"TLS verification failed ({_short(exc)}); set insecure: true only for a test endpoint"
        except requests.exceptions.TooManyRedirects:
            fatal = True
            reason = f"more than {self.timing.max_redirects} redirects (a redirect loop?)"
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
            fatal = True
            reason = f"invalid URL ({_short(exc)})"
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
        return Attempt(
            check.label, began - start, reason == "", status, latency, reason, version, fatal
        )

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
