"""Where a change to a GitOps repository goes: one type for every action that writes one.

kustomize-bump edits and pushes there, release-ledger keeps its ledger
there, health-probe's gitops rollback pushes the previous images there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ci_actions.git import DEFAULT_AUTHOR_EMAIL, DEFAULT_AUTHOR_NAME, Identity
from ci_actions.github.inputs import MAX_PUSH_RETRIES, InputSpec, RawInputs

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


def push_inputs(author: str, reapply: str, retries: int) -> tuple[InputSpec, ...]:
    """The inputs that say who commits to the target and how often a rejected push is retried."""
    return (
        InputSpec("author-name", f"{author} author and committer name.", DEFAULT_AUTHOR_NAME),
        InputSpec("author-email", f"{author} author and committer email.", DEFAULT_AUTHOR_EMAIL),
        InputSpec(
            "push-retries",
            f"How many times (0 to {MAX_PUSH_RETRIES}) a rejected push is retried (fetch, {reapply}, commit, push) before giving up with exit 3.",
            str(retries),
        ),
    )


def parse_target(raw: RawInputs, retries: int | None = None) -> GitOpsTarget:
    """The target from repository, branch, token, working-directory and push_inputs().

    An empty push-retries is `retries`; with None, it is a whole number like any other.
    """
    return GitOpsTarget(
        repository=raw.text("repository"),
        branch=raw.text("branch"),
        token=raw.text("token"),
        working_directory=Path(raw.text("working-directory") or "."),
        identity=Identity(
            raw.text("author-name") or DEFAULT_AUTHOR_NAME,
            raw.text("author-email") or DEFAULT_AUTHOR_EMAIL,
        ),
        push_retries=raw.integer("push-retries", minimum=0, maximum=MAX_PUSH_RETRIES)
        if raw.text("push-retries") or retries is None
        else retries,
    )
