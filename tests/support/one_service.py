"""A repository of ONE service, made from examples/ (a repository of two): the API
(services/api: one Dockerfile), the package it shares (lib/) and their tests, the
project files; the collector and what only it needs are left out, in the application
and in the GitOps tree (`gitops`: the base and overlays without the collector's objects).

The files are examples/' own: a change there reaches every test that uses this, and a
change this cannot apply (a line it removes is gone) fails here, loudly.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# What the application repository is made of (demo/ and deployer/ are the demo's own),
# without the collector (services/collector).
PARTS = ("services/api", "lib", "pyproject.toml", "servicetest.py", ".dockerignore")
IGNORE = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache", "instance", "seeded")

# What names the collector in the files both services share: removed (each must be there).
APP_CUTS = {
    "pyproject.toml": (', "services/collector/tests"', ', "services/collector"'),
    "servicetest.py": (', ROOT / "services" / "collector"',),
}
COLLECTOR_IMAGE = "  - name: 127.0.0.1:5000/blocklist-collector\n    newTag: 0.1.0\n"
GITOPS_CUTS = {
    "base/kustomization.yaml": ("  - collector.yaml\n",),
    "overlays/dev/kustomization.yaml": (COLLECTOR_IMAGE,),
    "overlays/prod/kustomization.yaml": (COLLECTOR_IMAGE,),
    "overlays/prod/replicas.yaml": (
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: blocklist-collector\n"
        "spec:\n  replicas: 2\n",
    ),
}


def one_service(target: Path) -> Path:
    """The one-service application repository's files in `target` (created); returns it."""
    target.mkdir(parents=True)
    for part in PARTS:
        source, dest = EXAMPLES / part, target / part
        if source.is_dir():
            shutil.copytree(source, dest, ignore=IGNORE)
        else:
            shutil.copy2(source, dest)
    _cut(target, APP_CUTS)
    return target


def gitops(target: Path) -> Path:
    """The one-service GitOps tree (base/, overlays/) in `target` (created); returns it."""
    shutil.copytree(EXAMPLES / "gitops", target, ignore=shutil.ignore_patterns("README.md"))
    (target / "base" / "collector.yaml").unlink()
    _cut(target, GITOPS_CUTS)
    return target


def _cut(root: Path, cuts: Mapping[str, tuple[str, ...]]) -> None:
    for name, fragments in cuts.items():
        path = root / name
        text = path.read_text()
        for fragment in fragments:
            assert fragment in text, f"examples/ changed: {fragment!r} is not in {name}"
            text = text.replace(fragment, "")
        path.write_text(text)
