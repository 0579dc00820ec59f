"""Where the event context and repository data come from (the I/O edge of `tags`).

`workflow`: the GitHub event (GITHUB_* variables and the payload file), the
commit date from the payload or the REST API. `git`: the local checkout
(ref, sha, commit date, default branch, origin URL), so tags can be computed
on a laptop with no GITHUB_* variables. Repository data for the OCI labels
comes from `GET /repos/{owner}/{repo}` and falls back, with a warning, to
what the event (or the checkout) knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ci_actions.github.context import Context
from ci_actions.tags.meta import EventContext, RepoInfo

if TYPE_CHECKING:
    from ci_actions.git import Git

API_TIMEOUT = 10.0
_GITHUB_URL = re.compile(r"github\.com[:/]+([^/]+)/([^/]+?)(?:\.git)?/?$")


def parse_date(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class GitHubApi:
    """The two REST calls the action makes; every failure is a warning and None."""

    def __init__(self, ctx: Context, token: str) -> None:
        self.ctx = ctx
        self.token = token
        self.base = ctx.github.api_url.rstrip("/")

    def get(self, path: str) -> Mapping[str, Any] | None:
        from ci_actions.github.rest import GitHubApiError, get_json

        url = f"{self.base}{path}"
        try:
            data = get_json(
                url, self.token, timeout=API_TIMEOUT, user_agent="ci-actions-image-tags"
            )
        except GitHubApiError as exc:
            self.ctx.log.debug(str(exc))
            return None
        return data if isinstance(data, Mapping) else None


def workflow_context(ctx: Context, api: GitHubApi | None) -> EventContext:
    gh = ctx.github
    payload: Mapping[str, Any] = gh.event
    ref, sha = gh.ref, gh.sha
    if "pull_request_target" in gh.event_name:
        # The target event runs on the base branch: tag the pull request's merge ref.
        ref = f"refs/pull/{payload.get('number')}/merge"
    if re.search("true", ctx.environ.get("DOCKER_METADATA_PR_HEAD_SHA", ""), re.IGNORECASE):
        pr = payload.get("pull_request")
        head = pr.get("head") if isinstance(pr, Mapping) else None
        if "pull_request" in gh.event_name and isinstance(head, Mapping) and head.get("sha"):
            sha = str(head["sha"])
    return EventContext(gh.event_name, ref, sha, payload, _commit_date(ctx, payload, sha, api))


def _commit_date(
    ctx: Context, payload: Mapping[str, Any], sha: str, api: GitHubApi | None
) -> datetime:
    commits = payload.get("commits")
    if isinstance(commits, list):
        for commit in commits:
            if isinstance(commit, Mapping) and commit.get("id") == sha:
                date = parse_date(str(commit.get("timestamp") or ""))
                if date:
                    return date
    head = payload.get("head_commit")
    if isinstance(head, Mapping) and head.get("id") == sha:
        date = parse_date(str(head.get("timestamp") or ""))
        if date:
            return date
    if api is not None and ctx.github.repository and sha:
        data = api.get(f"/repos/{ctx.github.repository}/commits/{sha}")
        committer = ((data or {}).get("commit") or {}).get("committer") or {}
        date = parse_date(str(committer.get("date") or ""))
        if date:
            return date
    return ctx.now()


def repo_from_event(payload: Mapping[str, Any]) -> RepoInfo:
    repo = payload.get("repository")
    return RepoInfo.from_json(repo) if isinstance(repo, Mapping) else RepoInfo()


def fetch_repo(ctx: Context, api: GitHubApi, fallback: RepoInfo) -> RepoInfo:
    repository = ctx.github.repository
    if not repository:
        return fallback
    data = api.get(f"/repos/{repository}")
    if data is None:
        ctx.log.warning(
            f"could not read repository data of {repository} from {api.base}; "
            "the OCI labels use what the event holds"
        )
        return fallback
    return RepoInfo.from_json(data)


# -- the local checkout -----------------------------------------------------------


def git_ref(git: Git) -> str:
    """The checked-out ref; on a detached HEAD, read from its decorations as the anchor does."""
    head = git.run("symbolic-ref", "-q", "HEAD", ok_codes=None)
    if head.returncode == 0 and head.stdout.strip():
        return head.stdout.strip()
    decorations = git.run("show", "-s", "--pretty=%D", "HEAD", ok_codes=None).stdout.strip()
    decorations = decorations.removeprefix("grafted, ").strip()
    if decorations == "HEAD":
        return _containing_ref(git)
    match = re.match(r"^HEAD, (.*)$", decorations)
    if not match:
        return ""
    names = match.group(1).strip()
    if names.startswith("tag: "):
        return _tag_at_head(git, names)
    if re.match(r"^pull/\d+/(head|merge)$", names):
        return f"refs/{names}"
    for pattern in (r"^[^/]+/[^/]+, (.+)$", r"^[^/]+/(.+)$"):
        branch = re.match(pattern, names)
        if branch:
            return f"refs/heads/{branch.group(1).strip()}"
    return ""


def _lines(git: Git, *args: str) -> list[str]:
    out = git.run(*args, ok_codes=None).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def _tag_at_head(git: Git, decorations: str) -> str:
    tags = _lines(git, "for-each-ref", "--format=%(refname)", "--points-at", "HEAD", "refs/tags/")
    tags.sort(key=len, reverse=True)
    for ref in tags:
        label = f"tag: {ref.removeprefix('refs/tags/')}"
        if decorations == label or decorations.startswith(f"{label}, "):
            return ref
    return tags[0] if len(tags) == 1 else ""


def _containing_ref(git: Git) -> str:
    """A detached HEAD with no ref on it: the newest branch, remote branch or tag holding it."""
    for prefix in ("refs/heads/", "refs/remotes/"):
        refs = _lines(
            git,
            "for-each-ref",
            "--format=%(refname)",
            "--contains",
            "HEAD",
            "--sort=-committerdate",
            prefix,
        )
        if refs and prefix == "refs/heads/":
            return refs[0]
        if refs:
            remote = re.match(r"^refs/remotes/[^/]+/(.+)$", refs[0])
            return f"refs/heads/{remote.group(1)}" if remote else refs[0]
    tags = _lines(git, "tag", "--contains", "HEAD")
    return f"refs/tags/{tags[0]}" if tags else ""


def git_default_branch(git: Git) -> str:
    listed = git.run(
        "for-each-ref",
        "--format=%(refname) %(symref)",
        "refs/remotes/origin/HEAD",
        "refs/heads/main",
        "refs/heads/master",
        ok_codes=None,
    ).stdout.splitlines()
    found = dict(line.partition(" ")[::2] for line in listed)
    target = found.get("refs/remotes/origin/HEAD", "")
    if target.startswith("refs/remotes/origin/"):
        return target.removeprefix("refs/remotes/origin/")
    for name in ("main", "master"):
        if f"refs/heads/{name}" in found:
            return name
    configured = git.run("config", "--get", "init.defaultBranch", ok_codes=None).stdout.strip()
    return configured or "main"


def git_context(ctx: Context, git: Git) -> tuple[EventContext, RepoInfo]:
    """The event as the checkout describes it, and what it knows of the repository."""
    info = git.run("show", "-s", "--format=%H%n%cI", "HEAD", ok_codes=None)
    if info.returncode != 0:
        return EventContext(ctx.github.event_name, "", "", ctx.github.event, ctx.now()), RepoInfo()
    sha, _, date = info.stdout.strip().partition("\n")
    default_branch = git_default_branch(git)
    payload: dict[str, Any] = dict(ctx.github.event)
    repo_data = dict(payload.get("repository") or {})
    repo_data.setdefault("default_branch", default_branch)
    payload["repository"] = repo_data
    event = EventContext(
        ctx.github.event_name, git_ref(git), sha, payload, parse_date(date) or ctx.now()
    )
    return event, _repo_from_checkout(git, repo_data)


def _repo_from_checkout(git: Git, known: Mapping[str, Any]) -> RepoInfo:
    if known.get("name"):
        return RepoInfo.from_json(known)
    url = git.run("config", "--get", "remote.origin.url", ok_codes=None).stdout.strip()
    match = _GITHUB_URL.search(url)
    if match:
        owner, name = match.group(1), match.group(2)
        html = f"https://github.com/{owner}/{name}"
        return RepoInfo(name=name, html_url=html, default_branch=str(known["default_branch"]))
    name = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") if url else git.toplevel().name
    return RepoInfo(name=name, default_branch=str(known["default_branch"]))
