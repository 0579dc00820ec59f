"""YAML from outside is loaded with aliases and nesting bounded, everywhere."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci_actions import yamlsafe
from ci_actions.actions import changes
from ci_actions.errors import CiActionsError
from ci_actions.github.inputs import RawInputs
from ci_actions.kustomize.spans import compose_documents
from ci_actions.manifests.documents import parse_documents
from ci_actions.scanners import policy
from tests.support.cli import invoke

BOMB_FILE = Path(__file__).parent / "fixtures" / "yaml" / "billion-laughs.yaml"
BOMB = BOMB_FILE.read_text()
# The line where the expansion first passes the budget: `f:` holds 9^5 strings.
BOMB_LINE = next(i for i, line in enumerate(BOMB.splitlines(), 1) if line.startswith("  f:"))


def _inputs(name: str, text: str) -> Any:
    return RawInputs(changes.SPEC, {name: text}).yaml(name)


# Every place that loads YAML the action does not write itself.
LOADERS: list[tuple[str, Callable[[str], object]]] = [
    ("manifests", lambda text: parse_documents(text, "bomb.yaml")),
    ("kustomize", lambda text: compose_documents(text, "bomb.yaml")),
    ("scanner policy", lambda text: policy.load_policy(text, "bomb.yaml", policy.Thresholds(), [])),
    ("allowlist", lambda text: policy.load_allowlist(text, "bomb.yaml")),
    ("inputs", lambda text: _inputs("filters", text)),
    ("plain", yamlsafe.load),
]


@pytest.mark.parametrize(("where", "load"), LOADERS, ids=[w for w, _ in LOADERS])
def test_every_loader_refuses_the_bomb_fast_naming_the_line(
    where: str, load: Callable[[str], object]
) -> None:
    started = time.perf_counter()
    with pytest.raises((CiActionsError, yaml.YAMLError)) as caught:
        load(BOMB)
    assert time.perf_counter() - started < 1.0
    text = str(caught.value)
    assert "YAML bomb" in text
    assert f"bomb.yaml:{BOMB_LINE}" in text or f"line {BOMB_LINE}," in text, text
    if isinstance(caught.value, CiActionsError):
        assert caught.value.exit_code == 2


@pytest.mark.parametrize(("where", "load"), LOADERS, ids=[w for w, _ in LOADERS])
@pytest.mark.parametrize("shape", ["flow", "block"])
def test_every_loader_refuses_deep_nesting(
    where: str, load: Callable[[str], object], shape: str
) -> None:
    text = "[" * 101 + "]" * 101 if shape == "flow" else "- " * 101 + "x\n"
    with pytest.raises((CiActionsError, yaml.YAMLError), match="deeper than 100 levels"):
        load(text)


def test_validate_manifests_exits_2_naming_the_file_in_well_under_a_second(
    tmp_path: Path,
) -> None:
    (tmp_path / "lol.yaml").write_text(BOMB)
    started = time.perf_counter()
    run = invoke(tmp_path / "run", "validate-manifests", ["--paths", "lol.yaml"], cwd=tmp_path)
    elapsed = time.perf_counter() - started
    assert run.code == 2, run.log
    assert f"lol.yaml:{BOMB_LINE}: its aliases expand to more than" in run.log
    assert elapsed < 2.0  # it used to take 12 s and 4 GB, then abort


def test_a_hundred_thousand_levels_do_not_crash_the_interpreter(tmp_path: Path) -> None:
    """libyaml's composer recurses per level: this used to be a segmentation fault."""
    code = (
        "import sys, yaml\n"
        "from ci_actions import yamlsafe\n"
        "deep = '[' * 100000 + ']' * 100000\n"
        "for text in (deep, 'a: 1\\n---\\n' + deep, '- ' * 100000 + 'x'):\n"
        "    try:\n"
        "        list(yaml.compose_all(text, Loader=yamlsafe.BoundedLoader))\n"
        "    except yaml.YAMLError as exc:\n"
        "        print(exc.problem)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["nests deeper than 100 levels"] * 3


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(yaml.YAMLError, match="contains it"):
        yamlsafe.load("a: &a [1, *a]\n")


def test_ordinary_anchors_and_merge_keys_load_as_pyyaml_loads_them() -> None:
    text = (
        "defaults: &defaults {replicas: 2, labels: &labels {app: api}}\n"
        "dev: {<<: *defaults, replicas: 1}\n"
        "prod: {<<: *defaults, labels: *labels}\n"
        "list: [*labels, *labels]\n"
    )
    assert yamlsafe.load(text) == yaml.safe_load(text)
    many = "base: &b {k: v}\n" + "".join(f"x{i}: *b\n" for i in range(5000))
    assert yamlsafe.load(many) == yaml.safe_load(many)  # many aliases, small expansion


def test_depth_counts_through_aliases() -> None:
    """Two 60-level halves, joined by an alias: 121 levels once followed."""
    text = "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    with pytest.raises(yaml.YAMLError, match="deeper than 100 levels"):
        yamlsafe.load(text)
    assert yamlsafe.load(text.replace("*a", "x")) is not None  # each half alone is fine
