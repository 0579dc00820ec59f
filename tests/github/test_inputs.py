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
