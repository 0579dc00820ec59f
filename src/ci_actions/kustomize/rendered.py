"""What an overlay deploys: the container images kustomize renders, before and after a plan.

An `images:` entry that matches no container is silently kept by kustomize, so
a bump could report a change that deploys nothing. Each setting must show up
in a container or init container image of what the edited overlay renders.

The images are read first without kustomize, by following `resources`
(bases) and `components` and applying each level's `images:` as kustomize's
image transformer does; a base shared by many overlays is read once. An
overlay holding anything that could change an image another way (patches or
replacements naming images, generators, helm charts, plugins, remote bases)
is rendered by kustomize instead, in a scratch copy of the repository with the
planned files written (hard links, so one link per file; the checkout itself
is never written).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ci_actions import proc
from ci_actions.errors import ConfigError
from ci_actions.kustomize.bump import FileBump, Plan, is_kustomization
from ci_actions.kustomize.kustfile import ImageChange
from ci_actions.kustomize.setimage import ImageSetting, apply_to_reference, split_image
from ci_actions.manifests.sources import kustomize_command

RENDER_TIMEOUT = 120.0
CONTAINER_LISTS = ("initContainers", "containers")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Keys that make images only kustomize can tell: always, or when their text names an image.
_RENDER_ALWAYS = (
    "helmCharts",
    "helmChartInflationGenerator",
    "generators",
    "transformers",
    "validators",
    "configurations",
    "crds",
    "openapi",
)
_RENDER_IF_IMAGE = ("patches", "patchesStrategicMerge", "patchesJson6902", "replacements", "vars")


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: much faster


def _load_all(text: str) -> list[Any]:
    return [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]


class _Unsure(Exception):
    """Only kustomize can tell what this tree renders."""


class StaticImages:
    """The container images kustomizations render, read without kustomize (pure but for reads).

    `texts` replaces the text of files (by absolute, normalised path): the planned edit.
    Paths are normalised as text (no symlink resolution: a syscall per component
    would cost more than the whole check).
    """

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.cache: dict[str, tuple[str, ...]] = {}

    def read(self, path: Path) -> str:
        key = _key(path)
        if key in self.texts:
            return self.texts[key]
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise _Unsure(str(path)) from None

    def load(self, path: Path) -> list[Any]:
        try:
            return _load_all(self.read(path))
        except yaml.YAMLError:
            raise _Unsure(str(path)) from None

    def images(self, directory: Path) -> tuple[str, ...]:
        """Images of `kustomize build directory`, or _Unsure."""
        key = _key(directory)
        if key not in self.cache:
            self.cache[key] = tuple(self._build(directory, None))
        return self.cache[key]

    def _build(self, directory: Path, inherited: list[str] | None) -> list[str]:
        """A kustomization (`inherited` None) or a component applied to `inherited`."""
        kust = next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)
        if kust is None:
            raise _Unsure(str(directory))
        docs = self.load(kust)
        data = docs[0] if len(docs) == 1 and isinstance(docs[0], dict) else None
        if data is None or (data.get("kind") == "Component") != (inherited is not None):
            raise _Unsure(str(kust))
        self._refuse_unmodelled(data, directory)
        images = list(inherited or [])
        for entry in [*_strings(data.get("resources")), *_strings(data.get("bases"))]:
            images += self._resource(directory, entry)
        for entry in _strings(data.get("components")):
            if _remote(entry) or not (directory / entry).is_dir():
                raise _Unsure(entry)
            # a component's transformers act on everything accumulated so far
            images = self._build(directory / entry, images)
        return _transform(images, data.get("images"))

    def _resource(self, directory: Path, entry: str) -> list[str]:
        target = directory / entry
        if _remote(entry):
            raise _Unsure(entry)
        if target.is_dir():
            return list(self.images(target))
        return [image for _, image in _walk(self.load(target))]

    def _refuse_unmodelled(self, data: dict[str, Any], directory: Path) -> None:
        if any(data.get(k) for k in _RENDER_ALWAYS):
            raise _Unsure(str(directory))
        for key in _RENDER_IF_IMAGE:
            if data.get(key) and "image" in self._text_of(data[key], directory):
                raise _Unsure(str(directory))

    def _text_of(self, value: Any, directory: Path) -> str:
        """The text of inline patches and of the patch files they name."""
        text = repr(value)
        for item in value if isinstance(value, list) else []:
            path = item.get("path") if isinstance(item, dict) else item
            if isinstance(path, str) and (directory / path).is_file():
                text += self.read(directory / path)
        return text


def _key(path: Path) -> str:
    return os.path.normpath(path.absolute())


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Unsure("a list of paths")
    return list(value)


def _remote(entry: str) -> bool:
    return "://" in entry or entry.startswith(("github.com/", "git@")) or "?ref=" in entry


def _transform(images: list[str], entries: Any) -> list[str]:
    """kustomize's image transformer: one per entry, in order (an entry may rename an image
    that a later entry then sets), each rewriting the images named exactly as it is."""
    if not entries:
        return images
    if not isinstance(entries, list):
        raise _Unsure("images")
    for e in entries:
        fields = (
            [e.get(k) for k in ("name", "newName", "newTag", "digest")]
            if isinstance(e, dict)
            else [None]
        )
        if not isinstance(fields[0], str) or any(
            f is not None and not isinstance(f, str) for f in fields
        ):
            raise _Unsure("images")  # kustomize refuses it (a number as a tag): let it say so
        setting = ImageSetting(*(f or "" for f in fields))
        images = [
            apply_to_reference(setting, i) if split_image(i)[0] == setting.name else i
            for i in images
        ]
    return images


@dataclass(frozen=True)
class Container:
    """One container of one rendered object."""

    workload: str  # KIND/NAME, with ` in NAMESPACE` when it has one
    name: str  # the container's name; `init:` in front for an init container
    image: str


@dataclass(frozen=True)
class OverlayImages:
    """One edited kustomization: what it renders after the plan, and before (dry run)."""

    file: FileBump
    after: tuple[Container, ...]
    before: tuple[Container, ...] | None = None

    def unused(self) -> list[str]:
        """Names of the settings that changed this file but no rendered image."""
        changes = [c for c in self.file.changes if not c.marker and c.previous != c.current]
        return list(
            dict.fromkeys(c.name for c in changes if not any(_shows(c, x) for x in self.after))
        )

    def images(self) -> list[str]:
        return sorted({c.image for c in self.after})

    def changes(self) -> list[tuple[Container, str]]:
        """(container after, its image before) for each image the plan changes."""
        if self.before is None:
            return []
        was = {(c.workload, c.name): c.image for c in self.before}
        return [
            (c, was.get((c.workload, c.name), ""))
            for c in self.after
            if was.get((c.workload, c.name)) != c.image
        ]


def _shows(change: ImageChange, container: Container) -> bool:
    """Does the container run what the entry sets (its name, and its tag and digest when set)?"""
    name, tag, digest = split_image(change.current)
    got_name, got_tag, got_digest = split_image(container.image)
    return got_name == name and (not tag or tag == got_tag) and (not digest or digest == got_digest)


def closest(name: str, images: Sequence[str]) -> list[str]:
    """`images`, the most similar to `name` first (a typo or a wrong registry is the usual cause)."""
    base = split_image(name)[0]

    def score(image: str) -> float:
        return difflib.SequenceMatcher(None, base, split_image(image)[0]).ratio()

    return sorted(images, key=lambda i: (-score(i), i))


def containers_of(objects: Sequence[Any]) -> list[Container]:
    """Every container and init container of rendered objects, wherever the object keeps them."""
    found: list[Container] = []
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        workload = f"{obj.get('kind', '?')}/{meta.get('name', '?')}"
        if meta.get("namespace"):
            workload += f" in {meta['namespace']}"
        found += [Container(workload, n, i) for n, i in _walk(obj)]
    return found


def _walk(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in CONTAINER_LISTS and isinstance(value, list):
            for c in value:
                if isinstance(c, dict) and isinstance(c.get("image"), str):
                    prefix = "init:" if key == "initContainers" else ""
                    yield f"{prefix}{c.get('name', '?')}", c["image"]
        else:
            yield from _walk(value)


def render(directory: Path, shown: str, scratch: Path | None = None) -> list[Container]:
    """The containers `kustomize build directory` renders (ConfigError when it cannot)."""
    command = kustomize_command()
    built = proc.run([*command, str(directory)], ok_codes=None, timeout=RENDER_TIMEOUT)
    if built.returncode != 0:
        error = built.stderr.strip()
        if scratch is not None:
            error = error.replace(f"{scratch}/", "")
        raise ConfigError(
            f"`{' '.join(command)} {shown}` fails: {error}",
            hint="fix the kustomization (the message is kustomize's own), or set allow-missing: true",
        )
    try:
        objects = _load_all(built.stdout)
    except yaml.YAMLError as exc:
        raise ConfigError(f"`{' '.join(command)} {shown}` printed no YAML: {exc}") from None
    return containers_of(objects)


@contextmanager
def planned_tree(root: Path, plan: Plan, scratch: Path) -> Iterator[Path]:
    """A scratch copy of `root` (hard links where possible) with the plan's files written."""
    import tempfile  # (with shutil) when an overlay is rendered, not when the module loads

    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kustomize-bump-render-", dir=scratch) as tmp:
        copy = Path(tmp) / "repo"
        _link_tree(root, copy)
        for f in plan.files:
            if f.changed:
                target = copy / f.rel
                target.unlink(missing_ok=True)  # a link: the checkout's file stays as it is
                target.write_text(f.after, encoding="utf-8", newline="")
        yield copy


def _link_tree(source: Path, target: Path) -> None:
    for directory, dirs, files in os.walk(source):
        here = Path(directory)
        rel = here.relative_to(source)
        if rel == Path("."):
            dirs[:] = [d for d in dirs if d != ".git"]
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in [d for d in dirs if (here / d).is_symlink()]:
            dirs.remove(name)
            files.append(name)
        for name in files:
            src, dst = here / name, target / rel / name
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
                continue
            try:
                os.link(src, dst)
            except OSError:  # another file system, or links not allowed: copy
                import shutil

                shutil.copy2(src, dst)


def _is_component(text: str) -> bool:
    if "Component" not in text:
        return False
    try:
        docs = _load_all(text)
    except yaml.YAMLError:
        return False
    return len(docs) == 1 and isinstance(docs[0], dict) and docs[0].get("kind") == "Component"


def edited_overlays(plan: Plan) -> list[FileBump]:
    """The kustomizations whose `images:` the plan changes (a Component cannot build alone)."""
    return [
        f
        for f in plan.files
        if f.changed
        and is_kustomization(f.path)
        and any(not c.marker and c.previous != c.current for c in f.changes)
        and not _is_component(f.after)
    ]


def overlay_images(
    root: Path, plan: Plan, scratch: Path, *, before: bool = False
) -> list[OverlayImages]:
    """What each edited overlay deploys with the plan applied (and as it is, with `before`).

    Without `before`, overlays are read without kustomize where that is
    exact; with it (a dry run shows workloads and containers), kustomize
    renders each overlay twice.
    """
    overlays = edited_overlays(plan)
    static = StaticImages({_key(f.path): f.after for f in plan.files if f.changed})
    found: dict[str, OverlayImages] = {}
    if not before:
        for f in overlays:
            try:
                images = static.images(f.path.parent)
            except _Unsure:
                continue
            found[f.rel] = OverlayImages(f, tuple(Container("", "", i) for i in images))
    todo = [f for f in overlays if f.rel not in found]
    if todo:
        with planned_tree(root, plan, scratch) as copy:
            for f in todo:
                shown = Path(f.rel).parent.as_posix()
                after = tuple(render(copy / shown, shown, copy))
                was = tuple(render(root / shown, shown)) if before else None
                found[f.rel] = OverlayImages(f, after, was)
    return [found[f.rel] for f in overlays]
