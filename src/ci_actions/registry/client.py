"""A small OCI distribution API client over requests.

Speaks to one registry host: manifests (GET/HEAD/PUT with every manifest
type accepted), blob HEAD and cross-repository mount, tag lists. Auth:
anonymous, basic, and the bearer-token challenge flow (a token per scope,
fetched from the realm the registry names). `insecure` means a plain-http
or self-signed registry: https without verification first, then http.

Credentials go to the registry's own host only, and to a token server only
over https (or over plain http on the registry's own host when the registry is
an insecure one); a realm elsewhere over plain http is refused, naming it.

Transient failures (a 5xx, a 429, a connection reset mid-call) are tried
again with capped exponential backoff and jitter (`Retry`); a 429 or 503
that names a Retry-After is honoured up to a cap. What the registry said on
the last failure (its error JSON or the first 200 characters of its body)
ends up in the error message.
"""

from __future__ import annotations

import json
import random
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import urllib3

from ci_actions.errors import EnvironmentFailure
from ci_actions.registry.auth import (
    Challenge,
    Credentials,
    may_send_credentials,
    parse_challenge,
    same_host,
)
from ci_actions.registry.manifest import ACCEPT, Manifest, sha256_digest

DEFAULT_TIMEOUT = 30.0
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Retry:
    """How often and how patiently a transient failure is tried again."""

    attempts: int = 5  # tries in all, the first included
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After is cut to this
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try `attempt + 1` (attempt counts from 1)."""
        if retry_after is not None:
            return min(self.max_retry_after, max(0.0, retry_after))
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return backoff * (0.5 + self.rng.random())  # jitter so parallel jobs spread out


def retry_after_seconds(value: str, now: Callable[[], float] = time.time) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds; None when absent or unreadable."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return parsedate_to_datetime(value).timestamp() - now()
    except (TypeError, ValueError, IndexError):
        return None


class RegistryError(EnvironmentFailure):
    """The registry answered with an error (its own message is kept)."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RegistryUnreachable(RegistryError):
    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient  # the connection broke mid-call: worth another try


class AuthFailed(RegistryError):
    pass


class NotFound(RegistryError):
    pass


def registry_message(resp: requests.Response) -> tuple[str, str]:
    """(code, message): the status line and what the registry said about it.

    The OCI `{"errors": [{"code", "message", "detail"}]}` body when there is
    one, else the first 200 characters of the body's first line.
    """
    status = f"HTTP {resp.status_code} {resp.reason}".rstrip()
    errors = _error_entries(resp)
    if errors:
        first = errors[0]
        code = str(first.get("code", ""))
        detail = first.get("detail")
        extra = f" ({json.dumps(detail)[:200]})" if detail else ""
        said = f"{code}: {first.get('message', '')}{extra}"
        return code, said if resp.status_code < 500 else f"{status}: {said}"
    text = resp.text.strip()
    first_line = text.splitlines()[0][:200] if text else ""
    return "", status + (f": {first_line}" if first_line else "")


def _error_entries(resp: requests.Response) -> list[dict[str, Any]]:
    try:
        body = resp.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [e for e in errors if isinstance(e, dict)]


def pull_scope(repo: str) -> str:
    return f"repository:{repo}:pull"


def push_scope(repo: str) -> str:
    return f"repository:{repo}:pull,push"


class RegistryClient:
    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | None = None,
        insecure: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        retry: Retry | None = None,
    ) -> None:
        self.host = host
        self.retry = retry or Retry()
        self.credentials = credentials
        self.insecure = insecure
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "ci-actions"
        self._scheme = "" if insecure else "https"
        self._basic = False
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], str] = {}

    # -- transport -----------------------------------------------------------
    def _base(self) -> str:
        if not self._scheme:
            self._scheme = self._probe_scheme()
        return f"{self._scheme}://{self.host}"

    def _probe_scheme(self) -> str:
        """https (unverified) when the insecure registry speaks it, else plain http."""
        try:
            self._once("GET", f"https://{self.host}/v2/", {}, None, verify=False)
            return "https"
        except RegistryUnreachable:
            return "http"

    def _raw(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        data: bytes | None,
        *,
        stream: bool = False,
    ) -> requests.Response:
        """One call, tried again on a transient failure; the last answer is returned."""
        attempt = 1
        while True:
            try:
                resp = self._once(method, url, headers, data, stream=stream)
            except RegistryUnreachable as exc:
                if attempt >= self.retry.attempts or not exc.transient:
                    if attempt > 1:
                        exc.message += f" (after {attempt} attempts)"
                        exc.args = (exc.message,)
                    raise
                self.retry.sleep(self.retry.delay(attempt))
                attempt += 1
                continue
            if resp.status_code not in TRANSIENT_STATUS or attempt >= self.retry.attempts:
                return resp
            wait = retry_after_seconds(resp.headers.get("Retry-After", ""))
            resp.close()
            self.retry.sleep(self.retry.delay(attempt, wait))
            attempt += 1

    def _once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        data: bytes | None,
        *,
        verify: bool = True,
        stream: bool = False,
    ) -> requests.Response:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                return self.session.request(
                    method,
                    url,
                    headers=dict(headers),
                    data=data,
                    timeout=self.timeout,
                    verify=verify and not self.insecure,
                    stream=stream,
                )
        except requests.RequestException as exc:
            raise RegistryUnreachable(
                f"registry {self.host} unreachable: {type(exc).__name__}: {exc}",
                transient=_broke_mid_call(exc),
            ) from None

    def request(
        self,
        method: str,
        path: str,
        *,
        scopes: Iterable[str],
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """One call, answering a 401 challenge once with the credentials we have."""
        url = path if path.startswith("http") else self._base() + path
        own = same_host(url, self.host, self._scheme or "http")  # a Location may point elsewhere
        scope_key = tuple(scopes)
        sent = dict(headers or {})
        auth = self._authorization(scope_key) if own else ""
        if auth:
            sent["Authorization"] = auth
        resp = self._raw(method, url, sent, data, stream=stream)
        if resp.status_code != 401 or not own:
            return resp
        if auth and self._challenge and self._challenge.scheme == "basic":
            raise self._auth_failed(resp)
        self._answer(parse_challenge(resp.headers.get("WWW-Authenticate", "")), scope_key, resp)
        sent["Authorization"] = self._authorization(scope_key)
        resp = self._raw(method, url, sent, data, stream=stream)
        if resp.status_code == 401:
            raise self._auth_failed(resp)
        return resp

    # -- auth ----------------------------------------------------------------
    def _authorization(self, scopes: tuple[str, ...]) -> str:
        if self._basic and self.credentials:
            return _basic_header(self.credentials)
        token = self._tokens.get(scopes)
        return f"Bearer {token}" if token else ""

    def _answer(
        self, challenge: Challenge, scopes: tuple[str, ...], resp: requests.Response
    ) -> None:
        self._challenge = challenge
        if challenge.scheme == "basic":
            if not self.credentials:
                raise self._auth_failed(resp, "the registry asks for a username and password")
            self._basic = True
        elif challenge.scheme == "bearer":
            self._tokens[scopes] = self._fetch_token(challenge, scopes)
        else:
            raise self._auth_failed(resp, f"unsupported auth scheme {challenge.scheme!r}")

    def _fetch_token(self, challenge: Challenge, scopes: tuple[str, ...]) -> str:
        realm = challenge.params.get("realm", "")
        if not realm:
            raise AuthFailed(f"registry {self.host}: bearer challenge without a realm", status=401)
        params: list[tuple[str, str]] = []
        if challenge.params.get("service"):
            params.append(("service", challenge.params["service"]))
        params += [("scope", s) for s in scopes]
        headers = {}
        if self.credentials:
            if not may_send_credentials(realm, self.host, insecure=self.insecure):
                raise AuthFailed(
                    f"registry {self.host} names the token server {realm}, which would get the"
                    " credentials in clear text; credentials go only to an https token server,"
                    " or over http to the registry's own host when it is an insecure registry",
                    status=401,
                )
            headers["Authorization"] = _basic_header(self.credentials)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                resp = self.session.get(
                    realm,
                    params=params,
                    headers=headers,
                    timeout=self.timeout,
                    verify=not self.insecure,
                )
        except requests.RequestException as exc:
            raise RegistryUnreachable(f"token server {realm} unreachable: {exc}") from None
        if resp.status_code != 200:
            _, message = registry_message(resp)
            raise AuthFailed(
                f"registry {self.host}: token server refused: {message}", status=resp.status_code
            )
        body = resp.json()
        token = body.get("token") or body.get("access_token") or ""
        if not token:
            raise AuthFailed(f"registry {self.host}: token server sent no token", status=200)
        return str(token)

    def _auth_failed(self, resp: requests.Response, why: str = "") -> AuthFailed:
        code, message = registry_message(resp)
        text = why or message
        return AuthFailed(
            f"registry {self.host}: authentication refused: {text}", status=401, code=code
        )

    # -- API -----------------------------------------------------------------
    def _check(self, resp: requests.Response, what: str, ok: Iterable[int] = (200,)) -> None:
        if resp.status_code in set(ok):
            return
        code, message = registry_message(resp)
        cls = NotFound if resp.status_code == 404 else RegistryError
        if resp.status_code == 403:
            cls = AuthFailed
        raise cls(f"registry {self.host}: {what}: {message}", status=resp.status_code, code=code)

    def ping(self) -> None:
        resp = self.request("GET", "/v2/", scopes=())
        self._check(resp, "GET /v2/")

    def get_manifest(self, repo: str, reference: str) -> Manifest:
        resp = self.request(
            "GET",
            f"/v2/{repo}/manifests/{reference}",
            scopes=[pull_scope(repo)],
            headers={"Accept": ACCEPT},
        )
        self._check(resp, f"manifest {repo}:{reference}")
        body = resp.content
        digest = sha256_digest(body)
        served = resp.headers.get("Docker-Content-Digest", "")
        if served and served != digest:
            raise RegistryError(
                f"registry {self.host}: manifest {repo}:{reference} digest {served} does not match its bytes ({digest})"
            )
        media_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        media_type = json.loads(body).get("mediaType") or media_type
        return Manifest(media_type, body, digest)

    def head_manifest(self, repo: str, reference: str) -> str | None:
        """The digest a tag points at, or None when it does not exist."""
        resp = self.request(
            "HEAD",
            f"/v2/{repo}/manifests/{reference}",
            scopes=[pull_scope(repo)],
            headers={"Accept": ACCEPT},
        )
        if resp.status_code == 404:
            return None
        self._check(resp, f"manifest {repo}:{reference}")
        served = resp.headers.get("Docker-Content-Digest")
        return served or self.get_manifest(repo, reference).digest  # HEAD without the header

    def put_manifest(self, repo: str, reference: str, manifest: Manifest) -> str:
        resp = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            scopes=[push_scope(repo)],
            headers={"Content-Type": manifest.media_type},
            data=manifest.body,
        )
        self._check(resp, f"PUT manifest {repo}:{reference}", ok=(201, 200))
        return resp.headers.get("Docker-Content-Digest", "") or manifest.digest

    def blob_exists(self, repo: str, digest: str) -> bool:
        resp = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scopes=[pull_scope(repo)])
        if resp.status_code == 404:
            return False
        self._check(resp, f"blob {repo}@{digest}")
        return True

    def mount_blob(self, repo: str, digest: str, source_repo: str) -> bool:
        """Cross-repository mount; when the registry declines, copy the blob. True = mounted."""
        scopes = [push_scope(repo), pull_scope(source_repo)]
        resp = self.request(
            "POST",
            f"/v2/{repo}/blobs/uploads/?mount={digest}&from={source_repo}",
            scopes=scopes,
            data=b"",
        )
        self._check(resp, f"mount {digest} from {source_repo} into {repo}", ok=(201, 202))
        if resp.status_code == 201:
            return True
        self._copy_blob(repo, digest, source_repo, resp.headers.get("Location", ""), scopes)
        return False

    def _copy_blob(
        self, repo: str, digest: str, source_repo: str, location: str, scopes: list[str]
    ) -> None:
        got = self.request("GET", f"/v2/{source_repo}/blobs/{digest}", scopes=scopes)
        self._check(got, f"blob {source_repo}@{digest}")
        if not location:
            raise RegistryError(f"registry {self.host}: upload of {digest} gave no Location")
        url = location if location.startswith("http") else self._base() + location
        sep = "&" if "?" in url else "?"
        resp = self.request(
            "PUT",
            f"{url}{sep}digest={digest}",
            scopes=scopes,
            headers={"Content-Type": "application/octet-stream"},
            data=got.content,
        )
        self._check(resp, f"upload {digest} into {repo}", ok=(201,))

    def tags(self, repo: str) -> list[str]:
        resp = self.request("GET", f"/v2/{repo}/tags/list", scopes=[pull_scope(repo)])
        if resp.status_code == 404:
            return []
        self._check(resp, f"tags of {repo}")
        data: dict[str, Any] = resp.json()
        return sorted(data.get("tags") or [])


def _broke_mid_call(exc: requests.RequestException) -> bool:
    """A connection that opened and then broke (reset, closed early): transient.

    Refused, unresolvable, TLS failures and time-outs are not tried again:
    another try would fail the same way, or wait as long again.
    """
    if isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.Timeout)):
        return False
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return not isinstance(reason, urllib3.exceptions.NewConnectionError)


def _basic_header(credentials: Credentials | None) -> str:
    import base64

    if credentials is None:
        return ""
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()
