"""The result cache: reused when the content key is unchanged, never trusted when foreign.

Runs the real gate (bandit and semgrep) on the fixture project with `cache-dir`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import CliRun, invoke

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "security_gate"
FROM_CACHE = "(from the result cache)"


def _project(tmp: Path) -> Path:
    root = tmp / "project"
    shutil.copytree(FIXTURES / "project", root)
    return root


def _gate(
    root: Path,
    cache: Path | None,
    *args: str,
    env: dict[str, str] | None = None,
    scanners: str = "bandit",
) -> CliRun:
    argv = ["--scanners", scanners, *(["--cache-dir", str(cache)] if cache else []), *args]
    return invoke(root.parent / "runner", "security-gate", argv, cwd=root, env=env)


def _report(run: CliRun) -> dict[str, object]:
    data: dict[str, object] = json.loads(Path(run.outputs["report-file"]).read_text())
    return data


def _findings(run: CliRun) -> list[tuple[str, str, int, str, str]]:
    """The findings of the report the run wrote (read at once: the next run overwrites it)."""
    report = _report(run)
    assert isinstance(report["findings"], list)
    return sorted(
        (f["tool"], f["file"], f["line"], f["rule-id"], f["fingerprint"])
        for f in report["findings"]
    )


def _commands(run: CliRun) -> dict[str, str]:
    tools = _report(run)["tools"]
    assert isinstance(tools, list)
    return {t["tool"]: t["command"] for t in tools}


Found = list[tuple[str, str, int, str, str]]


def _warm(tmp: Path, scanners: str) -> tuple[Path, Path, Found]:
    """A project, its warm cache and the findings of the cold run that filled it."""
    root = _project(tmp)
    cache = tmp / "cache"
    cold = _gate(root, cache, scanners=scanners)
    assert cold.code == 1, cold.log[-3000:]
    assert FROM_CACHE not in _commands(cold).values()
    return root, cache, _findings(cold)


@pytest.fixture
def warmed(tmp_path: Path) -> tuple[Path, Path, Found]:
    return _warm(tmp_path, "bandit")


BOTH = "bandit,semgrep"


def test_a_warm_cache_gives_the_same_findings_without_scanning(tmp_path: Path) -> None:
    root, cache, cold = _warm(tmp_path, BOTH)
    warm = _gate(root, cache, scanners=BOTH)
    assert warm.code == 1
    assert _commands(warm) == {"bandit": FROM_CACHE, "semgrep": FROM_CACHE}
    assert _findings(warm) == cold
    assert all(oct(p.stat().st_mode & 0o077) == "0o0" for p in cache.iterdir())


def test_only_the_edited_file_is_scanned_again(tmp_path: Path) -> None:
    root, cache, cold = _warm(tmp_path, BOTH)
    store = root / "service" / "store.py"
    store.write_text(
        store.read_text() + "\n\ndef legacy(p):\n    return hashlib.sha1(p).digest()\n"
    )
    run = _gate(root, cache, scanners=BOTH)
    commands = _commands(run)
    assert commands["bandit"].endswith("-- service/store.py")
    assert commands["semgrep"].endswith("-- service/store.py")
    # the same findings as a scan without the cache
    assert _findings(run) == _findings(_gate(root, None, scanners=BOTH))
    assert len(_findings(run)) == len(cold) + 1  # bandit B324 on sha1


def _bad_json(entry: Path) -> None:
    entry.write_text("{not json")


def _wrong_schema(entry: Path) -> None:
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps(data | {"schema": 99}))


def _other_key(entry: Path) -> None:
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps(data | {"key": data["key"].replace("service", "other")}))


def _other_file(entry: Path) -> None:
    # an entry whose findings claim to be of another file: never trusted
    data = json.loads(entry.read_text())
    finding = {
        "tool": "bandit",
        "rule_id": "B999",
        "severity": "low",
        "message": "x",
        "file": "x.py",
    }
    entry.write_text(json.dumps(data | {"findings": [finding]}))


def _group_writable(entry: Path) -> None:
    entry.chmod(0o664)


def _foreign_owner(entry: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to give a file to another user")
    os.chown(entry, 4242, -1)


def _emptied_findings(entry: Path) -> None:
    # a well-formed entry that hides the findings: only the owner could write it (trusted)
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps(data | {"findings": "none"}))


@pytest.mark.parametrize(
    "spoil",
    [
        _bad_json,
        _wrong_schema,
        _other_key,
        _other_file,
        _group_writable,
        _foreign_owner,
        _emptied_findings,
    ],
)
def test_a_spoilt_entry_is_ignored_logged_and_scanned_again(
    warmed: tuple[Path, Path, Found], spoil: Callable[[Path], None]
) -> None:
    root, cache, cold = warmed
    for entry in cache.iterdir():
        spoil(entry)
    run = _gate(root, cache)
    assert run.code == 1, run.log[-3000:]
    assert "result cache entry" in run.stdout and "ignored" in run.stdout
    assert _findings(run) == cold
    assert FROM_CACHE not in _commands(run).values()


def test_a_group_writable_cache_folder_is_not_used(warmed: tuple[Path, Path, Found]) -> None:
    root, cache, cold = warmed
    cache.chmod(0o777)
    run = _gate(root, cache)
    assert "writable by group or others" in run.stdout
    assert FROM_CACHE not in _commands(run).values()
    assert _findings(run) == cold


def test_the_default_cache_is_the_tool_cache_on_self_hosted_runners_only(tmp_path: Path) -> None:
    root = _project(tmp_path)
    tool_cache = tmp_path / "tool-cache"
    tool_cache.mkdir()
    hosted = {"RUNNER_TOOL_CACHE": str(tool_cache), "RUNNER_ENVIRONMENT": "github-hosted"}
    _gate(root, None, env=hosted)
    assert not (tool_cache / "ci-actions").exists()
    self_hosted = hosted | {"RUNNER_ENVIRONMENT": "self-hosted"}
    _gate(root, None, env=self_hosted)
    assert any((tool_cache / "ci-actions" / "security-gate").iterdir())
    again = _gate(root, None, env=self_hosted)
    assert _commands(again) == {"bandit": FROM_CACHE}
    off = _gate(root, None, "--cache-dir", "off", env=self_hosted)
    assert FROM_CACHE not in _commands(off).values()


def test_dependency_results_are_reused_until_a_requirements_file_changes(tmp_path: Path) -> None:
    root = _project(tmp_path)
    cache = tmp_path / "cache"
    db = ("--safety-db", str(FIXTURES / "safety-db"))
    cold = _gate(root, cache, *db, scanners="safety")
    assert cold.code == 1, cold.log[-3000:]  # pyyaml 39611 (critical) in the fixture pins
    cold_found = _findings(cold)
    warm = _gate(root, cache, *db, scanners="safety")
    assert _commands(warm) == {"safety": FROM_CACHE}
    assert _findings(warm) == cold_found
    reqs = root / "requirements.txt"
    reqs.write_text(reqs.read_text() + "\n")  # any edit is a new key
    again = _gate(root, cache, *db, scanners="safety")
    assert FROM_CACHE not in _commands(again).values()
    assert _findings(again) == cold_found
