"""What a run of the demo (examples/demo/pipeline_demo.py) left on disk, read without the demo's
own code: the ledger and the overlays of the GitOps remote, the deploy tags of the application's
remote, and the registry's tags from its storage folder (readable after the registry stopped).

    artifacts = DemoArtifacts(state)            # the demo's --state folder
    ledger = artifacts.ledger()
    (entry,) = ledger.releases("sha-1234567", service="collector", environment="dev")
    ledger.statuses(entry)                      # ["deployed", "rolled-back"]
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

APP = "blocklist"  # the application repository's name (its folder and remote under the state)
REGISTRY_STORAGE = Path("registry/docker/registry/v2/repositories")  # under the state folder


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass(frozen=True)
class Ledger:
    """Every line of `.ci-ledger/<environment>/<service>.jsonl`, oldest first per file, each with
    `file-service` and `file-environment` (where it was found)."""

    lines: list[dict[str, Any]]

    def releases(
        self,
        tag: str | None = None,
        *,
        service: str | None = None,
        environment: str | None = None,
        restored: bool = False,
    ) -> list[dict[str, Any]]:
        """The release entries (not status lines), of `tag` and the file of `service` and
        `environment` when given; the releases a rollback restored only when `restored`."""
        return [
            e
            for e in self.lines
            if e.get("tag")
            and tag in (None, e["tag"])
            and service in (None, e["file-service"])
            and environment in (None, e["file-environment"])
            and (restored or not self.rollback_of(e))
        ]

    def statuses(self, entry: dict[str, Any]) -> list[str]:
        """Every status of a release, in order (the entry's own first)."""
        return [line["status"] for line in self.lines if line.get("id") == entry["id"]]

    def rollback_of(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        """The release a rollback entry replaced (None for a release of its own)."""
        replaced = entry.get("metadata", {}).get("rollback-of")
        if not replaced:
            return None
        return next(e for e in self.lines if e.get("tag") and e["id"] == replaced)


@dataclass(frozen=True)
class DemoArtifacts:
    state: Path  # the demo's state folder

    @property
    def gitops(self) -> Path:
        return self.state / "remotes" / "gitops.git"

    @property
    def origin(self) -> Path:
        return self.state / "remotes" / f"{APP}.git"

    @property
    def app(self) -> Path:
        return self.state / APP

    def ledger(self, commit: str = "main") -> Ledger:
        lines: list[dict[str, Any]] = []
        listing = git(self.gitops, "ls-tree", "-r", "--name-only", commit, ".ci-ledger")
        for path in listing.splitlines():
            parts = Path(path).parts
            if len(parts) != 3 or not path.endswith(".jsonl"):
                continue
            where = {"file-environment": parts[1], "file-service": Path(parts[2]).stem}
            text = git(self.gitops, "show", f"{commit}:{path}")
            lines += [{**json.loads(line), **where} for line in text.splitlines() if line.strip()]
        return Ledger(lines)

    def overlay(self, env: str, commit: str = "main") -> dict[str, dict[str, Any]]:
        """The `images:` entries of an environment's overlay at a GitOps commit, by name."""
        text = git(self.gitops, "show", f"{commit}:overlays/{env}/kustomization.yaml")
        return {str(i["name"]): dict(i) for i in yaml.safe_load(text).get("images") or []}

    def deploy_tags(self) -> dict[str, str]:
        """The application remote's deploy tags, each with the commit it points at."""
        tags = git(self.origin, "tag", "-l", "deploy/*").split()
        return {tag: git(self.origin, "rev-list", "-n", "1", tag) for tag in tags}

    def registry_tags(self, repository: str) -> dict[str, str]:
        """A repository's tags in the registry, each with its manifest's digest, read from the
        registry's storage folder (what the registry serves as Docker-Content-Digest)."""
        tags = self.state / REGISTRY_STORAGE / repository / "_manifests" / "tags"
        if not tags.is_dir():
            return {}
        return {
            tag.name: (tag / "current" / "link").read_text().strip()
            for tag in sorted(tags.iterdir())
            if (tag / "current" / "link").is_file()
        }
