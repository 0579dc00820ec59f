"""`ci-actions init`: write the pipeline workflows of a repository from the templates.

It reads what it can infer (Dockerfile, default branch, overlays of the GitOps
repository when it is reachable, Python versions and linters from
pyproject.toml) and takes the rest as options. `--check` exits 1 when the
files on disk differ from what it would write now; `--diff` shows how. A
workflow it did not write (no header, or edited since) is never overwritten
without `--force`; nothing is written unless every file can be.
"""

from __future__ import annotations

import argparse
import difflib
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ci_actions.errors import EXIT_INPUT, EXIT_OK, EXIT_VERDICT, CiActionsError, ConfigError
from ci_actions.fsutil import write_atomic
from ci_actions.git import Git
from ci_actions.services import FILE as SERVICES_FILE

if TYPE_CHECKING:
    from ci_actions.render import Environment, Options
    from ci_actions.render.pin import Installed, Pin
    from ci_actions.services.model import Service, ServiceEnvironment


POLICY_FILE = "validate-manifests-policy.yaml"


def _repeatable(
    p: argparse._ActionsContainer, flag: str, help: str, metavar: str | None = None
) -> None:
    """An option that may be given several times; it collects a list."""
    p.add_argument(flag, action="append", default=[], metavar=metavar, help=help)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ci-actions init",
        description="Write .github/workflows/{cicd,monitor,rollback}.yml from the ci-actions templates.",
        allow_abbrev=False,
    )
    p.add_argument("--dir", default=".", help="the repository (default: the current directory)")
    _repeatable(
        p,
        "--image",
        "image repository name, e.g. blocklist (default: the folder name); with several "
        "services SERVICE=NAME names a service's (default: the service's name)",
        metavar="[SERVICE=]NAME",
    )
    p.add_argument(
        "--registry", help="registry host[:port][/path], e.g. registry.example.com (required)"
    )
    p.add_argument(
        "--insecure-registry", action="store_true", help="the registry is plain http or self-signed"
    )
    p.add_argument(
        "--service", help="service name in the release ledger (default: the image's last part)"
    )
    p.add_argument(
        "--gitops-repo",
        help="the GitOps repository: OWNER/NAME, a git URL or a local path (required)",
    )
    p.add_argument(
        "--gitops-branch",
        help="branch of the GitOps repository to commit to "
        "(default: its default branch, read with git ls-remote; main when unreachable)",
    )
    _repeatable(
        p,
        "--overlays",
        "overlay paths per environment in promotion order (several paths: one per tenant); "
        "default: overlays/* found in the GitOps repository",
        metavar="ENV=PATH[,PATH...]",
    )
    _repeatable(
        p,
        "--health-url",
        "URL probed after a deploy; with several services, SERVICE=URL or SERVICE@ENV=URL "
        "gives another service's (written to .github/ci-actions.yml)",
        metavar="[TARGET=]URL",
    )
    _repeatable(
        p,
        "--workloads",
        "workloads whose rollout is awaited (SERVICE= and SERVICE@ENV= as for --health-url)",
        metavar="[TARGET=]KIND/NAME",
    )
    p.add_argument(
        "--rollback-policy",
        choices=("failed", "all"),
        default="failed",
        help="when a service fails its probe: roll back the failed services only, or every "
        "service the run deployed to that environment (each as its auto-rollback says)",
    )
    p.add_argument("--namespace", default="", help="Kubernetes namespace of the workloads")
    _repeatable(
        p,
        "--production",
        "environments behind a protected GitHub environment (default: prod*, production, live)",
        metavar="ENV",
    )
    p.add_argument(
        "--runs-on",
        default="ubuntu-latest",
        help="runner labels, comma-separated (self-hosted supported)",
    )
    p.add_argument("--preset", default="multi", help="image-tags preset: multi, gitflow or none")
    _repeatable(p, "--python", "Python versions of the test matrix (default: from requires-python)")
    p.add_argument(
        "--no-setup-python",
        action="store_true",
        help="use python<version> from the runner (default on self-hosted runners)",
    )
    p.add_argument(
        "--scanners",
        default="bandit,semgrep,pip-audit",
        help="security-gate scanners, comma-separated",
    )
    p.add_argument(
        "--no-upload-sarif",
        action="store_true",
        help="do not upload findings to GitHub code scanning",
    )
    p.add_argument(
        "--actions-repo",
        help="the GitHub repository the workflows take the ci-actions actions from, OWNER/NAME "
        "(default: the one this installation came from: the git URL it was installed from, "
        "else its project URL)",
    )
    p.add_argument(
        "--actions-ref",
        help="the 40-character commit SHA of ci-actions to pin (default: the commit this "
        "installation was installed or released from; init refuses a pin it cannot justify)",
    )
    p.add_argument(
        "--actions-version",
        help="the release name written beside the pin (default: v<installed version>)",
    )
    p.add_argument(
        "--test-command",
        default="python -m pytest",
        help="the command the test job runs, from the tests' package folder",
    )
    p.add_argument(
        "--policy-file",
        help="validate-manifests' policy file, relative to the GitOps repository's root "
        f"(default: {POLICY_FILE} when the GitOps repository holds it)",
    )
    p.add_argument(
        "--gitops-dir",
        help="a local checkout of the GitOps repository: init reads its overlays and writes "
        f"a commented {POLICY_FILE} there when it has none",
    )
    carry = p.add_argument_group(
        "carried over from the project's own workflows (init records what it found as these "
        "options; given, they win over the workflows)"
    )
    carry.add_argument("--platforms", help="image-build platforms, e.g. linux/amd64,linux/arm64")
    carry.add_argument("--cache-from", help="image-build registry cache source")
    carry.add_argument("--cache-to", help="image-build registry cache destination")
    carry.add_argument(
        "--registry-login",
        choices=("secrets", "job-token"),
        help="log in with REGISTRY_USERNAME/REGISTRY_PASSWORD, or with the job's token "
        "(ghcr.io: no stored secret, packages: write)",
    )
    _repeatable(carry, "--push-branch", "another branch cicd.yml runs on")
    _repeatable(carry, "--push-tag", "a tag pattern cicd.yml runs on (v*)")
    _repeatable(carry, "--tag-rule", "an image-tags rule, added after ours")
    linters = "a linter command run from the root (flake8, ruff, black, isort, mypy, pylint)"
    _repeatable(carry, "--lint", linters, metavar="COMMAND")
    p.add_argument(
        "--probe-timeout", default="3m", help="how long the health probe waits for the new version"
    )
    p.add_argument("--monitor-cron", default="*/5 * * * *", help="schedule of monitor.yml")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when the workflows on disk are not what init would write",
    )
    mode.add_argument("--diff", action="store_true", help="show the difference, write nothing")
    p.add_argument(
        "--force", action="store_true", help="overwrite workflows that init did not write"
    )
    return p


def _keyed(values: Sequence[str]) -> dict[str, str]:
    """`TARGET=VALUE` lines; a bare VALUE applies to every target (key '*')."""
    result: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if sep and "://" not in key and "/" not in key:
            result.setdefault(key, "")
            result[key] = "\n".join(filter(None, [result[key], rest]))
        else:
            result.setdefault("*", "")
            result["*"] = "\n".join(filter(None, [result["*"], value]))
    return result


def _installed() -> Installed:
    """What this installation of ci-actions says about where it came from."""
    import importlib.metadata as md
    import json

    from ci_actions import __version__
    from ci_actions.render.pin import Installed

    direct: dict[str, object] = {}
    urls: tuple[str, ...] = ()
    try:
        dist = md.distribution("ci-actions")
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
        urls = tuple(dist.metadata.get_all("Project-URL") or ())
    except md.PackageNotFoundError:
        pass
    vcs = direct.get("vcs_info")
    vcs_commit = str(vcs.get("commit_id", "")) if isinstance(vcs, dict) else ""
    package = Path(__file__).resolve().parent
    release = package / "RELEASE.json"
    release_commit = ""
    if release.is_file():
        release_commit = str(json.loads(release.read_text(encoding="utf-8")).get("commit", ""))
    head = ""
    tags: tuple[str, ...] = ()
    source = package.parents[1]
    if not vcs_commit and (source / "pyproject.toml").is_file():
        git = Git(source)
        top = git.run("rev-parse", "--show-toplevel", ok_codes=None)
        if top.returncode == 0 and Path(top.stdout.strip()).resolve() == source:
            head = git.out("rev-parse", "HEAD")
            tags = tuple(git.out("tag", "--points-at", "HEAD").split())
    return Installed(
        version=__version__,
        vcs_url=str(direct.get("url", "")) if vcs_commit else "",
        vcs_commit=vcs_commit,
        checkout_head=head,
        checkout_tags=tags,
        release_commit=release_commit,
        project_urls=urls,
    )


def _pin(args: argparse.Namespace, err: TextIO) -> Pin:
    from ci_actions.render.pin import resolve

    pin = resolve(_installed(), args.actions_repo, args.actions_ref, args.actions_version)
    if pin.warning:
        err.write(f"ci-actions init: warning: {pin.warning}\n")
    return pin


def gitops_default_branch(url: str) -> str | None:
    """The default branch of a git remote (`ls-remote --symref URL HEAD`), None unreachable."""
    done = Git(".").run("ls-remote", "--symref", "--", url, "HEAD", timeout=30, ok_codes=None)
    if done.returncode != 0:
        return None
    for line in done.stdout.splitlines():
        ref, _, name = line.partition("\t")
        if ref.startswith("ref: refs/heads/") and name.strip() == "HEAD":
            return ref.removeprefix("ref: refs/heads/").strip()
    return None


def _environments(args: argparse.Namespace, root: Path) -> tuple[Environment, ...]:
    from ci_actions.render import Environment, Target, infer

    overlays: list[tuple[str, list[str]]] = []
    for item in args.overlays:
        name, sep, paths = item.partition("=")
        if not sep:
            name, paths = Path(item).name, item
        overlays.append((name, [p for p in paths.split(",") if p]))
    if not overlays:
        tree = infer.gitops_tree(args.gitops_dir or args.gitops_repo)
        if not tree and (root / "overlays").is_dir():
            tree = infer.gitops_tree(str(root))
        overlays = [(Path(p).name, [p]) for p in infer.overlays_in(tree)]
    if not overlays:
        raise ConfigError(
            f"no overlays found in {args.gitops_repo}",
            hint="pass --overlays ENV=PATH for each environment, e.g. --overlays dev=overlays/dev",
        )
    urls = _keyed(args.health_url)
    workloads = _keyed(args.workloads)
    environments = []
    for name, paths in overlays:
        targets = []
        for path in paths:
            target = name if len(paths) == 1 else f"{name}-{Path(path).name}"
            url = urls.get(target, urls.get(name, urls.get("*", "")))
            loads = workloads.get(target, workloads.get(name, workloads.get("*", "")))
            targets.append(
                Target(
                    target,
                    path,
                    url.split("\n")[0] if url else "",
                    tuple(filter(None, loads.split("\n"))),
                    args.namespace,
                )
            )
        production = name in args.production if args.production else infer.is_production(name)
        environments.append(Environment(name, tuple(targets), production))
    return tuple(environments)


def _check_probes(options: Options) -> None:
    """One service: every target has something to probe (the services of a services file
    are checked by Options.check, naming the service)."""
    if options.declared_services:
        return
    environments = options.environments
    blind = [
        t.name for env in environments for t in env.targets if not (t.health_url or t.workloads)
    ]
    if blind:
        raise ConfigError(
            f"nothing to probe after a deploy of {', '.join(blind)}: no health URL, no workloads",
            hint="pass --health-url [TARGET=]URL or --workloads [TARGET=]KIND/NAME",
        )


def _say(notes: list[str], what: str, value: object, source: str) -> None:
    notes.append(f"{what}: {value}  <- {source}")


def _test_job(
    args: argparse.Namespace,
    root: Path,
    notes: list[str],
    carried_lint: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """Options of the lint+test job: where the tests are, their Python, tools and services;
    `carried_lint` are (command, package) an existing workflow runs from the root."""
    from ci_actions.render import infer

    package = infer.test_package(root)
    try:
        project = infer.pyproject(root / package)
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise ConfigError(f"{package / 'pyproject.toml'} does not parse: {exc}") from exc
    _say(notes, "tests", package.as_posix(), "the package folder holding the tests")
    lint_commands, lint_packages = infer.linters(root / package, project)
    pre_commit = (root / ".pre-commit-config.yaml").is_file()
    root_lint: tuple[str, ...] = (
        ("pre-commit run --all-files --show-diff-on-failure",) if pre_commit else ()
    )
    lint_packages += ("pre-commit",) if pre_commit else ()
    tools = {c.split()[0] for c in lint_commands}
    # found in a workflow: only a tool the settings do not already run; given: as given
    carried = [
        (c, pkg) for c, pkg in carried_lint if args.lint or (pkg not in tools and not pre_commit)
    ]
    root_lint += tuple(dict.fromkeys(c for c, _ in carried))
    lint_packages += tuple(dict.fromkeys(pkg for _, pkg in carried if pkg not in lint_packages))
    _say(notes, "linters", ", ".join([*lint_commands, *root_lint]) or "none", "tool settings")
    install = infer.install(root, package, project, lint_packages)
    _say(notes, "test dependencies", " && ".join(install.commands) or "pip", install.source)
    pinned = infer.python_version_file(root / package, root)
    try:
        pythons = tuple(args.python) or infer.python_versions(project, pinned)
    except ValueError as exc:
        raise ConfigError(str(exc), hint="pass --python VERSION") from exc
    where = f"requires-python of {package / 'pyproject.toml'}, .python-version ({pinned or 'none'})"
    _say(notes, "python", ", ".join(pythons), "--python" if args.python else where)
    services = infer.workflow_services(root)
    todo = () if services else tuple(infer.compose_backing_services(root))
    if services:
        _say(notes, "test services", ", ".join(services), "an existing workflow's services:")
    if todo:
        notes.append(
            f"TODO: the tests may need {', '.join(todo)} (compose file): "
            "add a services: block to the test job"
        )
    return {
        "working_directory": package.as_posix() or ".",
        "python_versions": pythons,
        "install_args": install.pip_args,
        "install_commands": install.commands,
        "lint_commands": lint_commands,
        "root_lint_commands": root_lint,
        "test_services": _json(services) if services else "",
        "services_todo": todo,
        # the security job parses the code as the project's Python does
        "scan_python": pinned or max(pythons, key=_minor),
    }


def _security_job(
    args: argparse.Namespace, root: Path, package: Path, notes: list[str]
) -> dict[str, Any]:
    """The scanners, each given what it can read; a dependency scanner with nothing is left out."""
    from ci_actions.render import infer

    scanners = tuple(s.strip() for s in args.scanners.split(",") if s.strip())
    requirements, why = infer.dependency_files(root, package)
    note = ""
    dependency = [s for s in scanners if s in ("pip-audit", "safety")]
    if dependency and not requirements:
        scanners = tuple(s for s in scanners if s not in dependency)
        note = f"{' and '.join(dependency)} left out: nothing to read ({why})"
        notes.append(note)
    elif dependency:
        _say(notes, "dependency scan", ", ".join(requirements), why)
    return {"scanners": scanners, "scanners_note": note, "requirements": requirements}


def _image_job(root: Path, notes: list[str]) -> dict[str, Any]:
    """The Dockerfile, its build context, and whether it takes the version."""
    from ci_actions.render import infer

    dockerfile = infer.dockerfile(root)
    if dockerfile is None:
        raise ConfigError(f"no Dockerfile in {root}", hint="add one; init builds the image from it")
    context, rule = infer.build_context(root, dockerfile)
    _say(notes, "build context", context, rule)
    version_arg = infer.takes_version(root, dockerfile)
    if not version_arg:
        notes.append(
            f"the probe does not assert the version: {dockerfile} takes no ARG VERSION. To "
            "enable it, add `ARG VERSION`, report it at the health URL (JSON `version`, or set "
            "version-from) and re-run init"
        )
    return {"dockerfile": str(dockerfile), "context": context, "version_arg": version_arg}


def _images(args: argparse.Namespace) -> tuple[str | None, dict[str, str]]:
    """--image: the image of the service built first (NAME), and the images of services
    named (SERVICE=NAME)."""
    plain = [v for v in args.image if "=" not in v]
    if len(plain) > 1:
        raise ConfigError(
            f"--image is given {len(plain)} times without a service: {', '.join(plain)}",
            hint="give the first service's image once; the others' as --image SERVICE=NAME",
        )
    named = dict(v.split("=", 1) for v in args.image if "=" in v)
    return (plain[0] if plain else None), named


def _default_image(root: Path, dockerfile: Path, named: Mapping[str, str]) -> str:
    """The repository's name; among several services, the service's (the folder of its
    Dockerfile, the repository's for a root one), or its --image SERVICE=NAME."""
    from ci_actions.render import infer

    if len(infer.dockerfiles(root)[0]) < 2:
        return root.name
    name = dockerfile.parent.name or root.name
    return named.get(name, name)


def _gitops_branch(args: argparse.Namespace, notes: list[str]) -> str:
    if args.gitops_branch:
        return str(args.gitops_branch)
    url = gitops_url_of(args.gitops_repo)
    found = gitops_default_branch(url)
    source = f"the default branch of {url}" if found else f"{url} unreachable: assumed"
    _say(notes, "gitops branch", found or "main", source)
    return found or "main"


def options_from(args: argparse.Namespace, err: TextIO | None = None) -> tuple[Options, list[str]]:
    """The options of the rendered workflows, and one line per inference saying where from."""
    from ci_actions.render import Options, infer

    notes: list[str] = []
    root = Path(args.dir).resolve()
    if not root.is_dir():
        raise ConfigError(f"--dir {args.dir} is not a directory")
    if args.gitops_repo and infer.same_repository(args.gitops_repo, root):
        raise ConfigError(
            f"--gitops-repo {args.gitops_repo} is this application's own repository: the "
            "pipeline's bump and ledger commits would land on its default branch and start the "
            "pipeline again (build, bump, build, ...)",
            hint="keep the overlays in a separate GitOps repository and pass it as OWNER/NAME or URL",
        )
    image_job = _image_job(root, notes)
    plain, named = _images(args)
    image = plain or _default_image(root, Path(image_job["dockerfile"]), named)
    registry = args.registry.rstrip("/")
    carried, carried_lint = carried_over(args, root, registry, image, notes)
    test_job = _test_job(args, root, notes, carried_lint)
    security_job = _security_job(args, root, Path(test_job["working_directory"]), notes)
    runs_on = tuple(label.strip() for label in args.runs_on.split(",") if label.strip())
    branch = _gitops_branch(args, notes)
    environments = _environments(args, root)
    pin = _pin(args, err or sys.stderr)
    _say(notes, "actions", f"{pin.repo}@{pin.ref} # {pin.version}", pin.why)
    options = Options(
        service=args.service or image.rsplit("/", 1)[-1],
        image=image,
        registry=registry,
        insecure_registry=args.insecure_registry,
        environments=environments,
        gitops_repo=args.gitops_repo,
        gitops_branch=branch,
        actions_repo=pin.repo,
        actions_ref=pin.ref,
        actions_version=pin.version,
        tag_pin=bool(pin.warning),
        default_branch=infer.default_branch(root),
        setup_python=not (args.no_setup_python or "self-hosted" in runs_on),
        preset=args.preset,
        upload_sarif=not args.no_upload_sarif,
        runs_on=runs_on,
        monitor_cron=args.monitor_cron,
        probe_timeout=args.probe_timeout,
        test_command=args.test_command,
        policy_file=policy_file(args, notes),
        rollback_policy=args.rollback_policy,
        **carried,
        **image_job,
        **test_job,
        **security_job,
    ).check()
    return options, notes


def carried_over(
    args: argparse.Namespace, root: Path, registry: str, image: str, notes: list[str]
) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    """What the project's own workflows do that the pipeline keeps (Options fields, and lint
    commands with their packages); the rest is named in `notes` as not carried over. Each
    option given (or recorded by an earlier init) wins over what the workflows say."""
    options, lints = _from_workflows(root, registry, image, notes)
    given = {
        "platforms": args.platforms,
        "cache_from": args.cache_from,
        "cache_to": args.cache_to,
        "registry_token_login": None
        if args.registry_login is None
        else args.registry_login == "job-token",
        "release_branches": tuple(args.push_branch) or None,
        "release_tags": tuple(args.push_tag) or None,
        "tag_rules": tuple(args.tag_rule) or None,
    }
    options.update({k: v for k, v in given.items() if v is not None})
    if args.lint:
        lints = tuple((command, _lint_package(command)) for command in args.lint)
    return options, lints


def _lint_package(command: str) -> str:
    from ci_actions.render.existing import LINTERS

    words = command.removeprefix("python -m ").split()
    if not words or words[0] not in LINTERS or "${{" in command:
        raise ConfigError(
            f"--lint {command!r} is not a linter command init knows",
            hint=f"start it with one of {', '.join(LINTERS)}; no ${{{{ }}}} expressions",
        )
    return LINTERS[words[0]]


def carried_flags(args: argparse.Namespace, options: Options) -> list[str]:
    """The carried-over values found in the workflows, as the options that give them: recorded
    in the header, so a later init renders the same files once the old workflow is gone."""
    from ci_actions.render import Options as Defaults

    flags: list[str] = []
    for flag, given, value, default in (
        ("--platforms", args.platforms, options.platforms, ""),
        ("--cache-from", args.cache_from, options.cache_from, ""),
        ("--cache-to", args.cache_to, options.cache_to, ""),
    ):
        if given is None and value != default:
            flags += [flag, value]
    if args.registry_login is None and options.registry_token_login:
        flags += ["--registry-login", "job-token"]
    for flag, given_list, values in (
        ("--push-branch", args.push_branch, options.release_branches),
        ("--tag-rule", args.tag_rule, options.tag_rules),
    ):
        if not given_list:
            for value in values:
                flags += [flag, value]
    if not args.push_tag and options.release_tags != Defaults.release_tags:
        for value in options.release_tags:
            flags += ["--push-tag", value]
    pre_commit = [c for c in options.root_lint_commands if c.startswith("pre-commit ")]
    if not args.lint:
        for command in options.root_lint_commands:
            if command not in pre_commit:
                flags += ["--lint", command]
    return flags


def _from_workflows(
    root: Path, registry: str, image: str, notes: list[str]
) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    from ci_actions.render import existing, infer

    found = existing.read(root, infer.github_repository(root))
    notes.extend(found.carried)
    notes.extend(f"NOT carried over: {line}" for line in found.not_carried)
    host = registry.split("/", 1)[0]
    token_login = host in found.token_logins
    for other in sorted(set(found.token_logins) - {host}):
        notes.append(
            f"NOT carried over: the login to {other} with the job's token: the pipeline "
            f"pushes to {host}"
        )
    full = f"{registry}/{image}".lower() if registry else image.lower()
    for file, images in found.publishers:
        same = not images or full in images
        shown = ", ".join(images) or "an image (its name is an expression)"
        notes.append(
            f"warning: {file} pushes {shown} too and will keep pushing it beside cicd.yml: "
            "remove its push (or the workflow) once cicd.yml publishes"
            if same
            else f"{file} pushes other images ({shown}): left alone"
        )
    options: dict[str, Any] = {
        "platforms": found.platforms,
        "cache_from": found.cache_from,
        "cache_to": found.cache_to,
        "registry_token_login": token_login,
        "release_branches": tuple(b for b in found.branches if b != infer.default_branch(root)),
        "release_tags": found.tag_patterns or ("v*",),
        "tag_rules": found.tag_rules,
    }
    return options, found.lint_commands


def policy_file(args: argparse.Namespace, notes: list[str]) -> str:
    """validate-manifests' policy file: --policy-file, else POLICY_FILE when the GitOps
    repository's committed tree holds it. A local checkout without one gets a commented
    starter (never overwritten); a remote one gets the hint to commit it."""
    if args.policy_file:
        return str(args.policy_file)
    from ci_actions.render import infer

    local = args.gitops_dir or args.gitops_repo
    if POLICY_FILE in infer.gitops_tree(local):
        _say(notes, "policy file", POLICY_FILE, f"committed in {local}")
        return POLICY_FILE
    if infer.gitops_checkout(local) is None:
        notes.append(
            f"no {POLICY_FILE} in the GitOps repository: `ci-actions init --gitops-dir CHECKOUT` "
            "writes a commented one there; commit it to enable one place to tighten or loosen "
            "the validate-manifests policies, then re-run init"
        )
    return ""


def write_policy_starter(args: argparse.Namespace, out: TextIO) -> None:
    """A commented POLICY_FILE in a local GitOps checkout that has none (never overwritten)."""
    from ci_actions.manifests.policies import starter_policy_file
    from ci_actions.render import infer

    if args.policy_file:
        return
    checkout = infer.gitops_checkout(args.gitops_dir or args.gitops_repo)
    if checkout is None or POLICY_FILE in infer.gitops_tree(str(checkout)):
        return
    path = checkout / POLICY_FILE
    if not path.exists():
        write_atomic(path, starter_policy_file())
        out.write(f"wrote {path} (all comments: the defaults apply)\n")
    out.write(
        f"commit {path} to the GitOps repository to enable it, then re-run init: the "
        "validate step reads it once the runner's clone holds it\n"
    )


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _json(value: object) -> str:
    import json

    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def gitops_url_of(repo: str) -> str:
    """The clone URL of --gitops-repo (OWNER/NAME is on github.com; a path stays a path)."""
    if "://" in repo or repo.startswith(("/", "git@", ".")) or Path(repo).exists():
        return repo
    return f"https://github.com/{repo}.git"


def _check_images(args: argparse.Namespace, options: Options, notes: list[str]) -> None:
    """Warn about each service whose image is not among the images the overlays set."""
    from ci_actions.render import infer

    overlays = [t.overlay for env in options.environments for t in env.targets]
    found = infer.overlay_images(args.gitops_dir or args.gitops_repo, overlays)
    if not found:
        return
    several = len(options.services) > 1
    for service in options.services:
        short = service.image.removeprefix(f"{options.registry}/")
        if service.image not in found and short not in found:
            fix = f"--image {service.name}=NAME" if several else "--image"
            notes.append(
                f"warning: the image {service.image} is not among the images the overlays "
                f"set ({', '.join(found)}): pass {fix} (and --registry) to match one"
            )


SERVICES_SOURCE = "the Dockerfiles of this repository"


def _detected_services(
    args: argparse.Namespace, root: Path, options: Options, notes: list[str]
) -> str | None:
    """The body of the services file for two or more Dockerfiles (None for one or none).

    One service per Dockerfile, named after its folder (the root one after the
    repository), its context by the build-context rules, its image `<registry>/<name>`,
    changed by its context (a root context: by what its Dockerfile copies).
    The service of the Dockerfile init found first keeps the image the options give
    (--image) and the targets' health URLs and workloads; the others' come from
    `--health-url SERVICE[@ENV]=URL` / `--workloads SERVICE[@ENV]=KIND/NAME`, or are left
    empty to fill in (init then names what is missing). Production does not roll back by
    itself (auto-rollback: false), as the teams this serves configure it.
    """
    from ci_actions import yamlsafe
    from ci_actions.render import infer
    from ci_actions.services.dump import dump
    from ci_actions.services.model import Service, ServicesError
    from ci_actions.services.parse import parse_services

    found, tests = infer.dockerfiles(root)
    if len(found) < 2:
        return None
    if tests:
        notes.append(f"services: left out as test material: {', '.join(map(str, tests))}")
    services = []
    for path in found:
        name = path.parent.name if path.parent.parts else root.name
        context, _ = infer.build_context(root, path)
        built = path.as_posix() == options.dockerfile
        environments = (
            _target_settings(options) if built else _service_settings(args, name, options)
        )
        own = _images(args)[1].get(name, name)
        image = f"{options.registry}/{options.image if built else own}"
        paths = _change_paths(root, context, path)
        services.append(Service(name, context, path.as_posix(), image, paths, environments))
    body = dump(services)
    try:  # what is written reads back through the one loader and the one validator
        parse_services(yamlsafe.load(body), root)
    except ServicesError as exc:
        raise ServicesError(
            f"services detected from the Dockerfiles: {exc.message}",
            hint=f"write {SERVICES_FILE} by hand (init keeps a services file it did not write)",
        ) from None
    return body


def _change_paths(root: Path, context: str, dockerfile: Path) -> tuple[str, ...]:
    """What changes a service, as Service.paths (its own entry first, what the file declares
    after it). A subfolder context is its folder. A root context would be every file, so a
    Dockerfile in a subfolder declares what it copies (a folder as `folder/**`) and is
    changed by that and by itself; one that copies the whole context (`.`) keeps `**`."""
    from ci_actions.render import infer

    if context != ".":
        return (f"{context}/**",)
    text = (root / dockerfile).read_text(encoding="utf-8")
    sources = [s.removeprefix("./").rstrip("/") for s in infer.copy_sources(text)]
    if not dockerfile.parent.parts or not sources or "" in sources or "." in sources:
        return ("**",)
    globs = [f"{s}/**" if (root / s).is_dir() else s for s in sources]
    return (dockerfile.as_posix(), *dict.fromkeys(globs))


def _target_settings(options: Options) -> tuple[ServiceEnvironment, ...]:
    """The options' probes as a service's settings: one per environment, or one per target
    of an environment with several (tenants; a target's entry wins over its environment's)."""
    from ci_actions.services.model import ServiceEnvironment

    return tuple(
        ServiceEnvironment(
            env.name if len(env.targets) == 1 else t.name,
            t.workloads,
            t.health_url,
            auto_rollback=not env.production,
        )
        for env in options.environments
        for t in env.targets
    )


def _service_settings(
    args: argparse.Namespace, name: str, options: Options
) -> tuple[ServiceEnvironment, ...]:
    """Another service's settings per environment: `SERVICE@ENV=` values, else `SERVICE=`."""
    from ci_actions.services.model import ServiceEnvironment

    urls, workloads = _keyed(args.health_url), _keyed(args.workloads)

    def value(values: dict[str, str], env: str) -> str:
        return values.get(f"{name}@{env}", values.get(name, ""))

    return tuple(
        ServiceEnvironment(
            env.name,
            tuple(filter(None, value(workloads, env.name).split("\n"))),
            value(urls, env.name).split("\n")[0],
            auto_rollback=not env.production,
        )
        for env in options.environments
    )


def _services_plan(
    args: argparse.Namespace, root: Path, options: Options, command: str, notes: list[str]
) -> tuple[dict[str, str], tuple[Service, ...]]:
    """`{SERVICES_FILE: text}` when init writes the services file (else {}), and the
    services the pipeline builds (none: the one-service pipeline).

    A services file edited by hand (or written by someone else) is the repository's own:
    it is checked, kept and never rewritten without --force (editing it is how paths,
    workloads and health URLs are declared; a re-run of init must not undo that).
    """
    from ci_actions.render import header, written_by_us

    path = root / SERVICES_FILE
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if current is not None and not written_by_us(current) and not args.force:
        services = _read_services(path, root)
        names = [s.name for s in services]
        notes.append(
            f"services: {len(names)} in {SERVICES_FILE} ({', '.join(names)}), kept as it is "
            "(not written by init, or edited since)"
        )
        _say_built(services, notes)
        return {}, services
    body = _detected_services(args, root, options, notes)
    services = _parse_text(body, root) if body is not None else ()
    names = [s.name for s in services]
    named = _images(args)[1]
    unknown = sorted(set(named) - set(names))
    if unknown:
        raise ConfigError(
            f"--image {unknown[0]}={named[unknown[0]]}: no service {unknown[0]!r} "
            f"(services: {', '.join(names) or 'none, one Dockerfile'})",
            hint="name a service init found, or give the image without SERVICE=",
        )
    if body is None:
        return {}, ()
    text = header("ci-actions", body, command, source=SERVICES_SOURCE) + body
    notes.append(f"services: {len(names)} found ({', '.join(names)}) -> {SERVICES_FILE}")
    _say_built(services, notes)
    return {SERVICES_FILE: text}, services


def _parse_text(text: str, root: Path) -> tuple[Service, ...]:
    from ci_actions import yamlsafe
    from ci_actions.services.parse import parse_services

    return parse_services(yamlsafe.load(text), root)


def _read_services(path: Path, root: Path) -> tuple[Service, ...]:
    import yaml

    from ci_actions.services.model import ServicesError

    try:
        return _parse_text(path.read_text(encoding="utf-8"), root)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{SERVICES_FILE} is not valid YAML: {exc}") from None
    except ServicesError as exc:
        raise ConfigError(f"{SERVICES_FILE}: {exc.message}", hint=exc.hint) from None


def _say_built(services: Sequence[Service], notes: list[str]) -> None:
    if len(services) > 1:
        built = ", ".join(f"{s.name} ({s.dockerfile} -> {s.image})" for s in services)
        notes.append(
            f"services: cicd.yml builds each service a change touches, in a job of its own: "
            f"{built}; one GitOps commit per environment for all of them"
        )


def with_services(root: Path, options: Options, services: Sequence[Service]) -> Options:
    """The options with the services of the services file (each Dockerfile read for ARG
    VERSION), checked: every service has something to probe in every environment."""
    import dataclasses

    from ci_actions.render import DeclaredService, infer

    declared = tuple(
        DeclaredService(
            s.name,
            s.image,
            s.context,
            s.dockerfile,
            infer.takes_version(root, Path(s.dockerfile)),
            s.environments,
        )
        for s in services
    )
    options = dataclasses.replace(options, declared_services=declared)
    _check_probes(options)
    return options.check()


@dataclass
class Plan:
    path: Path
    text: str
    current: str | None

    @property
    def changed(self) -> bool:
        return self.current != self.text

    @property
    def ours(self) -> bool:
        from ci_actions.render import written_by_us

        return self.current is None or written_by_us(self.current)


def plan(root: Path, rendered: Mapping[str, str]) -> list[Plan]:
    plans = []
    for rel, text in rendered.items():
        path = root / rel
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        plans.append(Plan(path, text, current))
    return plans


def _diff(item: Plan, root: Path) -> str:
    rel = str(item.path.relative_to(root))
    return "".join(
        difflib.unified_diff(
            (item.current or "").splitlines(keepends=True),
            item.text.splitlines(keepends=True),
            fromfile=f"a/{rel}" if item.current is not None else "/dev/null",
            tofile=f"b/{rel}",
        )
    )


MODE_FLAGS = ("--check", "--diff", "--force")
# paths on this machine: what they give is recorded, not the paths
LOCAL_FLAGS = ("--dir", "--gitops-dir")


def recordable(argv: Sequence[str]) -> list[str]:
    """The options that shape the workflows: argv without local paths and the mode flags."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in LOCAL_FLAGS:
            skip = True
        elif not arg.startswith(tuple(f"{f}=" for f in LOCAL_FLAGS)) and arg not in MODE_FLAGS:
            kept.append(arg)
    return kept


def recorded_options(root: Path) -> list[str] | None:
    """The options of the last `ci-actions init`, from the header of cicd.yml."""
    from ci_actions.render import recorded_command

    path = root / ".github" / "workflows" / "cicd.yml"
    command = recorded_command(path.read_text(encoding="utf-8")) if path.is_file() else None
    return shlex.split(command)[2:] if command else None


def execute(args: argparse.Namespace, argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    from ci_actions.render import render_all

    root = Path(args.dir).resolve()
    for name in ("registry", "gitops_repo"):
        if getattr(args, name) is None:
            raise ConfigError(
                f"--{name.replace('_', '-')} is required",
                hint="give it, or run init once with it: later runs reuse the recorded options",
            )
    options, notes = options_from(args, err)
    # what was read from the GitOps remote is recorded: a later run that cannot reach it
    # renders the same files
    inferred = [] if args.gitops_branch else ["--gitops-branch", options.gitops_branch]
    if options.policy_file and not args.policy_file:
        inferred += ["--policy-file", options.policy_file]
    inferred += carried_flags(args, options)
    if not args.overlays:
        for env in options.environments:
            paths = ",".join(t.overlay for t in env.targets)
            inferred += ["--overlays", f"{env.name}={paths}"]
    command = shlex.join(["ci-actions", "init", *recordable(argv), *inferred])
    files, services = _services_plan(args, root, options, command, notes)
    options = with_services(root, options, services)
    _check_images(args, options, notes)
    rendered = render_all(options, command) | files
    plans = plan(root, rendered)
    if not (args.check or args.diff):
        for line in notes:
            out.write(f"{line}\n")
    changed = [p for p in plans if p.changed]
    if args.check or args.diff:
        for item in changed:
            if args.diff:
                out.write(_diff(item, root))
            else:
                state = "missing" if item.current is None else "differs from the templates"
                out.write(f"{item.path.relative_to(root)}: {state}\n")
        if args.check and not changed:
            out.write(
                "workflows and services file are up to date\n"
                if SERVICES_FILE in rendered
                else "workflows are up to date\n"
            )
        return EXIT_VERDICT if changed and args.check else EXIT_OK
    foreign = [p for p in changed if not p.ours]
    if foreign and not args.force:
        from ci_actions.render import HEADER_MARK

        for item in foreign:
            err.write(
                f"ci-actions init: {item.path.relative_to(root)} was not written by ci-actions init "
                "(or was edited since); not overwriting it: --diff shows the change, --force overwrites\n"
            )
            if (item.current or "").startswith(HEADER_MARK):
                err.write(
                    "  its header does not match its content: edited by hand (the header and the "
                    "recorded command included), or written by an older init whose hash covered "
                    "the body only\n"
                )
        return EXIT_INPUT
    for item in plans:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        wrote = write_atomic(item.path, item.text)
        out.write(f"{'wrote' if wrote else 'unchanged'} {item.path.relative_to(root)}\n")
    write_policy_starter(args, out)
    return EXIT_OK


def main(
    argv: Sequence[str],
    environ: Mapping[str, str],
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
        if args.registry is None and args.gitops_repo is None:
            # No options: reuse the ones recorded by the last init (drift checks, updates).
            recorded = recorded_options(Path(args.dir).resolve())
            if recorded is not None:
                argv = [*recorded, *argv]
                args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help is 0, a usage error is 2
        return int(exc.code or 0)
    try:
        return execute(args, argv, out, err)
    except CiActionsError as exc:
        err.write(f"ci-actions init: {exc}\n")
        return exc.exit_code
