"""What a rendered pipeline is made of: the options of `ci-actions init`, checked.

Every value here ends up as a YAML scalar in a workflow, so `check()`
refuses what would make a broken or unsafe workflow (an unpinned
ci-actions reference, a job name GitHub rejects, an empty environment
list) with the option's name and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ci_actions.errors import ConfigError
from ci_actions.services import MAX_MATRIX
from ci_actions.services.model import ServiceEnvironment

PRESETS = ("multi", "gitflow", "none")
SCANNERS = ("bandit", "semgrep", "safety", "pip-audit")
FULL_SHA = re.compile(r"[0-9a-f]{40}")
JOB_NAME = re.compile(r"[a-z][a-z0-9-]{0,40}")
CRON_FIELDS = 5
ROLLBACK_POLICIES = ("failed", "all")


@dataclass(frozen=True)
class Target:
    """One overlay of an environment: a tenant, or the environment itself."""

    name: str
    overlay: str
    health_url: str = ""
    workloads: tuple[str, ...] = ()
    namespace: str = ""


@dataclass(frozen=True)
class Environment:
    name: str
    targets: tuple[Target, ...]
    # Production: a GitHub environment (required reviewers are set on it in
    # the repository settings) and never cancelled once started.
    production: bool = False

    @property
    def job(self) -> str:
        return f"deploy-{self.name}"


@dataclass(frozen=True)
class DeclaredService:
    """A service of `.github/ci-actions.yml` as the pipeline builds it. `settings` are the
    service's entries per environment, or per target (a tenant's name wins over its
    environment's): workloads, health URL, auto-rollback."""

    name: str
    image: str  # the full repository, REGISTRY/NAME, no tag
    context: str = "."
    dockerfile: str = "Dockerfile"
    # the Dockerfile takes `ARG VERSION`: the build passes it and the probe asserts it
    version_arg: bool = True
    settings: tuple[ServiceEnvironment, ...] = ()


@dataclass(frozen=True)
class ServiceTarget:
    """One overlay of one environment as one service is deployed to it."""

    name: str  # the target: the ledger's environment
    overlay: str
    health_url: str
    workloads: tuple[str, ...]
    namespace: str
    auto_rollback: bool


@dataclass(frozen=True)
class ServiceStage:
    """One environment of one service: its targets."""

    name: str
    targets: tuple[ServiceTarget, ...]


@dataclass(frozen=True)
class Service:
    """One service of the rendered pipeline (`o.services`): what is built, by which job,
    and per environment where it is deployed and probed."""

    name: str  # the ledger's service
    image: str  # REGISTRY/NAME, no tag
    context: str
    dockerfile: str
    version_arg: bool
    job: str  # the id of its build job: `image`, or `image-<name>` among several
    environments: tuple[ServiceStage, ...]

    def stage(self, environment: str) -> ServiceStage:
        return next(s for s in self.environments if s.name == environment)


@dataclass(frozen=True)
class Options:
    service: str
    image: str
    registry: str
    environments: tuple[Environment, ...]
    gitops_repo: str
    actions_ref: str
    actions_repo: str = "OWNER/ci-actions"
    actions_version: str = "v1"
    # the pin is a release tag, not a commit (init warned: no commit was recorded)
    tag_pin: bool = False
    insecure_registry: bool = False
    gitops_branch: str = "main"
    default_branch: str = "main"
    context: str = "."
    dockerfile: str = "Dockerfile"
    working_directory: str = "."
    python_versions: tuple[str, ...] = ("3.12",)
    setup_python: bool = True
    # commands run in the test venv first (uv sync, poetry install), then the pip
    # arguments that install what the lint and test commands still need
    install_args: tuple[str, ...] = ("pytest",)
    install_commands: tuple[str, ...] = ()
    lint_commands: tuple[str, ...] = ()
    # lint commands run from the repository root (pre-commit)
    root_lint_commands: tuple[str, ...] = ()
    # `services:` of the test job as JSON (carried over), and the ones to add by hand
    test_services: str = ""
    services_todo: tuple[str, ...] = ()
    test_command: str = "python -m pytest"
    # carried over from the project's own workflows (see render/existing.py)
    platforms: str = ""
    cache_from: str = ""
    cache_to: str = ""
    # log in to the registry with the job's token (ghcr.io: no stored secret, packages: write)
    registry_token_login: bool = False
    release_branches: tuple[str, ...] = ()
    release_tags: tuple[str, ...] = ("v*",)
    # docker/metadata-action tag rules, added after the two that make the version
    tag_rules: tuple[str, ...] = ()
    # validate-manifests' policy file, relative to the GitOps repository's root ("" = none)
    policy_file: str = ""
    preset: str = "multi"
    scanners: tuple[str, ...] = ("bandit", "semgrep", "pip-audit")
    scan_paths: tuple[str, ...] = (".",)
    requirements: tuple[str, ...] = ()
    # why a dependency scanner was left out (a comment in the workflow)
    scanners_note: str = ""
    # the project's Python the security gate runs on ("" = the runner's)
    scan_python: str = ""
    # the Dockerfile takes `ARG VERSION`: the build passes it and the probe asserts it
    version_arg: bool = True
    upload_sarif: bool = True
    runs_on: tuple[str, ...] = ("ubuntu-latest",)
    monitor_cron: str = "*/5 * * * *"
    probe_timeout: str = "3m"
    # the services of .github/ci-actions.yml (empty: one service, from the fields above)
    declared_services: tuple[DeclaredService, ...] = ()
    # what a failed probe rolls back: the failed services only, or every built one
    rollback_policy: str = "failed"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> tuple[Service, ...]:
        """Every service the pipeline builds, in declaration order (one without a services
        file: the options' image, probed as the targets say, always rolled back)."""
        if not self.declared_services:
            one = DeclaredService(
                self.service,
                self.image_name,
                self.context,
                self.dockerfile,
                self.version_arg,
                tuple(
                    ServiceEnvironment(t.name, t.workloads, t.health_url)
                    for env in self.environments
                    for t in env.targets
                ),
            )
            return (self._service(one, "image"),)
        if len(self.declared_services) == 1:  # one declared service: the one-service shape
            return (self._service(self.declared_services[0], "image"),)
        return tuple(self._service(d, service_job(d.name)) for d in self.declared_services)

    def _service(self, declared: DeclaredService, job: str) -> Service:
        settings = {s.name: s for s in declared.settings}

        def target(env: Environment, t: Target) -> ServiceTarget:
            # a target's own entry wins over its environment's; none: nothing to probe
            own = settings.get(t.name) or settings.get(env.name) or ServiceEnvironment(t.name)
            return ServiceTarget(
                t.name, t.overlay, own.health_url, own.workloads, t.namespace, own.auto_rollback
            )

        stages = tuple(
            ServiceStage(env.name, tuple(target(env, t) for t in env.targets))
            for env in self.environments
        )
        return Service(
            declared.name,
            declared.image,
            declared.context,
            declared.dockerfile,
            declared.version_arg,
            job,
            stages,
        )

    @property
    def image_name(self) -> str:
        """The full image repository: REGISTRY/IMAGE."""
        return f"{self.registry}/{self.image}" if self.registry else self.image

    @property
    def registry_host(self) -> str:
        """host[:port] of the registry (what `insecure-registries` takes)."""
        return self.registry.split("/", 1)[0]

    @property
    def self_hosted(self) -> bool:
        return "self-hosted" in self.runs_on

    def check(self) -> Options:
        tag = self.tag_pin and re.fullmatch(r"v\d+(\.\d+)*", self.actions_ref)
        if not FULL_SHA.fullmatch(self.actions_ref) and not tag:
            raise ConfigError(
                f"actions-ref {self.actions_ref!r} is not a full commit SHA",
                hint="pin ci-actions by the 40-character commit of a release "
                "(a tag can be moved; zizmor's unpinned-uses rejects it)",
            )
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", self.actions_repo):
            raise ConfigError(f"actions-repo {self.actions_repo!r} is not OWNER/NAME")
        if self.preset not in PRESETS:
            raise ConfigError(
                f"preset {self.preset!r} is unknown", hint=f"one of {', '.join(PRESETS)}"
            )
        unknown = sorted(set(self.scanners) - set(SCANNERS))
        if unknown:
            raise ConfigError(
                f"unknown scanner(s) {', '.join(unknown)}", hint=f"use {', '.join(SCANNERS)}"
            )
        if not self.image or not self.service:
            raise ConfigError("image is empty", hint="pass --image NAME")
        if not self.gitops_repo:
            raise ConfigError("gitops-repo is empty", hint="pass --gitops-repo URL or OWNER/NAME")
        if not gitops_repo_form(self.gitops_repo):
            raise ConfigError(
                f"gitops-repo {self.gitops_repo!r} is neither OWNER/NAME, a git URL nor an absolute path",
                hint="give what the runner clones, e.g. acme/gitops or https://git.example/acme/gitops.git "
                "(a relative path means nothing on a runner)",
            )
        if not self.environments:
            raise ConfigError(
                "no environments", hint="pass --overlays env=path (one per environment)"
            )
        runs = (*self.install_commands, *self.lint_commands, *self.root_lint_commands)
        for command in (*runs, self.test_command):
            if "${{" in command:
                raise ConfigError(
                    f"the command {command!r} holds a ${{{{ }}}} expression; it would be "
                    "expanded into a run: script (template injection)",
                    hint="pass the value through an environment variable instead",
                )
        if any("\n" in v for v in (*self.tag_rules, *self.release_branches, *self.release_tags)):
            raise ConfigError("a tag rule, release branch or tag pattern spans several lines")
        if self.policy_file and (
            self.policy_file.startswith("/") or ".." in self.policy_file.split("/")
        ):
            raise ConfigError(
                f"policy-file {self.policy_file!r} is not a path inside the GitOps repository",
                hint="give it relative to the GitOps repository's root",
            )
        if not self.runs_on or not self.python_versions:
            raise ConfigError("runs-on and python versions must not be empty")
        if len(self.monitor_cron.split()) != CRON_FIELDS:
            raise ConfigError(f"monitor schedule {self.monitor_cron!r} is not a 5-field cron line")
        seen: set[str] = set()
        for env in self.environments:
            if not JOB_NAME.fullmatch(env.name) or env.name in seen:
                raise ConfigError(
                    f"environment name {env.name!r} is invalid or repeated",
                    hint="lower-case letters, digits and '-', each once",
                )
            seen.add(env.name)
            if not env.targets:
                raise ConfigError(f"environment {env.name!r} has no overlay")
            names = [t.name for t in env.targets]
            if len(set(names)) != len(names):
                raise ConfigError(f"environment {env.name!r} repeats a target name")
        if self.rollback_policy not in ROLLBACK_POLICIES:
            raise ConfigError(
                f"rollback-policy {self.rollback_policy!r} is unknown",
                hint=f"one of {', '.join(ROLLBACK_POLICIES)}",
            )
        self._check_services()
        return self

    def _check_services(self) -> None:
        for env in self.environments:
            legs = len(self.services) * len(env.targets)
            if legs > MAX_MATRIX:
                raise ConfigError(
                    f"environment {env.name!r}: {len(self.services)} services x "
                    f"{len(env.targets)} targets = {legs} verify legs, more than GitHub's "
                    f"limit of {MAX_MATRIX} matrix entries",
                    hint="split the services or the tenants over several repositories or workflows",
                )
        jobs: dict[str, str] = {}
        for service in self.services:
            if service.name == "all" and self.declared_services:
                raise ConfigError(
                    "service 'all': the name is rollback.yml's choice of every service",
                    hint="rename the service in .github/ci-actions.yml",
                )
            if service.job in jobs:
                raise ConfigError(
                    f"services {jobs[service.job]!r} and {service.name!r} would share the build "
                    f"job {service.job!r}",
                    hint="rename one of them in .github/ci-actions.yml ('.' reads as '-')",
                )
            jobs[service.job] = service.name
            blind = [
                t.name
                for stage in service.environments
                for t in stage.targets
                if not (t.health_url or t.workloads)
            ]
            if blind and self.declared_services:
                raise ConfigError(
                    f"service {service.name!r}: nothing to probe after a deploy to "
                    f"{', '.join(blind)}: no health-url, no workloads",
                    hint="set them under the service's environments in .github/ci-actions.yml "
                    f"(init: --health-url {service.name}=URL or --workloads {service.name}=KIND/NAME)",
                )


def service_job(name: str) -> str:
    """The build job of one of several services: a job id takes no '.'."""
    return "image-" + name.replace(".", "-")


_GITHUB_SLUG = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9_.-]+")


def gitops_repo_form(repo: str) -> bool:
    """OWNER/NAME on GitHub, a git URL (scheme:// or git@host:path) or an absolute path."""
    if "://" in repo or repo.startswith(("git@", "/")):
        return True
    return bool(_GITHUB_SLUG.fullmatch(repo)) and repo.split("/")[1] not in (".", "..")
