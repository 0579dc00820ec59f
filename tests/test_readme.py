"""README.md documents every action: its inputs and outputs tables match its action.yml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ci_actions.actions import ACTIONS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
NAME = re.compile(r"`([a-z0-9-]+)`")


def section(name: str) -> str:
    match = re.search(
        rf"<!-- BEGIN {re.escape(name)} -->\n(.*?)<!-- END {re.escape(name)} -->", README, re.S
    )
    assert match, f"README.md has no <!-- BEGIN {name} --> ... <!-- END {name} --> section"
    return match.group(1)


def table_names(text: str, kind: str) -> list[str]:
    """Names in the first column of the table whose header starts with `| kind |`."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"\|\s*{kind}\s*\|", line):
            names: list[str] = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                names += NAME.findall(row.split("|")[1])
            return names
    raise AssertionError(f"no | {kind} | table")


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_tables_match_action_yml(name: str) -> None:
    text = section(name)
    assert f"### `{name}`" in text, f"the {name} section has no ### `{name}` heading"
    data = yaml.safe_load((ROOT / "actions" / name / "action.yml").read_text())
    for kind in ("input", "output"):
        declared = list(data.get(f"{kind}s") or {})
        documented = table_names(text, kind)
        assert sorted(set(documented)) == sorted(documented), f"{name}: a {kind} is listed twice"
        assert set(documented) == set(declared), (
            f"{name}: README {kind}s differ from action.yml: "
            f"missing {sorted(set(declared) - set(documented))}, "
            f"unknown {sorted(set(documented) - set(declared))}"
        )


def test_the_check_catches_a_missing_row() -> None:
    text = section("changes").replace(
        "| `filters` | | YAML mapping", "| `filterz` | | YAML mapping"
    )
    assert "filterz" in table_names(text, "input") and "filters" not in table_names(text, "input")


def test_templates_section_names_every_template() -> None:
    text = section("templates")
    for name in ("cicd", "monitor", "rollback"):
        assert f"`{name}.yml`" in text
