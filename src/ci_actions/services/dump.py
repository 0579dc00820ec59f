"""The body of `.github/ci-actions.yml` for a list of services (pure text out).

Written by hand rather than by a YAML emitter: the order of the keys, the comments and
the quoting stay the same from one release to the next, and every scalar is JSON (valid
YAML that reads back as exactly that string).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from ci_actions.services.model import Service

PREAMBLE = """\
# The services of this repository, declared once: the `changes` action reads them
# (outputs changed-services and matrix). Per service:
#   context/dockerfile/image  what is built and where it is pushed
#   paths                     what else changes it besides its context (globs, `!` excludes),
#                             e.g. shared code: ["lib/**", "pyproject.toml"]
#   environments              per environment: workloads, health-url, auto-rollback
"""


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _flow(values: Iterable[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def dump(services: Sequence[Service]) -> str:
    """The file's body; `paths` lists only what a service declares beyond its context."""
    lines = [PREAMBLE.rstrip("\n"), "services:"]
    for s in services:
        lines += [
            f"  - name: {_q(s.name)}",
            f"    context: {_q(s.context)}",
            f"    dockerfile: {_q(s.dockerfile)}",
            f"    image: {_q(s.image)}",
            f"    paths: {_flow(s.paths[1:])}",
        ]
        if s.environments:
            lines.append("    environments:")
        for env in s.environments:
            lines += [
                f"      {env.name}:",
                f"        workloads: {_flow(env.workloads)}",
                f"        health-url: {_q(env.health_url)}",
                f"        auto-rollback: {_q(env.auto_rollback)}",
            ]
    return "\n".join(lines) + "\n"
