import re

import pytest

from ci_actions.errors import InputError
from ci_actions.github.inputs import (
    ActionSpec,
    InputSpec,
    RawInputs,
    parse_bool,
    parse_csv_lines,
    parse_duration,
    parse_list,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("1h", 3600),
        ("1m30s", 90),
        ("2.5", 2.5),
        ("0", 0),
        ("1h2m3s", 3723),
        ("1.5m", 90),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration("timeout", text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5x", "m", "-3", "1s1m"])
def test_bad_durations_name_the_input(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_duration("rollout-timeout", text)
    assert "rollout-timeout" in str(err.value)
    assert err.value.exit_code == 2


@pytest.mark.parametrize(("text", "value"), [("true", True), ("TRUE", True), (" False ", False)])
def test_booleans(text: str, value: bool) -> None:
    assert parse_bool("push", text) is value


@pytest.mark.parametrize("text", ["yes", "1", "on", ""])
def test_other_booleans_are_errors(text: str) -> None:
    with pytest.raises(InputError, match="input 'push'"):
        parse_bool("push", text)


def test_lists_drop_comments_and_blanks() -> None:
    assert parse_list("a\n  # note\n\n b \n") == ["a", "b"]
    assert parse_list("a, b\nc", commas=True) == ["a", "b", "c"]
    assert parse_list("a, b\nc") == ["a, b", "c"]


def test_csv_lines_keep_quoted_commas() -> None:
    assert parse_csv_lines('type=raw,value=a\n"type=match,pattern=v(\\d),group=1"') == [
        ["type=raw", "value=a"],
        ["type=match,pattern=v(\\d),group=1"],
    ]


SPEC = ActionSpec(
    "x",
    "test",
    inputs=(
        InputSpec("name", "n", required=True),
        InputSpec("push", "p", default="false"),
        InputSpec("token", "t", secret=True),
    ),
)


def test_flag_wins_over_env_and_env_over_default() -> None:
    env = {"INPUT_NAME": "from-env", "INPUT_PUSH": "true"}
    raw = RawInputs.collect(SPEC, env, {"name": "from-flag"})
    assert raw.text("name") == "from-flag"
    assert raw.flag("push") is True
    assert RawInputs.collect(SPEC, {}, {}).flag("push") is False


def test_required_input_missing() -> None:
    raw = RawInputs.collect(SPEC, {}, {})
    with pytest.raises(InputError, match="input 'name': is required"):
        raw.check_required()


def test_secrets_are_listed_for_masking() -> None:
    raw = RawInputs.collect(SPEC, {"INPUT_TOKEN": "s3cret"}, {})
    assert raw.secrets() == ["s3cret"]


def test_unknown_input_name_in_code_fails_loudly() -> None:
    with pytest.raises(KeyError):
        RawInputs.collect(SPEC, {}, {}).text("nmae")


KINDS_SPEC = ActionSpec(
    "x",
    "test",
    inputs=(
        InputSpec("branch", "b", kind="ref"),
        InputSpec("version", "v", kind="tag"),
        InputSpec("digest", "d", kind="digest"),
        InputSpec("commit", "c", kind="sha"),
        InputSpec("image", "i", kind="image"),
        InputSpec("service", "s"),  # the default kind: one line
        InputSpec("reason", "r", kind="text"),
    ),
)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("branch", "--upload-pack=touch /tmp/x;git-upload-pack"),
        ("branch", "main\nother"),
        ("branch", "a..b"),
        ("version", "1.2.3\napp=evil.example/x:1"),  # the rollback.yml smuggling
        ("version", "-1"),
        ("digest", "sha256:abc"),
        ("commit", "--output=/tmp/x"),
        ("commit", "c" * 40 + "\nmain"),
        ("image", "registry.local/Team/api:1"),
        ("image", "team/api:1\nteam/other:2"),
        ("service", "api\nprod"),
        ("service", "api\rprod"),
        ("reason", "free\0text"),
    ],
)
def test_single_values_are_checked_against_their_kind(name: str, value: str) -> None:
    raw = RawInputs.collect(KINDS_SPEC, {}, {name: value})
    with pytest.raises(InputError, match=f"input '{name}'"):
        raw.check_values()


def test_free_text_keeps_its_lines_and_empty_values_pass() -> None:
    raw = RawInputs.collect(
        KINDS_SPEC,
        {},
        {
            "reason": "two\nlines --output=x",
            "branch": "",
            "version": " 1.2.3 ",
            "commit": "abc1234",
        },
    )
    raw.check_values()
    assert raw.raw_text("reason") == "two\nlines --output=x"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("100000000000000000000", "not a whole number"),  # 10^20: no 20-digit counts
        ("1000001", "above the maximum"),
        ("1e3", "not a whole number"),
        ("-1", "below the minimum"),
    ],
)
def test_integers_are_bounded(value: str, error: str) -> None:
    spec = ActionSpec("x", "t", inputs=(InputSpec("n", "n"),))
    with pytest.raises(InputError, match=error):
        RawInputs.collect(spec, {}, {"n": value}).integer("n", minimum=0)


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "1e7"])
def test_numbers_and_durations_are_finite_and_bounded(value: str) -> None:
    spec = ActionSpec("x", "t", inputs=(InputSpec("n", "n"),))
    raw = RawInputs.collect(spec, {}, {"n": value})
    with pytest.raises(InputError, match="input 'n'"):
        raw.number("n")
    with pytest.raises(InputError, match="input 'n'"):
        raw.duration("n")


def test_every_declared_kind_is_known() -> None:
    import importlib

    from ci_actions.actions import ACTIONS
    from ci_actions.github.inputs import KINDS

    for module in ACTIONS.values():
        for item in importlib.import_module(module).SPEC.inputs:
            assert item.kind in KINDS, (module, item.name, item.kind)


def test_a_refused_secret_is_not_shown() -> None:
    raw = RawInputs.collect(SPEC, {}, {"token": "s3cret\nsecond-line"})
    with pytest.raises(InputError, match="input 'token'") as refused:
        raw.check_values()
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize("name", [i.name for i in KINDS_SPEC.inputs])
@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"caf\xe9", "byte 0xe9 at offset 3 (line 1)"),  # Latin-1
        (b"ok\nthen \xc3(", "byte 0xc3 at offset 8 (line 2)"),  # a lead byte without its tail
        (b"\xed\xa0\x80", "byte 0xed at offset 0 (line 1)"),  # an encoded surrogate
    ],
)
def test_a_value_that_is_not_utf8_is_refused_whatever_its_kind(
    name: str, raw: bytes, where: str
) -> None:
    value = raw.decode("utf-8", "surrogateescape")  # as os.environ and argv hold such bytes
    inputs = RawInputs.collect(KINDS_SPEC, {f"INPUT_{name.upper()}": value})
    expected = re.escape(f"input '{name}': is not UTF-8 text: {where}")
    with pytest.raises(InputError, match=expected):
        inputs.check_values()


def test_a_secret_that_is_not_utf8_is_masked_around_the_bytes() -> None:
    value = b"Bearer s3cret-token\xff\xfeand-more".decode("utf-8", "surrogateescape")
    raw = RawInputs.collect(SPEC, {}, {"token": value})
    assert raw.secrets() == ["Bearer s3cret-token", "and-more"]  # printable, and nothing lost
    with pytest.raises(InputError, match="input 'token': is not UTF-8 text") as refused:
        raw.check_values()
    assert "s3cret" not in str(refused.value)
