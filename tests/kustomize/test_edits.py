"""Edge cases of the span edits and the files refused (exit 2, file and line named)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_actions.kustomize import YamlFileError, find_files, parse_image_arg, plan
from ci_actions.kustomize.bump import PathsError, bump_text

IMG = [parse_image_arg("app:v2")]


def _kust(text: str, args: tuple[str, ...] = ("app:v2",)) -> str:
    return bump_text(text, "kustomization.yaml", True, [parse_image_arg(a) for a in args])[0]


def test_crlf_file_keeps_crlf_line_ends() -> None:
    before = "resources:\r\n- a.yaml\r\nimages:\r\n- name: app\r\n  newTag: v1\r\n"
    assert _kust(before, ("app=reg/app:v2",)) == (
        "resources:\r\n- a.yaml\r\nimages:\r\n- name: app\r\n  newTag: v2\r\n  newName: reg/app\r\n"
    )


def test_no_final_newline() -> None:
    assert _kust("images:\n- name: app\n  newTag: v1") == "images:\n- name: app\n  newTag: v2"
    assert _kust("resources: []") == "resources: []\nimages:\n- name: app\n  newTag: v2\n"


def test_empty_file_gets_images() -> None:
    assert _kust("") == "images:\n- name: app\n  newTag: v2\n"
    assert _kust("# nothing yet\n") == "# nothing yet\nimages:\n- name: app\n  newTag: v2\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # the file ends in the comment block of its last key: images: is set apart from it
        (
            "resources:\n- ../base\n# replicas:\n# - name: app\n",
            "resources:\n- ../base\n# replicas:\n# - name: app\n\nimages:\n- name: app\n  newTag: v2\n",
        ),
        (
            "patches:\n- path: p.yaml\n  # - path: later.yaml",
            "patches:\n- path: p.yaml\n  # - path: later.yaml\n\nimages:\n- name: app\n  newTag: v2\n",
        ),
        # no comment at the end: right after the last key, as before
        ("resources:\n- ../base\n", "resources:\n- ../base\nimages:\n- name: app\n  newTag: v2\n"),
    ],
)
def test_new_images_block_is_not_part_of_a_trailing_comment_block(before: str, after: str) -> None:
    assert _kust(before) == after


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("images:\nx: 1\n", "images:\n- name: app\n  newTag: v2\nx: 1\n"),
        ("images: ~  # none\n", "images:  # none\n- name: app\n  newTag: v2\n"),
        ("images: []\n", "images:\n- name: app\n  newTag: v2\n"),
        ("  # x\nimages:\n", "  # x\nimages:\n- name: app\n  newTag: v2\n"),
    ],
)
def test_empty_images_key_is_filled(before: str, after: str) -> None:
    assert _kust(before) == after


def test_unchanged_value_is_not_rewritten() -> None:
    before = "images:\n- name: app\n  newTag: 'v2'   # same\n"
    assert _kust(before) == before


def test_null_field_is_replaced() -> None:
    assert _kust("images:\n- name: app\n  newTag:\n  newName: x\n", ("app:v2",)) == (
        "images:\n- name: app\n  newTag: v2\n"
    )


def test_entry_with_name_not_first_and_extra_indent() -> None:
    before = "images:\n  -   digest: sha256:0\n      name: app   # here\n      tagSuffix: -x\n"
    assert _kust(before) == "images:\n  -   name: app   # here\n      newTag: v2\n"
    before = "images:\n  -   newTag: v1\n      name: app\n      tagSuffix: -x\n"
    assert _kust(before) == "images:\n  -   newTag: v2\n      name: app\n"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("images:\n- name: app\n  newTag: [v1\n", 4, "not valid YAML"),
        ("- a\n- b\n", 1, "not a mapping"),
        ("images: app\n", 1, "not a list"),
        ("images:\n- app:v1\n", 2, "not a mapping"),
        ("images:\n- newTag: v1\n", 2, "no `name`"),
        ("images:\n- name: app\n  newTag: {a: 1}\n", 3, "non-scalar"),
        ("a: 1\n---\nb: 2\n", 3, "several documents"),
    ],
)
def test_bad_kustomization_names_file_and_line(text: str, line: int, says: str) -> None:
    with pytest.raises(YamlFileError, match=says) as err:
        _kust(text)
    assert err.value.file == "kustomization.yaml"
    assert err.value.line == line
    assert err.value.exit_code == 2


def test_bad_file_writes_nothing_anywhere(tmp_path: Path) -> None:
    good = tmp_path / "a" / "kustomization.yaml"
    bad = tmp_path / "b" / "kustomization.yaml"
    good.parent.mkdir()
    bad.parent.mkdir()
    good.write_text("images:\n- name: app\n  newTag: v1\n")
    bad.write_text("images: [\n")
    with pytest.raises(YamlFileError, match=r"b/kustomization.yaml:\d+"):
        plan(tmp_path, find_files(tmp_path, ["a", "b"]), IMG)
    assert good.read_text() == "images:\n- name: app\n  newTag: v1\n"


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_bytes(b"images: []\n# \xff\n")
    with pytest.raises(YamlFileError, match=r"kustomization\.yaml:2: is not UTF-8"):
        plan(tmp_path, find_files(tmp_path, ["."]), IMG)


def test_paths(tmp_path: Path) -> None:
    for rel in (
        "o/prod/kustomization.yaml",
        "o/dev/kustomization.yml",
        "o/dev/app.yaml",
        "o/x.txt",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}\n")
    found = find_files(tmp_path, ["o/prod", "o/**/*", "o/dev/app.yaml"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "o/prod/kustomization.yaml",
        "o/dev/kustomization.yml",  # `o/dev` matched the glob: its kustomization
        "o/dev/app.yaml",
    ]
    assert [p.relative_to(tmp_path).as_posix() for p in find_files(tmp_path, ["o/*"])] == [
        "o/dev/kustomization.yml",
        "o/prod/kustomization.yaml",
    ]
    (tmp_path / "o" / "link.yaml").symlink_to("/etc/hostname")
    with pytest.raises(PathsError, match="outside the repository"):
        find_files(tmp_path, ["o/link.yaml"])
    for bad, says in [
        ("o", "without a kustomization"),
        ("nope", "does not exist"),
        ("o/*.json", "matches no YAML"),
        ("o/*/x", "matches no YAML"),
        ("../x", "outside"),
        ("/etc", "outside"),
    ]:
        with pytest.raises(PathsError, match=says):
            find_files(tmp_path, [bad])


def test_manifest_marker_and_container_on_the_same_scalar() -> None:
    text = (
        "kind: Pod\nspec:\n  containers:\n  - name: a\n"
        '    image: app:v1 # {"$imagepolicy": "flux-system:app"}\n'
    )
    after, changes = bump_text(text, "pod.yaml", False, IMG)
    assert after == text.replace("app:v1", "app:v2")
    assert {(c.previous, c.current) for c in changes} == {("app:v1", "app:v2")}


@pytest.mark.parametrize(
    ("line", "arg", "expected"),
    [
        # a lone :tag marker belongs to the image whose last path segment is the policy name
        ('tag: "1.0" # {"$imagepolicy": "flux-system:api:tag"}', "reg:5000/team/api:1.1", '"1.1"'),
        ('tag: "1.0" # {"$imagepolicy": "flux-system:web:tag"}', "reg:5000/team/api:1.1", '"1.0"'),
        # :name and :digest markers take only that part
        ('repo: reg/api # {"$imagepolicy": "ns:api:name"}', "reg/api=mirror/api:2", "mirror/api"),
        (
            'digest: "" # {"$imagepolicy": "ns:api:digest"}',
            "x/api@sha256:" + "d" * 64,
            '"sha256:' + "d" * 64 + '"',
        ),
        # a whole-reference marker matches by the reference's own name
        ('image: reg/api:1 # {"$imagepolicy": "ns:other"}', "reg/api:2", "reg/api:2"),
        ('image: reg/api:1 # {"$imagepolicy": "ns:api"}', "mirror/api:2", "reg/api:1"),
        # not a marker: inside a quoted value, or a broken comment
        ('image: \'reg/api:1 # {"$imagepolicy": "ns:api"}\'', "reg/api:2", None),
        ('tag: "1" # {"$imagepolicy": ns:api:tag}', "x/api:2", '"1"'),
    ],
)
def test_setter_markers(line: str, arg: str, expected: str | None) -> None:
    text = f"values:\n  {line}\n"
    after, _ = bump_text(text, "values.yaml", False, [parse_image_arg(arg)])
    if expected is None:
        assert after == text
    else:
        key, _, rest = line.partition(": ")
        value_end = rest.index(" #")
        assert after == f"values:\n  {key}: {expected}{rest[value_end:]}\n"


def test_flow_entry_in_a_block_list_stays_flow() -> None:
    before = (
        "images:\n- {name: app, newName: x, newTag: v1}  # one line\n- name: b\n  newTag: '1'\n"
    )
    assert _kust(before, ("app:v2", "b:2")) == (
        "images:\n- {name: app, newTag: v2}  # one line\n- name: b\n  newTag: '2'\n"
    )
