"""Which ci-actions commit the rendered workflows pin, and under which repository.

A pin must resolve for the user: a commit that exists in a repository they can
read. What justifies one, in order:

1. `--actions-ref SHA` (and `--actions-repo`), given by the user;
2. the package was installed from git (`pip install git+URL@REF`): the commit
   pip recorded (direct_url.json), under that URL's repository;
3. the package was installed from a release: the commit recorded at build
   time (`ci_actions/RELEASE.json`), under the repository its metadata names
   (Project-URL), commented with the release tag;
4. a ci-actions checkout whose HEAD carries the release tag `v<version>`;
5. a release with no recorded commit: the tag itself, with a warning (a tag
   can be moved; a SHA cannot).

Anything else (a local commit of a checkout, a development version) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ci_actions.errors import ConfigError

FULL_SHA = re.compile(r"[0-9a-f]{40}")
RELEASE = re.compile(r"\d+(\.\d+)*")
_GITHUB = re.compile(
    r"^(?:git\+)?(?:https?://|ssh://git@|git@)github\.com[/:]([\w.-]+/[\w.-]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class Installed:
    """What the installation says about itself."""

    version: str
    vcs_url: str = ""  # direct_url.json: installed from git
    vcs_commit: str = ""
    checkout_head: str = ""  # a local checkout (editable or from a folder)
    checkout_tags: tuple[str, ...] = ()  # tags pointing at that HEAD
    release_commit: str = ""  # RELEASE.json, written when the release was built
    project_urls: tuple[str, ...] = ()  # "Label, URL" lines of the metadata


@dataclass(frozen=True)
class Pin:
    repo: str
    ref: str
    version: str
    why: str
    warning: str = ""


def github_repo(url: str) -> str:
    """OWNER/NAME of a github.com URL, else ""."""
    match = _GITHUB.match(url.strip())
    return match[1] if match else ""


def _project_repo(urls: Sequence[str]) -> str:
    for line in urls:
        label, _, url = line.partition(",")
        if label.strip().lower() in ("source", "repository", "code", "homepage"):
            repo = github_repo(url)
            if repo:
                return repo
    return ""


def resolve(installed: Installed, repo: str | None, ref: str | None, version: str | None) -> Pin:
    tag = version or f"v{installed.version}"
    home = repo or _project_repo(installed.project_urls)
    if ref:
        if not FULL_SHA.fullmatch(ref):
            raise ConfigError(
                f"--actions-ref {ref!r} is not a full commit SHA",
                hint="pin ci-actions by the 40-character commit of a release",
            )
        return _needs_repo(Pin(home, ref, tag, "--actions-ref"))
    if installed.vcs_commit:
        return _needs_repo(
            Pin(
                repo or github_repo(installed.vcs_url),
                installed.vcs_commit,
                version or installed.vcs_commit[:12],
                f"the commit pip installed from {installed.vcs_url}",
            )
        )
    release = bool(RELEASE.fullmatch(installed.version))
    if installed.release_commit:
        return _needs_repo(
            Pin(home, installed.release_commit, tag, f"release {tag}, commit recorded at build")
        )
    if installed.checkout_head:
        if f"v{installed.version}" in installed.checkout_tags:
            return _needs_repo(Pin(home, installed.checkout_head, tag, f"the checkout at {tag}"))
        raise ConfigError(
            f"this ci-actions checkout is at {installed.checkout_head[:12]}, which is not the "
            f"release v{installed.version}: a pin to it may not exist for your repository",
            hint="pass --actions-ref with the commit SHA of a published release "
            "(and --actions-repo OWNER/NAME where it is published)",
        )
    if release:
        return _needs_repo(
            Pin(
                home,
                f"v{installed.version}",
                tag,
                f"release v{installed.version} (no commit recorded)",
                warning=f"pinned to the tag v{installed.version}: a tag can be moved, a commit "
                "cannot; pass --actions-ref SHA to pin the release's commit",
            )
        )
    raise ConfigError(
        f"ci-actions {installed.version} is not a release and records no commit",
        hint="pass --actions-ref SHA and --actions-repo OWNER/NAME",
    )


def _needs_repo(pin: Pin) -> Pin:
    if not pin.repo:
        raise ConfigError(
            "cannot tell which repository publishes this ci-actions",
            hint="pass --actions-repo OWNER/NAME",
        )
    return pin
