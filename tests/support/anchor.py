"""Run docker/metadata-action (node) and `ci-actions image-tags` on the same inputs.

Both see the same event (GITHUB_* variables and payload file), the same
repository data from a fake GitHub API on 127.0.0.1 and the same frozen
clock (node through a `--require` preload that pins `new Date()`), so their
outputs can be compared byte for byte. Bake-file outputs are paths to
temporary files: the comparison reads their contents.

The node action is the `dist/index.cjs` of a docker/metadata-action checkout,
found through METADATA_ACTION_GIT (a git directory), the local mirror, or a
shallow clone; it is copied into a temp dir and never kept in this repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.support.cli import invoke, parse_delimited
from tests.support.fake_github import FakeGitHub
from tests.support.tools import HANG_GUARD

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "fixtures" / "image_tags" / "events"
ANCHOR_REPO = "https://github.com/docker/metadata-action"
MIRROR = Path("/work/.mirror/docker+metadata-action/repo")
NOW = datetime(2024, 3, 15, 21, 7, 9, 123000, tzinfo=timezone.utc)
REPOSITORY = "acme/webapp"
SHA = "9c1b0e5d2f3a4b6c8d7e0f1a2b3c4d5e6f708192"
API_COMMIT_DATE = "2024-03-15T23:04:05Z"
BAKE_OUTPUTS = ("bake-file-tags", "bake-file-labels", "bake-file-annotations", "bake-file")

_FREEZE_JS = """
const FIXED = Date.parse(process.env.FAKE_NOW);
const RealDate = Date;
class FrozenDate extends RealDate {
  constructor(...args) { if (args.length === 0) { super(FIXED); } else { super(...args); } }
  static now() { return FIXED; }
}
globalThis.Date = FrozenDate;
"""


@dataclass(frozen=True)
class Case:
    id: str
    event: str = "push"  # a file stem under EVENTS, or "" for no payload
    event_name: str = "push"
    ref: str = "refs/heads/main"
    sha: str = SHA
    inputs: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)

    def environment(self, api_url: str) -> dict[str, str]:
        env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": self.event_name,
            "GITHUB_EVENT_PATH": str(EVENTS / f"{self.event}.json") if self.event else "",
            "GITHUB_REF": self.ref,
            "GITHUB_SHA": self.sha,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_API_URL": api_url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_WORKFLOW": "ci",
            "GITHUB_RUN_ID": "1",
            "GITHUB_RUN_NUMBER": "1",
            "GITHUB_ACTOR": "dev",
            "INPUT_CONTEXT": "workflow",
            "INPUT_GITHUB-TOKEN": "ghs_faketoken",
        }
        env |= {f"INPUT_{k.upper()}": v for k, v in self.inputs.items()}
        env |= dict(self.env)
        return env


@contextmanager
def fake_api() -> Iterator[FakeGitHub]:
    """The fake GitHub API holding the repository the anchor fixtures describe."""
    with FakeGitHub() as fake:
        fake.add_repo(
            REPOSITORY,
            default_branch="main",
            description="Web app served by the API",
            license_id="MIT",
            html_url=f"https://github.com/{REPOSITORY}",
            private=False,
            commit_dates={
                SHA: API_COMMIT_DATE,
                "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12": API_COMMIT_DATE,
            },
        )
        yield fake


def _git_dir() -> Path | None:
    given = os.environ.get("METADATA_ACTION_GIT", "")
    for candidate in (Path(given) if given else None, MIRROR):
        if candidate is not None and (candidate / "HEAD").exists():
            return candidate
    return None


def fetch_anchor(into: Path, *, clone: bool = True) -> tuple[Path, str] | None:
    """(dist/index.cjs copied into `into`, its commit), or None when no copy is reachable."""
    git_dir = _git_dir()
    if git_dir is None:
        if not clone:
            return None
        clone = into / "metadata-action.git"
        done = subprocess.run(
            ["git", "clone", "--quiet", "--bare", "--depth=1", ANCHOR_REPO, str(clone)],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            return None
        git_dir = clone
    commit = subprocess.run(
        ["git", "--git-dir", str(git_dir), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shown = subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", "HEAD:dist/index.cjs"],
        capture_output=True,
        check=False,
    )
    if shown.returncode != 0:
        return None
    target = into / "index.cjs"
    target.write_bytes(shown.stdout)
    (into / "freeze-date.cjs").write_text(_FREEZE_JS)
    return target, commit


def _read_bake_files(outputs: dict[str, str]) -> dict[str, str]:
    result = dict(outputs)
    for name in BAKE_OUTPUTS:
        path = result.get(name, "")
        result[name] = (
            Path(path).read_text(encoding="utf-8") if path and Path(path).is_file() else ""
        )
    return result


@dataclass
class Outcome:
    ok: bool
    outputs: dict[str, str]
    env: dict[str, str]
    log: str

    def comparable(self) -> dict[str, Any]:
        """What must be equal: outputs, and which DOCKER_METADATA_OUTPUT_* were exported."""
        if not self.ok:
            return {"ok": False}
        return {"ok": True, "outputs": self.outputs, "env": sorted(self.env)}

    def env_matches_outputs(self) -> bool:
        """Each exported variable holds its output's value."""
        by_env = {
            "DOCKER_METADATA_OUTPUT_" + re.sub(r"\W", "_", k).upper(): v
            for k, v in self.outputs.items()
        }
        return all(by_env.get(k) == v for k, v in self.env.items())


def _env_values(text: str) -> dict[str, str]:
    values = parse_delimited(text)
    return {k: v for k, v in values.items() if k.startswith("DOCKER_METADATA_OUTPUT_")}


def _without_paths(outcome_env: dict[str, str], outputs: dict[str, str]) -> dict[str, str]:
    """Exported bake-file paths are replaced by the file contents, as outputs are."""
    env = dict(outcome_env)
    for name in BAKE_OUTPUTS:
        key = "DOCKER_METADATA_OUTPUT_" + name.replace("-", "_").upper()
        if key in env:
            env[key] = outputs[name]
    return env


def run_node(index: Path, case: Case, api_url: str, work: Path) -> Outcome:
    work.mkdir(parents=True, exist_ok=True)
    out, envf, temp = work / "output", work / "env", work / "temp"
    out.write_text("")
    envf.write_text("")
    temp.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work),
        "FAKE_NOW": NOW.isoformat().replace("+00:00", "Z"),
        "GITHUB_OUTPUT": str(out),
        "GITHUB_ENV": str(envf),
        "RUNNER_TEMP": str(temp),
        **case.environment(api_url),
    }
    if not env["GITHUB_EVENT_PATH"]:
        del env["GITHUB_EVENT_PATH"]
    try:
        done = subprocess.run(
            ["node", "--require", str(index.parent / "freeze-date.cjs"), str(index)],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=HANG_GUARD,  # about 0.5 s of CPU, but many seconds of wall clock under load
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return Outcome(False, {}, {}, f"node did not finish in {HANG_GUARD:g}s: {exc.stderr!r}")
    outputs = _read_bake_files(parse_delimited(out.read_text()))
    return Outcome(
        done.returncode == 0,
        outputs,
        _without_paths(_env_values(envf.read_text()), outputs),
        done.stdout + done.stderr,
    )


def run_ours(case: Case, api_url: str, work: Path, cwd: Path | None = None) -> Outcome:
    from ci_actions.github.context import Context

    original = Context.now
    Context.now = lambda self: NOW  # type: ignore[method-assign]
    try:
        env = case.environment(api_url) | {"RUNNER_TEMP": str(work / "temp")}
        (work / "temp").mkdir(parents=True, exist_ok=True)
        run = invoke(work, "image-tags", env=env, cwd=cwd)
    finally:
        Context.now = original  # type: ignore[method-assign]
    outputs = _read_bake_files(run.outputs)
    return Outcome(
        run.code == 0, outputs, _without_paths(_env_values(run.env_file), outputs), run.log
    )


def anchor_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="metadata-action-"))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
