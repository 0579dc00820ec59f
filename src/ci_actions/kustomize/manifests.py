"""`image:` of the containers of workload manifests, in multi-document files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ci_actions.kustomize.kustfile import ImageChange
from ci_actions.kustomize.setimage import ImageSetting, apply_to_reference, matches
from ci_actions.kustomize.spans import Edit, get, line_of, replace_scalar, scalar_text

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers")


def _child(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    pair = get(node, key)
    return pair[1] if pair else None


def image_scalars(docs: Sequence[Node | None]) -> Iterator[ScalarNode]:
    """The `image:` scalars of every container and init container, in file order."""
    for doc in docs:
        kind = scalar_text(_child(doc, "kind"))
        path = POD_SPEC_PATHS.get(kind or "")
        if path is None:
            continue
        spec = doc
        for key in path:
            spec = _child(spec, key)
        for list_key in CONTAINER_LISTS:
            containers = _child(spec, list_key)
            if not isinstance(containers, SequenceNode):
                continue
            for container in containers.value:
                image = _child(container, "image")
                if isinstance(image, ScalarNode) and scalar_text(image):
                    yield image


def set_images(
    docs: Sequence[Node | None], settings: Sequence[ImageSetting]
) -> tuple[list[Edit], list[ImageChange]]:
    edits: list[Edit] = []
    changes: list[ImageChange] = []
    for node in image_scalars(docs):
        current = str(node.value)
        for setting in settings:
            if not matches(current, setting.name):
                continue
            new = apply_to_reference(setting, current)
            if new != current:
                edits.append(replace_scalar(node, new))
            changes.append(ImageChange(setting.name, current, new, line_of(node)))
            break
    return edits, changes
