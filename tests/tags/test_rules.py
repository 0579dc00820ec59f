"""Parsing of tag rules, flavor and images, and the errors for bad lines."""

from __future__ import annotations

import pytest

from ci_actions.tags.rules import (
    Flavor,
    Image,
    RuleError,
    csv_fields,
    parse_flavor,
    parse_images,
    parse_rule,
    parse_rules,
    split_list,
)


@pytest.mark.parametrize(
    ("line", "type_", "attrs"),
    [
        ("type=schedule", "schedule", {"pattern": "nightly", "enable": "true", "priority": "1000"}),
        (
            "type=semver,pattern={{version}}",
            "semver",
            {
                "pattern": "{{version}}",
                "value": "",
                "match": "",
                "enable": "true",
                "priority": "900",
            },
        ),
        (
            "type=match,pattern=v(.*),group=1",
            "match",
            {"pattern": "v(.*)", "group": "1", "value": "", "enable": "true", "priority": "800"},
        ),
        ("type=edge", "edge", {"branch": "", "enable": "true", "priority": "700"}),
        (
            "type=ref,event=pr",
            "ref",
            {"event": "pr", "prefix": "pr-", "enable": "true", "priority": "600"},
        ),
        ("foo", "raw", {"value": "foo", "enable": "true", "priority": "200"}),
        ("type=raw, value = a=b ", "raw", {"value": "a=b", "enable": "true", "priority": "200"}),
        (
            "type=sha",
            "sha",
            {"prefix": "sha-", "format": "short", "enable": "true", "priority": "100"},
        ),
        (
            "TYPE=sha,Priority=5,prefix=",
            "sha",
            {"priority": "5", "prefix": "", "format": "short", "enable": "true"},
        ),
    ],
)
def test_defaults(line: str, type_: str, attrs: dict[str, str]) -> None:
    rule = parse_rule(line)
    assert rule.type == type_
    assert rule.attrs == attrs


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("type=foo", "unknown tag type 'foo'"),
        ("type=sha,colour=red", "unknown attribute 'colour' for type=sha"),
        ("type=semver", "missing pattern"),
        ("type=pep440,value=1", "missing pattern"),
        ("type=match,pattern=x,group=one", "invalid match group"),
        ("type=ref", "missing event"),
        ("type=ref,event=commit", "invalid event 'commit'"),
        ("type=raw", "missing value"),
        ("type=sha,format=medium", "invalid format 'medium'"),
    ],
)
def test_bad_rules(line: str, message: str) -> None:
    with pytest.raises(RuleError, match=message) as err:
        parse_rule(line)
    assert err.value.line == line


def test_priority_order_is_stable() -> None:
    rules = parse_rules(["type=sha", "type=raw,value=a", "type=raw,value=b", "type=ref,event=tag"])
    assert [str(r.attrs.get("value", r.type)) for r in rules] == ["ref", "a", "b", "sha"]


def test_default_rules() -> None:
    assert [(r.type, r.attrs.get("event")) for r in parse_rules([])] == [
        ("schedule", None),
        ("ref", "branch"),
        ("ref", "tag"),
        ("ref", "pr"),
    ]


def test_split_list() -> None:
    text = '# comment\ntype=sha\n\n"type=raw,value=a",suffix=-x\n  # indented is kept\n'
    assert split_list(text) == ["type=sha", "type=raw,value=a,suffix=-x", "# indented is kept"]


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ("a,b", ["a", "b"]),
        ('"a,b",c', ["a,b", "c"]),
        ('a,"b ""x"""', ["a", 'b "x"']),
        ("a,", ["a", ""]),
        ("", [""]),
    ],
)
def test_csv_fields(line: str, fields: list[str]) -> None:
    assert csv_fields(line) == fields


@pytest.mark.parametrize("line", ['a,b"c', '"ab"c', '"open'])
def test_csv_fields_refuses_misplaced_quotes(line: str) -> None:
    with pytest.raises(RuleError):
        csv_fields(line)


def test_flavor() -> None:
    assert parse_flavor(["latest=false", "prefix=p-,onlatest=true", "suffix=-s"]) == Flavor(
        "false", "p-", True, "-s", False
    )
    for bad in ("latest=maybe", "prefix", "onlatest=yes", "colour=blue"):
        with pytest.raises(RuleError):
            parse_flavor([bad])


def test_images() -> None:
    assert parse_images(["a/b,c/d"]) == [Image("a/b"), Image("c/d")]
    assert parse_images(["name=a/b,enable=false", "c/d"]) == [Image("a/b", False), Image("c/d")]
    for bad in (["name=a,enable=yes"], ["name=a,push=true"], ["enable=true"]):
        with pytest.raises(RuleError):
            parse_images(bad)
