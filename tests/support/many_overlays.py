"""A GitOps tree of many images in many tenant overlays: what the kustomize-bump scale
benchmark and its concurrency test both set."""

from __future__ import annotations

IMAGES = [f"registry.local:5000/team/svc{i:02d}" for i in range(20)]


def overlay(namespace: str) -> str:
    """A tenant's kustomization setting every image (with a comment each edit must keep)."""
    lines = [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        f"# {namespace}: synced by Argo CD",
        f"namespace: {namespace}",
        "resources:",
        "  - ../../base",
        "images:",
    ]
    for name in IMAGES:
        lines += [f"  - name: {name}", '    newTag: "0.1.0"  # set by CI']
    return "\n".join(lines) + "\n"


def base() -> dict[str, str]:
    """One Deployment that runs every image (each setting must deploy something)."""
    containers = "".join(
        f"        - name: c{i:02d}\n          image: {name}:0.0.1\n"
        for i, name in enumerate(IMAGES)
    )
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: all\nspec:\n"
        "  selector:\n    matchLabels: {app: all}\n  template:\n"
        "    metadata:\n      labels: {app: all}\n    spec:\n      containers:\n" + containers
    )
    return {"base/kustomization.yaml": "resources:\n  - all.yaml\n", "base/all.yaml": deployment}
