"""Build hook: record the release commit in the package (ci_actions/RELEASE.json).

`ci-actions init` pins the actions to the commit a package was released from.
When the tree being built is a git checkout whose HEAD carries the release tag
`v<version>`, the wheel gets {"tag": ..., "commit": ...}; otherwise nothing is
recorded and init pins the tag with a warning, or refuses (see render/pin.py).
Everything else is in pyproject.toml.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def release_info(root: Path) -> dict[str, str] | None:
    """{"tag", "commit"} when HEAD of the checkout at `root` is tagged v<version>."""
    init = (root / "src" / "ci_actions" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', init, re.M)
    if match is None:
        return None
    tag = f"v{match[1]}"

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    if git("rev-parse", "--show-toplevel") != str(root):
        return None
    if tag not in git("tag", "--points-at", "HEAD").split():
        return None
    return {"tag": tag, "commit": git("rev-parse", "HEAD")}


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        info = release_info(ROOT)
        if info is not None and not self.editable_mode:
            target = Path(self.build_lib) / "ci_actions" / "RELEASE.json"
            target.write_text(json.dumps(info) + "\n", encoding="utf-8")


setup(cmdclass={"build_py": BuildPy})
