import pytest

from ci_actions.pathfilter import PathFilter, classify, compile_glob, parse_filters

# (pattern, path, matches): the rules of GitHub's `paths:` filter syntax.
CASES = [
    ("**/*.md", "README.md", True),
    ("**/*.md", "docs/a/b.md", True),
    ("**/*.md", "src/a.py", False),
    ("*.md", "README.md", True),
    ("*.md", "docs/a.md", False),
    ("docs/**", "docs/a/b/c.png", True),
    ("docs/**", "docs", False),
    ("docs/**", "mydocs/a", False),
    ("LICENSE*", "LICENSE", True),
    ("LICENSE*", "LICENSE.txt", True),
    ("LICENSE*", "sub/LICENSE", False),
    (".github/ISSUE_TEMPLATE/**", ".github/ISSUE_TEMPLATE/bug.yml", True),
    ("src/*.py", "src/a.py", True),
    ("src/*.py", "src/x/a.py", False),
    ("src/**/*.py", "src/a.py", True),
    ("src/**/*.py", "src/x/y/a.py", True),
    ("a?.txt", "ab.txt", True),
    ("a?.txt", "a/.txt", False),
    ("[abc].txt", "b.txt", True),
    ("[!abc].txt", "b.txt", False),
    ("*.{yml,yaml}", "k.yaml", True),
    ("*.{yml,yaml}", "k.json", False),
    ("**", "any/thing/at/all", True),
    ("*", ".hidden", True),
    ("a+b(c).txt", "a+b(c).txt", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), CASES)
def test_glob_table(pattern: str, path: str, expected: bool) -> None:
    assert compile_glob(pattern).matches(path) is expected


def test_filter_exclusions() -> None:
    backend = PathFilter.from_patterns("backend", ["src/**", "!src/**/*.md"])
    assert backend.select(["src/a.py", "src/README.md", "web/x.js"]) == ["src/a.py"]


@pytest.mark.parametrize(
    ("files", "docs_only"),
    [
        (["README.md", "docs/x.png"], True),
        (["README.md", "src/app.py"], False),
        ([], False),
        (["LICENSE"], True),
    ],
)
def test_docs_only(files: list[str], docs_only: bool) -> None:
    globs = ["**/*.md", "docs/**", "LICENSE*"]
    assert classify(files, globs, []).docs_only is docs_only


@pytest.mark.parametrize("data", [["a"], {"x": 3}, {"x": [1]}, {"": ["a"]}, "text"])
def test_bad_filters(data: object) -> None:
    with pytest.raises(ValueError):
        parse_filters(data)


def test_single_string_filter() -> None:
    (f,) = parse_filters({"web": "web/**"})
    assert f.include == ("web/**",)


@pytest.mark.parametrize(
    ("files", "docs_only"),
    [
        # fastapi/full-stack-fastapi-template: its screenshots live in img/ at the root
        (["README.md", "img/dashboard.png"], True),
        (["README.md", "docs/img/screenshot.png"], True),
        (["backend/README.md", "docs/api.rst"], True),
        # an image the application serves is not documentation
        (["README.md", "frontend/public/assets/images/logo.png"], False),
        (["frontend/img/logo.png"], False),
    ],
)
def test_default_docs_globs(files: list[str], docs_only: bool) -> None:
    from ci_actions.actions.changes import DEFAULT_DOCS_GLOBS

    assert classify(files, DEFAULT_DOCS_GLOBS.split("\n"), []).docs_only is docs_only


# Plain paths and plain folders' `**` are matched without a regex: the same answers as the
# general translation gives, on the paths around their edges.
SHORTCUT_PATTERNS = ["lib/**", "/lib/**", "services/api/**", "pyproject.toml", "a.b/c-d/**", "/"]
SHORTCUT_PATHS = ["lib", "lib/", "lib/x.py", "lib/a/b", "libx/a", "xlib/a", "services/api",
                  "services/api/Dockerfile", "services/apix/a", "pyproject.toml",
                  "pyproject.tomlx", "sub/pyproject.toml", "a.b/c-d/e", "aXb/c-d/e", "/", ""]  # fmt: skip


@pytest.mark.parametrize("pattern", SHORTCUT_PATTERNS)
def test_shortcuts_agree_with_the_translation(pattern: str) -> None:
    import re

    from ci_actions.pathfilter.globs import _translate

    glob = compile_glob(pattern)
    assert glob.regex is None  # the shortcut is taken
    general = re.compile(_translate(pattern.lstrip("/") if pattern != "/" else pattern))
    for path in SHORTCUT_PATHS:
        assert glob.matches(path) is (general.fullmatch(path) is not None), (pattern, path)
