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


def _collection_depth(text: str) -> int:
    """How deep the collections of `text` nest, as libyaml composes them (0: a scalar)."""
    deepest = 0
    for root in yaml.compose_all(text, Loader=yaml.CSafeLoader):
        stack: list[tuple[Any, int]] = [(root, 0)]
        while stack:
            node, level = stack.pop()
            if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
                level += 1
                deepest = max(deepest, level)
                for item in node.value:  # a node, or a (key, value) pair of nodes
                    parts = item if isinstance(item, tuple) else (item,)
                    stack.extend((part, level) for part in parts)
    return deepest


def _indentless(levels: int, step: int) -> str:
    """`k:` / `- k:` chains: a mapping and the sequence at its own column, `step` columns deeper each line."""
    return (
        "k:\n"
        + "".join(" " * (step * i) + "- k:\n" for i in range(levels))
        + " " * (step * levels)
        + "- x\n"
    )


# Documents that nest as deep as their layout allows, each in a way of its own.
DEEP_LAYOUTS = {
    "compact block sequences on one line": "- " * 400 + "x\n",
    "compact sequences, then a mapping": "- " * 300 + "k: x\n",
    "indentless sequences": _indentless(300, 2),
    "explicit keys": "? " * 300 + "x\n",
    "flow sequences": "[" * 400 + "]" * 400 + "\n",
    "flow mappings": "{a: " * 300 + "x" + "}" * 300 + "\n",
    "single pairs in flow sequences": "[a: " * 300 + "x" + "]" * 300 + "\n",
    "flow over several lines": "".join("[\n" for _ in range(300)) + "]" * 300 + "\n",
    "block, then flow inside": _indentless(100, 2).replace("- x", "- " + "[" * 200 + "]" * 200),
    "lines broken by NEL": "k:\x85"
    + "".join(" " * (2 * i) + "- k:\x85" for i in range(200))
    + " " * 400
    + "- x\n",
    "a long scalar on one line": "a: " + "x" * 5000 + "\nb: [" + "1, " * 2000 + "2]\n",
}


@pytest.mark.parametrize("text", DEEP_LAYOUTS.values(), ids=DEEP_LAYOUTS.keys())
def test_the_cheap_nesting_bounds_are_never_below_the_real_depth(text: str) -> None:
    """Both bounds must hold: a document that nests deeper than its bound would reach
    libyaml's recursive composer without the event count that keeps it from crashing."""
    depth = _collection_depth(text)
    assert depth > 0
    assert yamlsafe._indicator_bound(text) >= depth
    assert yamlsafe._layout_bound(text) >= depth
    assert yamlsafe._nesting_bound(text) >= depth


def _nested(draw: Any, depth: int) -> object:
    from hypothesis import strategies as st

    if depth == 0 or draw(st.booleans()):
        return draw(st.text("ab -:[]{}#'\"", max_size=6))
    width = draw(st.integers(1, 2))
    if draw(st.booleans()):
        return [_nested(draw, depth - 1) for _ in range(width)]
    return {f"k{i}": _nested(draw, depth - 1) for i in range(width)}


def test_the_nesting_bounds_hold_for_any_dumped_structure() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.data(), st.sampled_from([True, False, None]), st.integers(2, 8))
    def check(data: Any, flow: bool | None, indent: int) -> None:
        value = _nested(data.draw, 40)
        text = yaml.dump(
            value, Dumper=yaml.CSafeDumper, default_flow_style=flow, indent=indent, width=60
        )
        depth = _collection_depth(text)
        assert yamlsafe._indicator_bound(text) >= depth
        assert yamlsafe._layout_bound(text) >= depth

    check()


def test_a_long_services_file_is_checked_without_a_second_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over a thousand indicators in short lines (100 services) prove their depth from the layout."""
    service = (
        "  - name: svc{i}\n    context: services/svc{i}\n    paths: [lib/**, pyproject.toml]\n"
        "    environments:\n      dev: {{workloads: [deployment/svc{i}], health-url: 'http://x/h'}}\n"
    )
    text = "services:\n" + "".join(service.format(i=i) for i in range(100))
    assert yamlsafe._indicator_bound(text) > yamlsafe._COMPOSER_SAFE_DEPTH
    parsed: list[str] = []
    monkeypatch.setattr(yamlsafe, "_check_events", lambda text, base: parsed.append(text))
    assert yamlsafe.load(text) == yaml.safe_load(text)
    assert parsed == []
    deep = text + "x: " + "[" * 1200 + "]" * 1200 + "\n"
    with pytest.raises(yaml.YAMLError, match="deeper than 100 levels"):
        yamlsafe.load(deep)
    assert parsed == [deep]  # still counted first when the layout cannot prove it
