"""The types of a services description."""

from __future__ import annotations

from dataclasses import dataclass

from ci_actions.errors import ConfigError


class ServicesError(ConfigError):
    """A services description is wrong (exit 2): names the service and the field."""

    def __init__(self, message: str, *, service: str = "", field: str = "", hint: str = "") -> None:
        where = ", ".join(
            part
            for part in (
                f"service {service!r}" if service else "",
                f"field {field!r}" if field else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.service = service
        self.field = field


@dataclass(frozen=True)
class ServiceEnvironment:
    name: str
    workloads: tuple[str, ...] = ()
    health_url: str = ""
    auto_rollback: bool = True

    def as_json(self) -> dict[str, object]:
        return {
            "workloads": "\n".join(self.workloads),
            "health-url": self.health_url,
            "auto-rollback": self.auto_rollback,
        }


@dataclass(frozen=True)
class Service:
    name: str
    context: str  # relative to the repository root, "." for the root
    dockerfile: str  # relative to the repository root, inside the context
    image: str  # registry/repository, no tag
    paths: tuple[str, ...]  # globs (GitHub `paths:` syntax, `!` excludes): context first
    environments: tuple[ServiceEnvironment, ...] = ()

    def as_json(self) -> dict[str, object]:
        """One entry of the build matrix."""
        return {
            "name": self.name,
            "context": self.context,
            "dockerfile": self.dockerfile,
            "image": self.image,
            "paths": list(self.paths),
            "environments": {env.name: env.as_json() for env in self.environments},
        }
