"""A small GitOps repository (base + overlays) behind a bare remote, for kustomize-bump tests."""

from __future__ import annotations

from pathlib import Path

from tests.support.act import git

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: {name}
          image: {image}
"""

BASE_KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - api.yaml
  - worker.yaml
"""

OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
# {env}: synced by Argo CD
resources:
  - ../../base

images:
  - name: registry.local:5000/team/api
    newTag: "1.0.0"  # set by CI
  - name: registry.local:5000/team/worker
    newTag: "1.0.0"
"""


def gitops_files(envs: tuple[str, ...] = ("dev", "prod")) -> dict[str, str]:
    files = {
        "base/kustomization.yaml": BASE_KUSTOMIZATION,
        "base/api.yaml": DEPLOYMENT.format(name="api", image="registry.local:5000/team/api:0.1.0"),
        "base/worker.yaml": DEPLOYMENT.format(
            name="worker", image="registry.local:5000/team/worker:0.1.0"
        ),
    }
    for env in envs:
        files[f"overlays/{env}/kustomization.yaml"] = OVERLAY.format(env=env)
    return files


def make_remote(tmp: Path, files: dict[str, str], name: str = "acme/gitops.git") -> Path:
    """A bare remote on branch main holding `files`."""
    bare = tmp / name
    bare.parent.mkdir(parents=True, exist_ok=True)
    git(tmp, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp / f"seed-{bare.stem}"
    git(tmp, "clone", "-q", str(bare), str(seed))
    for rel, text in files.items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        (seed / rel).write_text(text, encoding="utf-8")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    git(seed, "push", "-q", "origin", "HEAD:main")
    return bare


def clone(tmp: Path, remote: Path, name: str) -> Path:
    path = tmp / name
    git(tmp, "clone", "-q", str(remote), str(path))
    return path


def show(remote: Path, rel: str, ref: str = "main") -> str:
    return git(remote, "show", f"{ref}:{rel}") + "\n"
