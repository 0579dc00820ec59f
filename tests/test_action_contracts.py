"""Contracts every action.yml keeps (DESIGN.md): schema-valid, described, every
input mapped into env:, no ${{ }} inside run:, zizmor clean, generated from SPEC."""

from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci_actions.actions import ACTIONS
from ci_actions.github.actionyml import action_path, render_action
from tests.support.tools import require

ROOT = Path(__file__).resolve().parents[1]
ACTION_FILES = sorted([ROOT / "action.yml", *ROOT.glob("actions/*/action.yml")])
EXPR = re.compile(r"\$\{\{")


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def test_every_action_has_an_action_yml_and_vice_versa() -> None:
    on_disk = {p.parent.name for p in ROOT.glob("actions/*/action.yml")}
    assert on_disk == set(ACTIONS)


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_action_yml_is_generated_from_spec(name: str) -> None:
    assert action_path(ROOT, name).read_text() == render_action(name), (
        f"actions/{name}/action.yml is stale: run python -m ci_actions.github.actionyml {name}"
    )


@pytest.mark.parametrize("path", ACTION_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_descriptions_and_env_mapping(path: Path) -> None:
    data = _load(path)
    for kind in ("inputs", "outputs"):
        for name, body in (data.get(kind) or {}).items():
            assert (body or {}).get("description"), f"{kind[:-1]} {name} has no description"
            # the runner evaluates `${{ }}` in a description too: an example there breaks the action
            assert "${{" not in str((body or {}).get("description")), (
                f"{kind[:-1]} {name}: an expression in its description"
            )
    steps = data["runs"]["steps"]
    for step in steps:
        assert not EXPR.search(step.get("run", "")), f"${{{{ }}}} inside run: of {step.get('name')}"
    inputs = data.get("inputs") or {}
    if inputs:
        (cli_step,) = [
            s for s in steps if "ci-actions" in s.get("name", "") and s.get("id") == "run"
        ]
        env = cli_step.get("env") or {}
        for name in inputs:
            assert env.get(f"INPUT_{name.upper()}") == f"${{{{ inputs.{name} }}}}", (
                f"input {name} is not mapped into env: as INPUT_{name.upper()}"
            )


def test_a_missing_mapping_is_caught(tmp_path: Path) -> None:
    """The check above fails on an action that forgets one input."""
    data = _load(ACTION_FILES[-1])
    data["inputs"]["extra-input"] = {"description": "d"}
    bad = tmp_path / "action.yml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(AssertionError, match="extra-input"):
        test_descriptions_and_env_mapping(bad)
    data["inputs"].pop("extra-input")
    data["runs"]["steps"][-1]["run"] = "echo ${{ inputs.base }}"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(AssertionError, match="inside run"):
        test_descriptions_and_env_mapping(bad)


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_spec_defaults_match_cli(name: str) -> None:
    spec = importlib.import_module(ACTIONS[name]).SPEC
    data = _load(action_path(ROOT, name))
    for item in spec.inputs:
        assert str(data["inputs"][item.name].get("default", "")) == item.default


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_every_default_passes_its_own_input_check(name: str) -> None:
    """A default the input's kind refuses (a list default on a one-line input) breaks every run."""
    from ci_actions.github.inputs import RawInputs

    spec = importlib.import_module(ACTIONS[name]).SPEC
    RawInputs(spec, {item.name: item.default for item in spec.inputs}).check_values()


def test_schema_valid() -> None:
    proc = subprocess.run(
        [
            require("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-actions",
            *map(str, ACTION_FILES),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_reports_nothing() -> None:
    proc = subprocess.run(
        [
            require("zizmor"),
            "--offline",
            "--no-progress",
            "--format",
            "plain",
            str(ROOT / "action.yml"),
            str(ROOT / "actions"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "No findings" in proc.stdout + proc.stderr, (
        proc.stdout + proc.stderr
    )
