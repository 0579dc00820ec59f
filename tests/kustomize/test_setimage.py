"""Image arguments: the forms kustomize accepts, and the ones it refuses."""

from __future__ import annotations

import pytest

from ci_actions.kustomize.setimage import (
    ImageArgError,
    ImageSetting,
    apply_to_reference,
    matches,
    parse_image_arg,
    split_image,
)

D = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("app:v1", ImageSetting("app", "", "v1", "")),
        (f"app@{D}", ImageSetting("app", "", "", D)),
        (f"app:v1@{D}", ImageSetting("app", "", "v1", D)),
        ("app=other", ImageSetting("app", "other", "", "")),
        ("app=other:v1", ImageSetting("app", "other", "v1", "")),
        (f"app=other@{D}", ImageSetting("app", "other", "", D)),
        (f"app=other:v1@{D}", ImageSetting("app", "other", "v1", D)),
        ("app=*:v1", ImageSetting("app", "*", "v1", "")),
        ("app=other:*", ImageSetting("app", "other", "*", "")),
        ("app=other@*", ImageSetting("app", "other", "", "*")),
        # `:` before the first `/` is a registry port, never a tag
        ("127.0.0.1:5000/team/app:2.0", ImageSetting("127.0.0.1:5000/team/app", "", "2.0", "")),
        ("app=localhost:5000/p/app", ImageSetting("app", "localhost:5000/p/app", "", "")),
        (
            f"reg:5000/app=reg:5001/x/app:3@{D}",
            ImageSetting("reg:5000/app", "reg:5001/x/app", "3", D),
        ),
        ("  app:v1  ", ImageSetting("app", "", "v1", "")),
    ],
)
def test_forms(arg: str, expected: ImageSetting) -> None:
    assert parse_image_arg(arg) == expected


@pytest.mark.parametrize(
    ("arg", "says"),
    [
        ("app", "sets neither"),
        ("127.0.0.1:5000/team/app", "sets neither"),
        ("", "not an image argument"),
        ("app:v 1", "not an image argument"),
        ("=other:v1", "both sides"),
        ("app=", "both sides"),
        ("app:", "empty tag"),
        ("app:v1@", "empty tag or digest"),
        ("app:bad!tag", "not a valid tag"),
        ("app:bad/tag", "sets neither"),  # `:` before the first `/` is no tag
        ("app@sha256:short", "not a digest"),
        ("*:v1", "invalid image name"),
        ("registry:5000/Team/app:v1", "invalid path component 'Team'"),  # Docker: lower case
        ("app=registry:5000/team/" + "a" * 300 + ":v1", "1 to 255 characters"),
        ("A" * 120_000 + "=app:v1", "1 to 255 characters"),  # the name matched, too
    ],
)
def test_refused(arg: str, says: str) -> None:
    with pytest.raises(ImageArgError, match=says):
        parse_image_arg(arg)


@pytest.mark.parametrize(
    ("ref", "parts"),
    [
        ("app", ("app", "", "")),
        ("app:1", ("app", "1", "")),
        ("localhost:5000/app", ("localhost:5000/app", "", "")),
        ("localhost:5000/app:1", ("localhost:5000/app", "1", "")),
        (f"a/b@{D}", ("a/b", "", D)),
        (f"r:1/a:t@{D}", ("r:1/a", "t", D)),
    ],
)
def test_split(ref: str, parts: tuple[str, str, str]) -> None:
    assert split_image(ref) == parts


@pytest.mark.parametrize(
    ("arg", "ref", "result"),
    [
        ("app:v2", "app:v1", "app:v2"),
        ("app:v2", f"app:v1@{D}", "app:v2"),  # a new tag drops the old digest
        (f"app@{D}", "app:v1", f"app@{D}"),  # a new digest drops the old tag
        (f"app:v2@{D}", "app:v1", f"app:v2@{D}"),
        ("app=reg/app", "app:v1", "reg/app:v1"),  # a new name keeps the tag
        ("app=*:v2", "app:v1", "app:v2"),
        ("app=reg/app:*", "app:v1", "reg/app:v1"),
    ],
)
def test_apply_to_reference(arg: str, ref: str, result: str) -> None:
    assert apply_to_reference(parse_image_arg(arg), ref) == result


def test_match_includes_registry_and_port() -> None:
    assert matches("reg:5000/team/app:1", "reg:5000/team/app")
    assert not matches("reg:5001/team/app:1", "reg:5000/team/app")
    assert not matches("reg:5000/team/app:1", "team/app")
    assert not matches("reg:5000/team/app-worker:1", "reg:5000/team/app")
