"""tests/support/tools.py: a missing tool skips with its name and install command; in CI it fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import tools


@pytest.fixture
def nothing_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setattr(tools, "VENV_BIN", empty)
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(tools.REQUIRE, raising=False)
    return empty


def test_missing_tool_skips_naming_it_and_how_to_install(nothing_installed: Path) -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        tools.require("bandit", "kubectl")
    assert str(skipped.value) == (
        "needs bandit, kubectl, not installed (bandit: CI_ACTIONS_EXTRAS=test,scanners "
        "scripts/venv (the 'scanners' extra); kubectl: scripts/bootstrap (apt))"
    )


def test_missing_tool_fails_when_tools_are_required(
    nothing_installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(tools.REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match=r"needs node, not installed.*a failure here"):
        tools.require("node")


def test_the_mark_is_checked_before_the_test(
    nothing_installed: Path, request: pytest.FixtureRequest
) -> None:
    request.node.add_marker(tools.needs("semgrep"))
    with pytest.raises(pytest.skip.Exception, match="needs semgrep"):
        tools.check_marks(request.node)


def test_found_in_the_venv_first_then_on_path(nothing_installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for folder in (nothing_installed, elsewhere):
        (folder / "chromium-browser").write_text("#!/bin/sh\n")
        (folder / "chromium-browser").chmod(0o755)
    (elsewhere / "buildah").write_text("#!/bin/sh\n")
    (elsewhere / "buildah").chmod(0o755)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", str(elsewhere))
        assert tools.require("chromium") == str(nothing_installed / "chromium-browser")
        assert tools.require("buildah") == str(elsewhere / "buildah")


def test_an_unknown_tool_is_a_mistake_in_the_test() -> None:
    with pytest.raises(KeyError, match="unknown tool 'kubctl'"):
        tools.needs("kubctl")
