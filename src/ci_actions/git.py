"""The git wrapper: every git call goes through Git.run (and so through proc.run).

A value that comes from an input or from data (a ref, a SHA, a remote, a
pattern) always follows `--end-of-options` (or `--` for paths), so no value
can ever be read as an option: `--upload-pack=...` stays a (bad) ref name.

Commits never depend on a git identity configured on the runner, and a
token reaches git through environment-only config (never argv, never
.git/config). No GIT_* variable of the caller's environment reaches git
(GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, GIT_CONFIG_* ... as a git hook or a
wrapping script would set them): every call acts on its own repository with
only the variables the wrapper sets itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ci_actions import grammar, proc
from ci_actions.errors import ConfigError, EnvironmentFailure

ZERO_SHA = "0" * 40
DEFAULT_AUTHOR_NAME = "github-actions[bot]"
DEFAULT_AUTHOR_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
_SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def repository_url(repository: str, server_url: str) -> str:
    """A clone URL: OWNER/NAME means a repository on the GitHub server, anything else is a URL."""
    if _SLUG.match(repository):
        return f"{server_url.rstrip('/')}/{repository}.git"
    return repository


def repository_slug(repository: str, fallback: str) -> str:
    """OWNER/NAME of the repository for the GitHub API."""
    if not repository:
        return fallback
    if _SLUG.match(repository):
        return repository
    parts = [p for p in re.split(r"[/:]", repository.rstrip("/")) if p]
    if len(parts) < 2:
        return fallback
    return f"{parts[-2]}/{parts[-1].removesuffix('.git')}"


INHERITED_GIT_ENV = ("GIT_",)  # prefixes of the caller's variables git never sees
EOO = "--end-of-options"  # git >= 2.24: every argument after it is an operand


def check_ref(name: str, what: str) -> str:
    """The name when git would accept it as a branch name, else ConfigError (exit 2)."""
    error = grammar.ref_error(name)
    if error:
        raise ConfigError(f"{what} {name!r} {error}", hint="give a valid git branch name")
    return name


def check_sha(value: str, what: str) -> str:
    """The value when it is a hex commit SHA (7-64 digits), else ConfigError (exit 2)."""
    error = grammar.sha_error(value)
    if error:
        raise ConfigError(f"{what} {value!r} {error}")
    return value


@dataclass(frozen=True)
class Identity:
    name: str = DEFAULT_AUTHOR_NAME
    email: str = DEFAULT_AUTHOR_EMAIL

    def env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


# A remote that accepts the connection and then sends (or takes) less than
# STALL_BYTES_PER_SECOND for STALL_SECONDS fails instead of hanging the step;
# git's error then names the URL ("unable to access '<url>': Operation too slow").
STALL_SECONDS = 60
STALL_BYTES_PER_SECOND = 1


def token_config(token: str) -> list[tuple[str, str]]:
    """An HTTP Authorization header for git, as a config pair."""
    if not token:
        return []
    import base64

    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return [("http.extraHeader", f"Authorization: basic {basic}")]


def network_bounds() -> list[tuple[str, str]]:
    """HTTP low-speed limits: a hung remote fails in bounded time."""
    return [
        ("http.lowSpeedLimit", str(STALL_BYTES_PER_SECOND)),
        ("http.lowSpeedTime", str(STALL_SECONDS)),
    ]


def config_env(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Config for git through GIT_CONFIG_* variables (never argv, never .git/config)."""
    env = {"GIT_CONFIG_COUNT": str(len(pairs))} if pairs else {}
    for index, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def token_env(token: str) -> dict[str, str]:
    """The token's Authorization header alone, through GIT_CONFIG_* variables."""
    return config_env(token_config(token))


class Git:
    def __init__(
        self,
        repo: str | Path,
        *,
        identity: Identity | None = None,
        token: str = "",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.repo = Path(repo)
        self._env = {
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            **(identity or Identity()).env(),
            **config_env([*network_bounds(), *token_config(token)]),
            **(env or {}),
        }

    def run(
        self,
        *args: str,
        ok_codes: Sequence[int] | None = (0,),
        stdin: str | None = None,
        timeout: float | None = 300,
    ) -> proc.Completed:
        return proc.run(
            ["git", *args],
            cwd=self.repo,
            extra_env=self._env,
            drop_env=INHERITED_GIT_ENV,
            ok_codes=ok_codes,
            stdin=stdin,
            timeout=timeout,
            what=f"git {args[0]} failed in {self.repo}" if args else "",
        )

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def ok(self, *args: str) -> bool:
        return self.run(*args, ok_codes=None).returncode == 0

    # -- queries ---------------------------------------------------------------
    def is_repo(self) -> bool:
        return self.ok("rev-parse", "--git-dir")

    def toplevel(self) -> Path:
        return Path(self.out("rev-parse", "--show-toplevel"))

    def rev_parse(self, rev: str) -> str:
        return self.out("rev-parse", "--verify", "--quiet", EOO, f"{rev}^{{commit}}")

    def has_commit(self, rev: str) -> bool:
        return self.ok("cat-file", "-e", EOO, f"{rev}^{{commit}}")

    def is_shallow(self) -> bool:
        return self.out("rev-parse", "--is-shallow-repository") == "true"

    def current_branch(self) -> str:
        return self.out("branch", "--show-current")

    def remotes(self) -> list[str]:
        return self.out("remote").split()

    def merge_base(self, a: str, b: str) -> str | None:
        result = self.run("merge-base", EOO, a, b, ok_codes=None)
        return result.stdout.strip() if result.returncode == 0 else None

    def changed_files(self, base: str, head: str) -> list[str]:
        """Paths changed from base to head (renames as delete + add, so both count)."""
        text = self.out("diff", "--name-only", "--no-renames", "-z", EOO, base, head)
        return [p for p in text.split("\0") if p]

    def files_in_commit(self, rev: str) -> list[str]:
        text = self.out("show", "--name-only", "--no-renames", "--format=", "-z", EOO, rev)
        return [p for p in text.split("\0") if p]

    def commit_date(self, rev: str = "HEAD") -> str:
        return self.out("show", "-s", "--format=%cI", EOO, rev)

    def fetch_branch(self, remote: str, branch: str) -> bool:
        """Fetch a branch head into FETCH_HEAD; False when the branch does not exist yet."""
        check_ref(branch, "branch")
        result = self.run("fetch", "--quiet", "--no-tags", EOO, remote, branch, ok_codes=None)
        if result.returncode == 0:
            return True
        if "couldn't find remote ref" in result.stderr:
            return False
        raise EnvironmentFailure(f"git fetch {remote} {branch} failed: {result.stderr.strip()}")

    def status_porcelain(self) -> str:
        return self.out("status", "--porcelain")
