"""A small client of GitHub's REST API (`GITHUB_API_URL`): only what actions need."""

from __future__ import annotations

from typing import Any

from ci_actions.errors import EnvironmentFailure

API_VERSION = "2022-11-28"


class GitHubApiError(EnvironmentFailure):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message, hint="check the token's permissions and GITHUB_API_URL")
        self.status = status


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
