"""Where a change to a GitOps repository goes: one type for every action that writes one.

kustomize-bump edits and pushes there, release-ledger keeps its ledger
there, health-probe's gitops rollback pushes the previous images there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ci_actions.git import Identity

DEFAULT_PUSH_RETRIES = 5


@dataclass(frozen=True)
class GitOpsTarget:
    """A repository and branch to write to, and how.

    `repository` empty means the checkout in `working_directory`; else a git
    URL, a path, or OWNER/NAME on GITHUB_SERVER_URL, cloned for the write.
    `branch` empty means the checkout's branch, or the repository's default.
    """

    repository: str = ""
    branch: str = ""
    token: str = ""  # for git over HTTPS; masked by whoever read it
    working_directory: Path = Path(".")
    identity: Identity = field(default_factory=Identity)
    push_retries: int = DEFAULT_PUSH_RETRIES
