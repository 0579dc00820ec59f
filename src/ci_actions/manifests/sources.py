"""Read the objects to validate from `paths`: kustomizations (rendered) and plain files.

A kustomization is rendered through a throw-away wrapper kustomization that
turns on kustomize's `originAnnotations`, so each rendered object says which
resource file it came from (following bases and overlays); the annotation is
removed again before anything is checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from ci_actions import proc, yamlsafe
from ci_actions.errors import ConfigError, InputError, ToolNotFound
from ci_actions.fsutil import read_text_strict
from ci_actions.manifests.documents import Document, parse_documents
from ci_actions.manifests.model import Manifest, Source

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
GENERATOR_KEYS = {"ConfigMapGenerator": "configMapGenerator", "SecretGenerator": "secretGenerator"}
RENDER_TIMEOUT = 300.0
INSTALL_HINT = "install kustomize, or kubectl (it has kustomize built in as `kubectl kustomize`)"


def relative(path: Path, cwd: Path) -> str:
    """`path` as annotations name it: relative to the workspace when inside it."""
    try:
        return path.resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def kustomize_command() -> list[str]:
    if proc.which("kustomize"):
        return ["kustomize", "build"]
    if proc.which("kubectl"):
        return ["kubectl", "kustomize"]
    raise ToolNotFound("neither kustomize nor kubectl is installed", hint=INSTALL_HINT)


def load_paths(
    entries: Sequence[str],
    cwd: Path,
    scratch: Path,
    *,
    base: Path | None = None,
    input_name: str = "paths",
) -> list[Manifest]:
    """The objects of each entry (resolved against `base`, default `cwd`; files named relative to `cwd`)."""
    manifests: list[Manifest] = []
    for entry in entries:
        path = Path(entry) if Path(entry).is_absolute() else (base or cwd) / entry
        if not path.exists():
            raise InputError(
                input_name,
                f"{entry} does not exist",
                hint="paths are relative to the working directory",
            )
        chart = helm_chart(path, cwd)
        if chart is not None:
            raise InputError(
                input_name,
                f"{entry} is a Helm chart ({relative(chart, cwd)}): its templates are not "
                "manifests until they are rendered",
                hint=f"render it first: `helm template RELEASE {relative(chart.parent, cwd)}"
                " > rendered.yaml`, then validate rendered.yaml",
            )
        origin = relative(path, cwd)
        if path.is_dir() and kustomization_file(path):
            manifests += render_kustomization(path, cwd, scratch, origin)
        elif path.is_dir():
            for file in _manifest_files(path):
                manifests += load_file(file, cwd, origin)
        else:
            manifests += load_file(path, cwd, origin)
    return manifests


def helm_chart(path: Path, cwd: Path) -> Path | None:
    """The Chart.yaml of a Helm chart `path` is, is inside, or holds; None when none."""
    here = path if path.is_dir() else path.parent
    for folder in [here, *here.parents]:
        if (folder / "Chart.yaml").is_file():
            return folder / "Chart.yaml"
        if folder == cwd or cwd not in folder.parents:
            break
    if path.is_dir() and not kustomization_file(path):
        return next(iter(sorted(path.rglob("Chart.yaml"))), None)
    return None


def _manifest_files(directory: Path) -> Iterator[Path]:
    """Manifest files under a plain directory; kustomization files are not objects."""
    for file in sorted(directory.rglob("*")):
        if (
            file.is_file()
            and file.suffix in MANIFEST_SUFFIXES
            and file.name not in KUSTOMIZATION_FILES
        ):
            yield file


def load_file(file: Path, cwd: Path, origin: str) -> list[Manifest]:
    name = relative(file, cwd)
    try:
        text = read_text_strict(file, name)
    except OSError as exc:
        raise ConfigError(f"{name}: cannot be read: {exc}") from None
    return [
        Manifest(_mapping(doc, name), Source(name, doc.node), origin)
        for doc in parse_documents(text, name)
    ]


def _mapping(doc: Document, file: str) -> dict[str, Any]:
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"{file}:{doc.node.start_mark.line + 1}: a manifest must be a mapping with apiVersion and kind",
            hint="each YAML document is one Kubernetes object",
        )
    return doc.data


def render_kustomization(directory: Path, cwd: Path, scratch: Path, origin: str) -> list[Manifest]:
    import tempfile  # (with shutil) for the one call that renders

    command = kustomize_command()
    shown = relative(directory, cwd)
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="kustomize-origin-") as wrapper_name:
        wrapper = Path(wrapper_name)
        wrapper_file = {
            "buildMetadata": ["originAnnotations"],
            "resources": [os.path.relpath(directory.resolve(), wrapper.resolve())],
        }
        (wrapper / "kustomization.yaml").write_text(yaml.safe_dump(wrapper_file))
        built = proc.run([*command, str(wrapper)], ok_codes=None, timeout=RENDER_TIMEOUT)
        if built.returncode != 0:
            # Built on its own, the error reads in the user's own paths (or it
            # builds, e.g. a Component that cannot be a resource: no origins then).
            built = proc.run([*command, str(directory)], ok_codes=None, timeout=RENDER_TIMEOUT)
            if built.returncode != 0:
                raise ConfigError(
                    f"`{' '.join(command)} {shown}` failed: {built.stderr.strip()}",
                    hint="fix the kustomization; the message above is kustomize's own",
                )
        tracer = OriginTracer(wrapper.resolve(), directory, cwd)
        manifests = []
        for doc in parse_documents(built.stdout, f"{' '.join(command)} {shown}"):
            obj = _mapping(doc, shown)
            manifests.append(Manifest(obj, tracer.source(obj, _pop_origin(obj)), origin))
        return manifests


def _pop_origin(obj: dict[str, Any]) -> dict[str, Any] | None:
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or ORIGIN_ANNOTATION not in annotations:
        return None
    text = annotations.pop(ORIGIN_ANNOTATION)
    if not annotations:
        del meta["annotations"]  # type: ignore[union-attr]
    try:
        origin = yamlsafe.load(text)
    except yaml.YAMLError:
        return None
    return origin if isinstance(origin, dict) else None


class OriginTracer:
    """Maps a rendered object back to the resource file and document it came from."""

    def __init__(self, wrapper: Path, directory: Path, cwd: Path) -> None:
        self.wrapper = wrapper
        self.cwd = cwd
        own = kustomization_file(directory)
        self.fallback = Source(relative(own or directory, cwd))
        self._docs: dict[Path, list[Document]] = {}

    def source(self, obj: dict[str, Any], origin: dict[str, Any] | None) -> Source:
        if not origin or origin.get("repo"):
            return self.fallback
        if isinstance(origin.get("path"), str):
            file = Path(os.path.normpath(self.wrapper / origin["path"]))
            doc = _matching_document(self._documents(file), obj)
            return Source(relative(file, self.cwd), doc.node if doc else None)
        if isinstance(origin.get("configuredIn"), str):
            file = Path(os.path.normpath(self.wrapper / origin["configuredIn"]))
            docs = self._documents(file)
            by = origin.get("configuredBy") or {}
            key = GENERATOR_KEYS.get(str(by.get("kind", "")) if isinstance(by, dict) else "")
            node = _key_node(docs[0].node, key) if docs and key else None
            return Source(relative(file, self.cwd), node)
        return self.fallback

    def _documents(self, file: Path) -> list[Document]:
        if file not in self._docs:
            try:
                self._docs[file] = parse_documents(file.read_text(encoding="utf-8"), str(file))
            except (OSError, UnicodeDecodeError, ConfigError):
                self._docs[file] = []
        return self._docs[file]


def _name(data: Any) -> str:
    meta = data.get("metadata") if isinstance(data, dict) else None
    return str(meta.get("name") or "") if isinstance(meta, dict) else ""


def _matching_document(docs: list[Document], obj: dict[str, Any]) -> Document | None:
    """The document of the same kind whose name the rendered name holds (prefix/suffix added)."""
    same_kind = [
        d for d in docs if isinstance(d.data, dict) and d.data.get("kind") == obj.get("kind")
    ]
    rendered = _name(obj)
    exact = [d for d in same_kind if _name(d.data) == rendered]
    if exact:
        return exact[0]
    contained = [d for d in same_kind if _name(d.data) and _name(d.data) in rendered]
    if contained:
        return max(contained, key=lambda d: len(_name(d.data)))
    return same_kind[0] if len(same_kind) == 1 else None


def _key_node(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if k.value == key:
                found: yaml.Node = k
                return found
    return None
