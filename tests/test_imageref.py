import pytest

from ci_actions.imageref import ImageRefError, parse

DIGEST = "sha256:" + "a" * 64

# (text, name, tag, digest, registry, repository)
CASES = [
    ("nginx", "nginx", "", "", "docker.io", "library/nginx"),
    ("nginx:1.25", "nginx", "1.25", "", "docker.io", "library/nginx"),
    ("team/app:v1", "team/app", "v1", "", "docker.io", "team/app"),
    ("127.0.0.1:5000/app", "127.0.0.1:5000/app", "", "", "127.0.0.1:5000", "app"),
    ("127.0.0.1:5000/app:2", "127.0.0.1:5000/app", "2", "", "127.0.0.1:5000", "app"),
    (
        f"reg.example.com/a/b:t@{DIGEST}",
        "reg.example.com/a/b",
        "t",
        DIGEST,
        "reg.example.com",
        "a/b",
    ),
    (f"localhost/app@{DIGEST}", "localhost/app", "", DIGEST, "localhost", "app"),
]


@pytest.mark.parametrize(("text", "name", "tag", "digest", "registry", "repository"), CASES)
def test_parse(text: str, name: str, tag: str, digest: str, registry: str, repository: str) -> None:
    ref = parse(text)
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)
    assert (ref.registry, ref.repository) == (registry, repository)
    assert str(ref) == text


@pytest.mark.parametrize(
    "text", ["", "a b", "app:bad tag", "app:-x", "app@sha256:short", "reg:5000/"]
)
def test_invalid(text: str) -> None:
    with pytest.raises(ImageRefError):
        parse(text)
