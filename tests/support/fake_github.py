"""A fake of GitHub's REST API over real HTTP on 127.0.0.1, for tests.

Covers what the actions and workflow templates use: repositories (get; the
full repository JSON can be given, as image-tags reads its description and
license), commits (get, with the committer date), pull requests (list with state/head/base filters, get, create, update) and
issues (list with state/labels filters, get, create, update, comments).
Behaves as GitHub does where it matters to a client: issue and pull request
numbers share one sequence per repository, pull requests also list as issues
(with a `pull_request` key), a second open pull request for the same head and
base is a 422, unknown repositories and numbers are 404, a wrong token is
401, lists are newest first and paginated with a `Link` header.

    with FakeGitHub(token="t") as gh:
        gh.add_repo("acme/gitops", remote=bare_repo_path)
        ... GITHUB_API_URL=gh.url ...
        gh.pulls("acme/gitops")

    with serve(FakeGitHub(repos={"acme/app": repo_json("acme/app")})) as gh:
        ... gh.requests (path, lower-cased headers) ...; gh.fail_status = 500
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

SERVER_URL = "https://github.example"
DOCS = "https://docs.github.com/rest"


@dataclass
class Repo:
    full_name: str
    default_branch: str = "main"
    remote: Path | None = None  # a git repo whose branches pull requests must name
    items: dict[int, dict[str, Any]] = field(default_factory=dict)  # issues and pulls by number
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0


class _Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGitHub:
    def __init__(
        self,
        token: str = "",
        *,
        repos: Mapping[str, dict[str, Any]] | None = None,
        commit_dates: Mapping[str, str] | None = None,
    ) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.repo_data: dict[str, dict[str, Any]] = dict(repos or {})  # served as given
        self.commit_dates: dict[str, str] = dict(commit_dates or {})  # sha -> committer date
        self.fail_status = 0  # when set, every request answers with this status
        self.requests: list[tuple[str, dict[str, str]]] = []  # path, lower-cased headers
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._ids = 1000
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        for full_name, data in self.repo_data.items():
            self.add_repo(full_name, str(data.get("default_branch") or "main"))

    # -- lifecycle -------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- test helpers ----------------------------------------------------------
    def add_repo(
        self, full_name: str, default_branch: str = "main", remote: Path | None = None
    ) -> Repo:
        repo = Repo(full_name, default_branch, remote)
        self.repos[full_name] = repo
        return repo

    def pulls(self, full_name: str) -> list[dict[str, Any]]:
        return [i for i in self.repos[full_name].items.values() if "head" in i]

    def issues(self, full_name: str) -> list[dict[str, Any]]:
        return [i for i in self.repos[full_name].items.values() if "head" not in i]

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        return list(self.repos[full_name].comments.get(number, []))

    # -- HTTP ------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                call = Call(method, parts.path, parse_qs(parts.query), None)
                status, body, headers = 500, {"message": "fake: unhandled"}, {}
                fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                try:
                    if fake.fail_status:
                        raise _Reply(fake.fail_status, {"message": "Server Error"})
                    try:
                        call.body = json.loads(raw) if raw else None
                    except json.JSONDecodeError:
                        raise _Reply(400, {"message": "Problems parsing JSON"}) from None
                    fake._authorize(self.headers.get("Authorization", ""))
                    with fake._lock:
                        result = fake._route(method, parts.path, call.query, call.body)
                    status, body = result if isinstance(result, tuple) else (200, result)
                except _Reply as reply:
                    status, body, headers = reply.status, reply.body, reply.headers
                call.status = status
                fake.calls.append(call)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

        return Handler

    def _authorize(self, header: str) -> None:
        if not self.token:
            return
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("bearer", "token") or value != self.token:
            raise _Reply(401, {"message": "Bad credentials", "documentation_url": DOCS})

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        segs = [s for s in path.split("/") if s]
        if len(segs) < 3 or segs[0] != "repos":
            raise _Reply(404, {"message": "Not Found", "documentation_url": DOCS})
        repo = self.repos.get(f"{segs[1]}/{segs[2]}")
        if repo is None:
            raise _Reply(404, {"message": "Not Found", "documentation_url": DOCS})
        rest = segs[3:]
        q = {k: v[-1] for k, v in query.items()}
        match (method, rest):
            case ("GET", []):
                return self.repo_data.get(repo.full_name) or self._repo_json(repo)
            case ("GET", ["commits", sha]) if sha in self.commit_dates:
                date = self.commit_dates[sha]
                return {"sha": sha, "commit": {"committer": {"name": "t", "date": date}}}
            case ("GET", ["pulls"]):
                return self._page(self._list_pulls(repo, q), q, path)
            case ("POST", ["pulls"]):
                return 201, self._create_pull(repo, body or {})
            case ("GET", ["pulls", n]):
                return self._item(repo, n, pull=True)
            case ("PATCH", ["pulls", n]):
                return self._update(repo, n, body or {}, pull=True)
            case ("GET", ["issues"]):
                return self._page(self._list_issues(repo, q), q, path)
            case ("POST", ["issues"]):
                return 201, self._create_issue(repo, body or {})
            case ("GET", ["issues", n]):
                return self._item(repo, n, pull=False)
            case ("PATCH", ["issues", n]):
                return self._update(repo, n, body or {}, pull=False)
            case ("GET", ["issues", n, "comments"]):
                self._item(repo, n, pull=False)
                return self._page(list(repo.comments.get(int(n), [])), q, path)
            case ("POST", ["issues", n, "comments"]):
                return 201, self._comment(repo, n, body or {})
        raise _Reply(404, {"message": "Not Found", "documentation_url": DOCS})

    # -- resources -------------------------------------------------------------
    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _repo_json(self, repo: Repo) -> dict[str, Any]:
        owner, name = repo.full_name.split("/")
        return {
            "id": abs(hash(repo.full_name)) % 10**8,
            "name": name,
            "full_name": repo.full_name,
            "owner": {"login": owner},
            "default_branch": repo.default_branch,
            "html_url": f"{SERVER_URL}/{repo.full_name}",
            "url": f"{self.url}/repos/{repo.full_name}",
            "private": True,
        }

    @staticmethod
    def _invalid(message: str, field_name: str = "", code: str = "custom") -> _Reply:
        error = {"resource": "PullRequest", "code": code, "message": message}
        if field_name:
            error["field"] = field_name
        return _Reply(
            422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS}
        )

    def _branch_exists(self, repo: Repo, branch: str) -> bool:
        if repo.remote is None:
            return True
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=repo.remote,
            capture_output=True,
        )
        return done.returncode == 0

    def _branch_sha(self, repo: Repo, branch: str) -> str:
        if repo.remote is None:
            return ""
        done = subprocess.run(
            ["git", "rev-parse", f"refs/heads/{branch}"],
            cwd=repo.remote,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def _create_pull(self, repo: Repo, body: dict[str, Any]) -> dict[str, Any]:
        for key in ("head", "base"):
            if not body.get(key):
                raise self._invalid(f"{key} is missing", key, "missing_field")
        if not body.get("title") and not body.get("issue"):
            raise self._invalid("title is missing", "title", "missing_field")
        owner = repo.full_name.split("/")[0]
        head = str(body["head"]).removeprefix(f"{owner}:")
        base = str(body["base"])
        if head == base:
            raise self._invalid(f"No commits between {base} and {head}")
        if not self._branch_exists(repo, head):
            raise self._invalid("head invalid", "head", "invalid")
        if not self._branch_exists(repo, base):
            raise self._invalid("base invalid", "base", "invalid")
        for item in self.pulls(repo.full_name):
            if (
                item["state"] == "open"
                and item["head"]["ref"] == head
                and item["base"]["ref"] == base
            ):
                raise self._invalid(f"A pull request already exists for {owner}:{head}.")
        item = self._new_item(repo, body, pull=True)
        item |= {
            "head": {"ref": head, "label": f"{owner}:{head}", "sha": self._branch_sha(repo, head)},
            "base": {"ref": base, "label": f"{owner}:{base}", "sha": self._branch_sha(repo, base)},
            "draft": bool(body.get("draft", False)),
            "merged": False,
        }
        return item

    def _new_item(self, repo: Repo, body: dict[str, Any], *, pull: bool) -> dict[str, Any]:
        number = len(repo.items) + 1
        kind = "pull" if pull else "issues"
        item = {
            "id": self._next_id(),
            "number": number,
            "state": "open",
            "title": str(body.get("title", "")),
            "body": body.get("body"),
            "labels": [{"name": str(n)} for n in body.get("labels", [])],
            "assignees": [{"login": str(n)} for n in body.get("assignees", [])],
            "user": {"login": "github-actions[bot]"},
            "html_url": f"{SERVER_URL}/{repo.full_name}/{kind}/{number}",
            "url": f"{self.url}/repos/{repo.full_name}/{'pulls' if pull else 'issues'}/{number}",
            "created_at": _now(),
            "updated_at": _now(),
            "closed_at": None,
            "comments": 0,
        }
        repo.items[number] = item
        return item

    def _create_issue(self, repo: Repo, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("title"):
            raise self._invalid("title is missing", "title", "missing_field")
        return self._new_item(repo, body, pull=False)

    def _item(self, repo: Repo, number: str, *, pull: bool) -> dict[str, Any]:
        item = repo.items.get(int(number)) if number.isdigit() else None
        if item is None or (pull and "head" not in item):
            raise _Reply(404, {"message": "Not Found", "documentation_url": DOCS})
        return self._as_issue(item) if not pull else item

    @staticmethod
    def _as_issue(item: dict[str, Any]) -> dict[str, Any]:
        if "head" not in item:
            return item
        view = {k: v for k, v in item.items() if k not in ("head", "base", "draft", "merged")}
        view["pull_request"] = {"url": item["url"], "html_url": item["html_url"]}
        return view

    def _update(
        self, repo: Repo, number: str, body: dict[str, Any], *, pull: bool
    ) -> dict[str, Any]:
        self._item(repo, number, pull=pull)
        item = repo.items[int(number)]
        if "state" in body:
            if body["state"] not in ("open", "closed"):
                raise self._invalid("state is not open or closed", "state", "invalid")
            item["state"] = body["state"]
            item["closed_at"] = _now() if body["state"] == "closed" else None
        for key in ("title", "body"):
            if key in body:
                item[key] = body[key]
        if "labels" in body and not pull:
            item["labels"] = [{"name": str(n)} for n in body["labels"]]
        if "base" in body and pull:
            item["base"] = {**item["base"], "ref": body["base"]}
        item["updated_at"] = _now()
        return self._as_issue(item) if not pull else item

    def _comment(self, repo: Repo, number: str, body: dict[str, Any]) -> dict[str, Any]:
        self._item(repo, number, pull=False)
        if not body.get("body"):
            raise self._invalid("body is missing", "body", "missing_field")
        comment = {
            "id": self._next_id(),
            "body": body["body"],
            "user": {"login": "github-actions[bot]"},
            "html_url": f"{repo.items[int(number)]['html_url']}#issuecomment-{self._ids}",
            "created_at": _now(),
        }
        repo.comments.setdefault(int(number), []).append(comment)
        repo.items[int(number)]["comments"] += 1
        return comment

    def _list_pulls(self, repo: Repo, q: dict[str, str]) -> list[dict[str, Any]]:
        state = q.get("state", "open")
        owner = repo.full_name.split("/")[0]
        found = []
        for item in reversed(self.pulls(repo.full_name)):  # newest first
            if state != "all" and item["state"] != state:
                continue
            if (
                "head" in q
                and item["head"]["label"] != q["head"]
                and q["head"] != f"{owner}:{item['head']['ref']}"
            ):
                continue
            if "base" in q and item["base"]["ref"] != q["base"]:
                continue
            found.append(item)
        return found

    def _list_issues(self, repo: Repo, q: dict[str, str]) -> list[dict[str, Any]]:
        state = q.get("state", "open")
        wanted = {n for n in q.get("labels", "").split(",") if n}
        found = []
        for item in reversed(list(repo.items.values())):
            if state != "all" and item["state"] != state:
                continue
            if wanted - {label["name"] for label in item["labels"]}:
                continue
            found.append(self._as_issue(item))
        return found

    def _page(self, items: list[dict[str, Any]], q: dict[str, str], path: str) -> Any:
        per_page = min(int(q.get("per_page", 30)), 100)
        page = max(int(q.get("page", 1)), 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        if page * per_page >= len(items):
            return chunk
        query = urlencode({**q, "page": page + 1, "per_page": per_page})
        raise _Reply(200, chunk, {"Link": f'<{self.url}{path}?{query}>; rel="next"'})


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A running fake (no token check); use FakeGitHub(token=...) directly for auth tests."""
    with FakeGitHub() as fake:
        yield fake


@contextmanager
def serve(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    """Run `fake` for the duration of the block."""
    with fake:
        yield fake


def repo_json(
    full_name: str = "octocat/Hello-World",
    *,
    description: str | None = "This your first repo!",
    license_id: str | None = "MIT",
    default_branch: str = "master",
) -> dict[str, Any]:
    """Repository data as `GET /repos/{owner}/{repo}` returns it (the fields used)."""
    owner, name = full_name.split("/", 1)
    return {
        "id": 1296269,
        "name": name,
        "full_name": full_name,
        "owner": {"login": owner},
        "private": False,
        "html_url": f"https://github.com/{full_name}",
        "description": description,
        "default_branch": default_branch,
        "license": {"key": license_id.lower(), "spdx_id": license_id} if license_id else None,
    }
