"""The step summaries of image-build and image-promote, against golden Markdown."""

from __future__ import annotations

from ci_actions.actions import image_build, image_promote
from tests.support.golden import assert_golden


def test_image_build_summary() -> None:
    metadata: dict[str, object] = {
        "builder": "buildah",
        "digest": "sha256:" + "1" * 64,
        "size": 1008,
        "build-seconds": 4.2,
        "push-seconds": 0.9,
    }
    tags = ["127.0.0.1:5000/team/api:sha-abc1234", "127.0.0.1:5000/team/api:main"]
    text = image_build.summary(metadata, tags, pushed=True)
    assert_golden("image-build/summary.md", text)


def test_image_promote_summary() -> None:
    text = image_promote.summary(
        "127.0.0.1:5000/build/api:sha-abc1234",
        "sha256:" + "2" * 64,
        ["127.0.0.1:5000/build/api:stable", "127.0.0.1:5000/release/api:1.0"],
        mounted=2,
    )
    assert_golden("image-promote/summary.md", text)
