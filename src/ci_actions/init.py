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
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ci_actions.errors import EXIT_INPUT, EXIT_OK, EXIT_VERDICT, CiActionsError, ConfigError
from ci_actions.fsutil import write_atomic

if TYPE_CHECKING:
    from ci_actions.render import Environment, Options


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ci-actions init",
        description="Write .github/workflows/{cicd,monitor,rollback}.yml from the ci-actions templates.",
        allow_abbrev=False,
    )
    p.add_argument("--dir", default=".", help="the repository (default: the current directory)")
    p.add_argument(
        "--image", help="image repository name, e.g. blocklist (default: the folder name)"
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
    p.add_argument("--gitops-branch", default="main")
    p.add_argument(
        "--overlays",
        action="append",
        default=[],
        metavar="ENV=PATH[,PATH...]",
        help="overlay paths per environment in promotion order (several paths: one per tenant); "
        "default: overlays/* found in the GitOps repository",
    )
    p.add_argument(
        "--health-url",
        action="append",
        default=[],
        metavar="[TARGET=]URL",
        help="URL probed after a deploy",
    )
    p.add_argument(
        "--workloads",
        action="append",
        default=[],
        metavar="[TARGET=]KIND/NAME",
        help="workloads whose rollout is awaited",
    )
    p.add_argument("--namespace", default="", help="Kubernetes namespace of the workloads")
    p.add_argument(
        "--production",
        action="append",
        default=[],
        metavar="ENV",
        help="environments behind a protected GitHub environment (default: prod*, production, live)",
    )
    p.add_argument(
        "--runs-on",
        default="ubuntu-latest",
        help="runner labels, comma-separated (self-hosted supported)",
    )
    p.add_argument("--preset", default="multi", help="image-tags preset: multi, gitflow or none")
    p.add_argument(
        "--python",
        action="append",
        default=[],
        help="Python versions of the test matrix (default: from requires-python)",
    )
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
        default="ci-actions/ci-actions",
        help="where the ci-actions actions live (OWNER/NAME)",
    )
    p.add_argument(
        "--actions-ref",
        help="commit SHA of ci-actions to pin (default: this installation's commit)",
    )
    p.add_argument(
        "--actions-version", default="v1", help="the release name written beside the pin"
    )
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


def _actions_ref(given: str | None) -> str:
    if given:
        return given
    source = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ConfigError(
            "cannot tell which ci-actions commit to pin",
            hint="pass --actions-ref with the 40-character commit SHA of the ci-actions release to use",
        )
    return done.stdout.strip()


def _environments(args: argparse.Namespace, root: Path) -> tuple[Environment, ...]:
    from ci_actions.render import Environment, Target, infer

    overlays: list[tuple[str, list[str]]] = []
    for item in args.overlays:
        name, sep, paths = item.partition("=")
        if not sep:
            name, paths = Path(item).name, item
        overlays.append((name, [p for p in paths.split(",") if p]))
    if not overlays:
        tree = infer.gitops_tree(args.gitops_repo)
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


def options_from(args: argparse.Namespace) -> Options:
    from ci_actions.render import Options, infer

    root = Path(args.dir).resolve()
    if not root.is_dir():
        raise ConfigError(f"--dir {args.dir} is not a directory")
    try:
        project = infer.pyproject(root)
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise ConfigError(f"pyproject.toml does not parse: {exc}") from exc
    dockerfile = infer.dockerfile(root)
    if dockerfile is None:
        raise ConfigError(f"no Dockerfile in {root}", hint="add one; init builds the image from it")
    lint_commands, lint_packages = infer.linters(root, project)
    runs_on = tuple(label.strip() for label in args.runs_on.split(",") if label.strip())
    image = args.image or root.name
    return Options(
        service=args.service or image.rsplit("/", 1)[-1],
        image=image,
        registry=args.registry.rstrip("/"),
        insecure_registry=args.insecure_registry,
        environments=_environments(args, root),
        gitops_repo=args.gitops_repo,
        gitops_branch=args.gitops_branch,
        actions_repo=args.actions_repo,
        actions_ref=_actions_ref(args.actions_ref),
        actions_version=args.actions_version,
        default_branch=infer.default_branch(root),
        context=str(dockerfile.parent),
        dockerfile=str(dockerfile),
        python_versions=tuple(args.python) or infer.python_versions(project),
        setup_python=not (args.no_setup_python or "self-hosted" in runs_on),
        install_args=infer.install_args(root, project, lint_packages),
        lint_commands=lint_commands,
        preset=args.preset,
        scanners=tuple(s.strip() for s in args.scanners.split(",") if s.strip()),
        requirements=infer.requirements(root),
        upload_sarif=not args.no_upload_sarif,
        runs_on=runs_on,
        monitor_cron=args.monitor_cron,
        probe_timeout=args.probe_timeout,
    ).check()


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


def recordable(argv: Sequence[str]) -> list[str]:
    """The options that shape the workflows: argv without --dir and the mode flags."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--dir":
            skip = True
        elif not arg.startswith("--dir=") and arg not in MODE_FLAGS:
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
    command = shlex.join(["ci-actions", "init", *recordable(argv)])
    plans = plan(root, render_all(options_from(args), command))
    changed = [p for p in plans if p.changed]
    if args.check or args.diff:
        for item in changed:
            if args.diff:
                out.write(_diff(item, root))
            else:
                state = "missing" if item.current is None else "differs from the templates"
                out.write(f"{item.path.relative_to(root)}: {state}\n")
        if args.check and not changed:
            out.write("workflows are up to date\n")
        return EXIT_VERDICT if changed and args.check else EXIT_OK
    foreign = [p for p in changed if not p.ours]
    if foreign and not args.force:
        for item in foreign:
            err.write(
                f"ci-actions init: {item.path.relative_to(root)} was not written by ci-actions init "
                "(or was edited since); not overwriting it: --diff shows the change, --force overwrites\n"
            )
        return EXIT_INPUT
    for item in plans:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        wrote = write_atomic(item.path, item.text)
        out.write(f"{'wrote' if wrote else 'unchanged'} {item.path.relative_to(root)}\n")
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
