"""Properties over generated kustomizations: the set semantics hold, every other line stays."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_actions.kustomize.bump import bump_text
from ci_actions.kustomize.setimage import parse_image_arg

NAMES = ["alpha", "beta", "reg.io:5000/team/gamma", "delta", "zeta/eta"]
TAGS = ["v1", "1.2.3", "10", "1.10", "latest", "2024.06.1", "1e3"]
DIGEST = "sha256:" + "c" * 64
FIELDS = ("newName", "newTag", "digest")


@st.composite
def kustomizations(draw: st.DrawFn) -> tuple[str, list[dict[str, str]]]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    indent = draw(st.sampled_from(["", "  "]))
    lines = ["# keep: header", "resources:", f"{indent}- base  # keep: resource", ""]
    entries = []
    if names or draw(st.booleans()):
        lines.append("images:  # keep: images key")
    for name in names:
        entry = {"name": name}
        if draw(st.booleans()):
            entry["newName"] = f"mirror.local/{name.rsplit('/', 1)[-1]}"
        if draw(st.booleans()):
            entry["newTag"] = draw(st.sampled_from(TAGS))
        elif draw(st.booleans()):
            entry["digest"] = DIGEST
        entries.append(entry)
        quote = draw(st.sampled_from(['"', "'", ""]))
        rendered = [
            f"{k}: {quote}{v}{quote}" if k == "newTag" else f"{k}: {v}" for k, v in entry.items()
        ]
        if quote == "" and "newTag" in entry:  # plain only where YAML keeps it a string
            rendered = [
                r if not r.startswith("newTag") else f'newTag: "{entry["newTag"]}"'
                for r in rendered
            ]
        rendered = draw(st.permutations(rendered))  # kustomize itself writes `digest` first
        if draw(st.booleans()):
            lines.append(f"{indent}# keep: comment above {name}")
        lines.append(f"{indent}- {rendered[0]}")
        lines += [f"{indent}  {r}" for r in rendered[1:]]
        if draw(st.booleans()):
            lines.append("")
    if not names and lines[-1].startswith("images:"):
        lines[-1] = "images: []  # keep: images key"
    lines += ["namePrefix: p-  # keep: after"]
    return "\n".join(lines) + "\n", entries


arguments = st.tuples(
    st.sampled_from(NAMES),
    st.sampled_from(["", "*", "other.io/x"]),
    st.sampled_from(["", "*", *TAGS]),
    st.sampled_from(["", "*", DIGEST]),
).filter(lambda a: a[2] or a[3] or (a[1] and a[1] != "*"))


def _arg(name: str, new_name: str, tag: str, digest: str) -> str:
    value = new_name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    return f"{name}={value}" if new_name else name + value


def _model(
    entries: list[dict[str, str]], args: list[tuple[str, str, str, str]]
) -> list[dict[str, str]]:
    """What `kustomize edit set image` leaves, as sets of fields by name."""
    result = {e["name"]: dict(e) for e in entries}
    last = {a[0]: a for a in args}  # a later argument for the same name replaces an earlier one
    for name, new_name, tag, digest in last.values():
        old = result.get(name, {})
        entry = {"name": name}
        for field, value in zip(FIELDS, (new_name, tag, digest), strict=True):
            if value == "*":
                value = old.get(field, "")
            if value:
                entry[field] = value
        result[name] = entry
    return sorted(result.values(), key=lambda e: e["name"])


@settings(max_examples=150, deadline=None)
@given(
    kustomizations(),
    st.lists(arguments, min_size=1, max_size=3),
    st.sampled_from(["lf", "crlf", "no final newline"]),
)
def test_set_semantics_and_untouched_lines(
    case: tuple[str, list[dict[str, str]]], args: list[tuple[str, str, str, str]], ends: str
) -> None:
    before, entries = case
    if ends == "crlf":
        before = before.replace("\n", "\r\n")
    elif ends == "no final newline":
        before = before.rstrip("\n")
    settings_ = [parse_image_arg(_arg(*a)) for a in args]
    after, _ = bump_text(before, "kustomization.yaml", True, settings_)
    data = yaml.safe_load(after)
    assert sorted(data["images"], key=lambda e: e["name"]) == _model(entries, args)
    assert all(isinstance(e.get("newTag", ""), str) for e in data["images"])
    assert data["resources"] == ["base"] and data["namePrefix"] == "p-"
    kept = [line for line in before.splitlines() if "# keep" in line and "images" not in line]
    assert [
        line for line in after.splitlines() if "# keep" in line and "images" not in line
    ] == kept
    if ends == "crlf":
        assert after.count("\n") == after.count("\r\n")
    # the same bump again changes nothing
    assert bump_text(after, "kustomization.yaml", True, settings_)[0] == after
