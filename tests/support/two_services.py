"""The pipeline options of two services (api, worker) deployed to dev and prod through the
GitOps repository of tests/support/gitops.py (its overlays set both images)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_actions.render import DeclaredService, Environment, Options, Target
from ci_actions.services.model import ServiceEnvironment

IMAGES = {"api": "registry.local:5000/team/api", "worker": "registry.local:5000/team/worker"}
ENVS = ("dev", "prod")


def options(gitops: Path, urls: Mapping[tuple[str, str], str], **more: Any) -> Options:
    """Both services, each environment one target (overlays/<env>); `urls`: the health URL
    of (service, environment); `more`: further Options fields."""
    return Options(
        service="api",
        image="team/api",
        registry="registry.local:5000",
        environments=tuple(Environment(env, (Target(env, f"overlays/{env}"),)) for env in ENVS),
        declared_services=tuple(
            DeclaredService(
                name,
                image,
                settings=tuple(ServiceEnvironment(env, (), urls[name, env]) for env in ENVS),
            )
            for name, image in IMAGES.items()
        ),
        gitops_repo=str(gitops),
        actions_repo="ci-actions/ci-actions",
        actions_ref="v1",
        tag_pin=True,
        **more,
    )
