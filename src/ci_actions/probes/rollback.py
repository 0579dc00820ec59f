"""Put the previous version back.

`kubernetes` mode does what `kubectl rollout undo` does for a Deployment:
refuse a paused deployment; take the ReplicaSet with the second-highest
revision among those the deployment controls; skip when its template is
already the current one; otherwise replace the deployment's pod template
with it (without the `pod-template-hash` label) and its annotations with the
ReplicaSet's (keeping the deployment's own bookkeeping ones), in one JSON
patch. The caller then waits for that rollout.

`gitops` mode sets the previous images in the GitOps repo through
kustomize-bump (Argo CD with auto-sync reverts changes made behind its back
and refuses API rollbacks); the previous images come from kustomize-bump's
`previous-images` output or from the release ledger's `rollback-target`
(the newest healthy entry of another image than what runs now).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ci_actions import imageref
from ci_actions.probes.diagnose import HASH_LABEL, replicasets_of, revision, same_template
from ci_actions.probes.kube import KubeClient
from ci_actions.probes.rollout import Workload

Obj = dict[str, Any]
# Annotations that describe the deployment itself, never copied from a ReplicaSet.
KEEP_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)


class RollbackRefused(Exception):
    """The rollback cannot be done (the message says why)."""


@dataclass(frozen=True)
class Undo:
    workload: Workload
    from_revision: int
    to_revision: int
    images: list[str]  # the images of the template put back


def _clean_template(rs: Obj) -> Obj:
    tmpl = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    labels = (tmpl.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    return tmpl


def undo_deployment(kube: KubeClient, workload: Workload) -> Undo:
    if workload.kind != "deployment":
        raise RollbackRefused(
            f"{workload}: kubernetes rollback covers deployments; use rollback-mode gitops for {workload.kind}s"
        )
    deploy = kube.get("deployments", workload.namespace, workload.name)
    if (deploy.get("spec") or {}).get("paused"):
        raise RollbackRefused(
            f"{workload} is paused; resume it (kubectl rollout resume) before rolling back"
        )
    owned = sorted(replicasets_of(kube, deploy), key=revision, reverse=True)
    if len(owned) < 2:
        raise RollbackRefused(f"{workload}: no previous revision to roll back to")
    latest, previous = owned[0], owned[1]
    target = _clean_template(previous)
    current_tmpl = (deploy.get("spec") or {}).get("template") or {}
    images = [str(c.get("image", "")) for c in (target.get("spec") or {}).get("containers", [])]
    if same_template(target, current_tmpl):
        raise RollbackRefused(
            f"{workload}: the current template already matches revision {revision(previous)}"
        )
    annotations = {
        k: v
        for k, v in (deploy["metadata"].get("annotations") or {}).items()
        if k in KEEP_ANNOTATIONS
    }
    annotations.update(
        {
            k: v
            for k, v in (previous["metadata"].get("annotations") or {}).items()
            if k not in KEEP_ANNOTATIONS
        }
    )
    patch = [
        {"op": "replace", "path": "/spec/template", "value": target},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]
    kube.patch(
        "deployments", workload.namespace, workload.name, patch, "application/json-patch+json"
    )
    return Undo(workload, revision(latest), revision(previous), images)


# ---------------------------------------------------------------- gitops


def _set_image_line(name: str, ref: imageref.ImageRef) -> str:
    """`kustomize edit set image` argument: `NAME:TAG@DIGEST`, or `NAME=NEWNAME:TAG@DIGEST`
    when the image is renamed."""
    pins = (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")
    return f"{name}{pins}" if ref.name == name else f"{name}={ref}"


def images_from_previous(previous: Mapping[str, str]) -> list[str]:
    """kustomize-bump `images` lines from its `previous-images` output ({name: full ref})."""
    lines = []
    for name, ref in sorted(previous.items()):
        if not ref:
            continue  # the image was not set before: nothing to put back
        lines.append(_set_image_line(name, imageref.parse(ref)))
    return lines


def image_from_ledger(image: str, tag: str, digest: str) -> str:
    """One kustomize-bump `images` line from a ledger `rollback-target` entry."""
    ref = imageref.parse(image)
    return _set_image_line(
        ref.name, imageref.ImageRef(ref.name, tag or ref.tag, digest or ref.digest)
    )
