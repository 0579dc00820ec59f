"""The run's context: GitHub variables, the event payload, the clock and randomness.

Everything time- or chance-dependent enters the cores from here, so cores
stay pure and tests freeze the clock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_actions.errors import ConfigError
from ci_actions.github.runner import Runner

if TYPE_CHECKING:  # imported where used: an action that never asks pays for neither
    import random
    from datetime import datetime


def _utcnow() -> datetime:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


# Each text field of GitHubContext and the variable it is read from.
_VARIABLES = {
    "event_name": "GITHUB_EVENT_NAME",
    "sha": "GITHUB_SHA",
    "ref": "GITHUB_REF",
    "ref_name": "GITHUB_REF_NAME",
    "head_ref": "GITHUB_HEAD_REF",
    "base_ref": "GITHUB_BASE_REF",
    "repository": "GITHUB_REPOSITORY",
    "server_url": "GITHUB_SERVER_URL",
    "api_url": "GITHUB_API_URL",
    "run_id": "GITHUB_RUN_ID",
    "run_number": "GITHUB_RUN_NUMBER",
    "run_attempt": "GITHUB_RUN_ATTEMPT",
    "actor": "GITHUB_ACTOR",
    "workflow": "GITHUB_WORKFLOW",
    "job": "GITHUB_JOB",
    "workspace": "GITHUB_WORKSPACE",
    "runner_temp": "RUNNER_TEMP",
    "tool_cache": "RUNNER_TOOL_CACHE",
}


@dataclass(frozen=True)
class GitHubContext:
    event_name: str = ""
    event: Mapping[str, Any] = field(default_factory=dict)
    sha: str = ""
    ref: str = ""
    ref_name: str = ""
    head_ref: str = ""
    base_ref: str = ""
    repository: str = ""
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    run_id: str = ""
    run_number: str = ""
    run_attempt: str = ""
    actor: str = ""
    workflow: str = ""
    job: str = ""
    workspace: str = ""
    runner_temp: str = ""
    tool_cache: str = ""
    in_runner: bool = False

    @property
    def run_url(self) -> str:
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def default_branch(self) -> str:
        repo = self.event.get("repository") or {}
        return str(repo.get("default_branch") or "")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GitHubContext:
        event: Mapping[str, Any] = {}
        event_path = environ.get("GITHUB_EVENT_PATH", "")
        if event_path and Path(event_path).is_file():
            try:
                event = json.loads(Path(event_path).read_text(encoding="utf-8") or "{}")
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"GITHUB_EVENT_PATH {event_path} is not valid JSON: {exc}"
                ) from None
        texts = {name: environ.get(var, "") for name, var in _VARIABLES.items()}
        texts["server_url"] = texts["server_url"] or "https://github.com"
        texts["api_url"] = texts["api_url"] or "https://api.github.com"
        return cls(event=event, in_runner=environ.get("GITHUB_ACTIONS", "") == "true", **texts)


@dataclass(frozen=True)
class Context:
    """What an action's run() may know of the world besides its inputs."""

    github: GitHubContext
    environ: Mapping[str, str]
    cwd: Path
    log: Runner
    clock: Callable[[], datetime] = _utcnow
    random_source: random.Random | None = None  # a seeded one in tests; else made when asked

    @cached_property
    def rng(self) -> random.Random:
        """The run's randomness (jitter, unique names), made on first use."""
        if self.random_source is not None:
            return self.random_source
        import random

        return random.Random()

    def now(self) -> datetime:
        return self.clock()

    def temp_dir(self) -> Path:
        """Where an action may put scratch files: RUNNER_TEMP on a runner."""
        base = self.github.runner_temp or self.environ.get("TMPDIR", "") or "/tmp"
        return Path(base)

    @classmethod
    def from_env(cls, log: Runner, environ: Mapping[str, str] | None = None) -> Context:
        env = dict(os.environ if environ is None else environ)
        return cls(github=GitHubContext.from_env(env), environ=env, cwd=Path(os.getcwd()), log=log)
