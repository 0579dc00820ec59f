"""A small client of GitHub's REST API (`GITHUB_API_URL`): only what actions need."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from http.client import HTTPMessage
from typing import IO, Any
from urllib.parse import urlsplit

from ci_actions.errors import EnvironmentFailure

API_VERSION = "2022-11-28"


class GitHubApiError(EnvironmentFailure):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message, hint="check the token's permissions and GITHUB_API_URL")
        self.status = status


def get_json(url: str, token: str, *, timeout: float, user_agent: str = "ci-actions") -> Any:
    """One GET of GitHub's REST API with the standard library: no session to set up.

    The same headers as GitHubRest; `timeout` bounds the connection and each
    read, as requests' does. Redirects are followed, the token only within
    the origin (scheme, host, port) it was given for, as requests does. Any
    failure (connection, HTTP >= 400, a body that is not JSON) is GitHubApiError.
    """
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": user_agent,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    opener = urllib.request.build_opener(_SameOriginAuth())
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        detail = f"HTTP {exc.code} {_message(exc)}".strip()
        raise GitHubApiError(f"GET {url}: {detail}", exc.code) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise GitHubApiError(f"GET {url}: {getattr(exc, 'reason', exc)}") from None
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise GitHubApiError(f"GET {url}: the answer is not JSON") from None


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return ""
    return str(data.get("message", "")) if isinstance(data, dict) else ""


class _SameOriginAuth(urllib.request.HTTPRedirectHandler):
    """Follow a redirect; drop Authorization when it leaves the origin."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        old, moved = urlsplit(req.full_url), urlsplit(newurl)
        if new is not None and (old.scheme, old.hostname, old.port) != (
            moved.scheme,
            moved.hostname,
            moved.port,
        ):
            new.remove_header("Authorization")
        return new


class GitHubRest:
    def __init__(self, api_url: str, token: str, *, timeout: float = 30) -> None:
        import requests

        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "ci-actions",
            }
        )
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        url = f"{self.api_url}/{path.lstrip('/')}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise GitHubApiError(f"{method} {url}: {exc}") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("message", "")
            except ValueError:
                detail = response.text[:200]
            raise GitHubApiError(
                f"{method} {url}: HTTP {response.status_code} {detail}".strip(),
                response.status_code,
            )
        return response.json() if response.content else None

    # -- pull requests ---------------------------------------------------------
    def find_pull(self, repo: str, head_branch: str, base: str) -> dict[str, Any] | None:
        """The open pull request from `head_branch` (of `repo` itself) into `base`."""
        owner = repo.split("/", 1)[0]
        pulls = self.request(
            "GET",
            f"repos/{repo}/pulls",
            params={"state": "open", "head": f"{owner}:{head_branch}", "base": base},
        )
        return dict(pulls[0]) if pulls else None

    def open_or_update_pull(
        self, repo: str, head_branch: str, base: str, title: str, body: str
    ) -> tuple[dict[str, Any], bool]:
        """(pull request, created): one pull request per head branch, updated in place."""
        existing = self.find_pull(repo, head_branch, base)
        if existing is not None:
            number = existing["number"]
            updated = self.request(
                "PATCH", f"repos/{repo}/pulls/{number}", json={"title": title, "body": body}
            )
            return dict(updated), False
        created = self.request(
            "POST",
            f"repos/{repo}/pulls",
            json={"title": title, "body": body, "head": head_branch, "base": base},
        )
        return dict(created), True
