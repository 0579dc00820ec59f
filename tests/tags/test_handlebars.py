"""The Handlebars subset: values, helpers with arguments, escaping."""

from __future__ import annotations

from typing import Any

import pytest

from ci_actions.tags.handlebars import TemplateError, parse, render

SCOPE: dict[str, Any] = {
    "branch": lambda p, n: "feat/a&b",
    "n": 3,
    "list": ["beta", 67],
    "flag": False,
    "echo": lambda p, n: "|".join(str(x) for x in p) + "".join(f";{k}={v}" for k, v in n.items()),
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("plain text", "plain text"),
        ("{{branch}}", "feat/a&amp;b"),
        ("{{{branch}}}", "feat/a&b"),
        ("{{& branch}}", "feat/a&b"),
        ("{{ branch }}-x", "feat/a&amp;b-x"),
        ("{{n}}.{{list}}.{{flag}}", "3.beta,67.false"),
        ("{{missing}}!", "!"),
        ("{{echo 'a b' \"c\" 5 tz='Asia/Tokyo'}}", "a b|c|5;tz&#x3D;Asia/Tokyo"),
        ("{{echo n}}", "3"),
        ("\\{{branch}} {{n}}", "{{branch}} 3"),
        ("a{{! a comment }}b", "ab"),
        ("a {{~n~}} b", "a3b"),
        ("'<>\"`=", "'<>\"`="),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, SCOPE) == expected


@pytest.mark.parametrize(
    "template",
    ["{{#if flag}}x{{/if}}", "{{unclosed", "{{missing 'arg'}}", "{{}}", "{{echo a=}}"],
)
def test_errors(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, SCOPE)


@pytest.mark.parametrize(
    ("template", "single_raw"),
    [("{{raw}}", True), ("{{ raw }}", True), ("{{raw}}.{{version}}", False), ("v{{raw}}", False)],
)
def test_single_mustache(template: str, single_raw: bool) -> None:
    assert parse(template).is_single("raw") is single_raw
