"""What `ci-actions init` reads from a repository instead of asking.

Each function takes a path and returns a plain value; none writes anything.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from ci_actions.git import Git

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"}
KNOWN_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
PRODUCTION = re.compile(r"^(prod|production|live)([-_].*)?$")
ENV_ORDER = ("dev", "development", "test", "qa", "staging", "stage", "preprod")


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        for entry in sorted(folder.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                if entry.name not in SKIP_DIRS:
                    stack.append(entry)
            elif entry.is_file():
                found.append(entry)
    return found


def dockerfile(root: Path) -> Path | None:
    """The Dockerfile to build: the root one, else the shallowest found."""
    if (root / "Dockerfile").is_file():
        return Path("Dockerfile")
    candidates = [
        p.relative_to(root) for p in _walk(root) if p.name in ("Dockerfile", "Containerfile")
    ]
    return min(candidates, key=lambda p: (len(p.parts), str(p)), default=None)


def default_branch(root: Path) -> str:
    """origin's HEAD branch, else the current branch, else main."""
    git = Git(root)
    if not (root / ".git").exists() or not git.is_repo():
        return "main"
    head = git.run("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", ok_codes=None)
    if head.returncode == 0 and head.stdout.strip():
        return head.stdout.strip().split("/", 1)[-1]
    return git.current_branch() or "main"


def pyproject(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file() or sys.version_info < (3, 11):
        return {}  # tomllib is 3.11+; on 3.10 the options say it instead
    import tomllib

    with path.open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    return data


def python_versions(project: dict[str, Any]) -> tuple[str, ...]:
    """Every known minor version `requires-python` admits; the newest when it says nothing."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    spec_text = project.get("project", {}).get("requires-python", "")
    if not spec_text:
        return (KNOWN_PYTHONS[-1],)
    try:
        spec = SpecifierSet(spec_text)
    except InvalidSpecifier:
        return (KNOWN_PYTHONS[-1],)
    admitted = tuple(v for v in KNOWN_PYTHONS if spec.contains(f"{v}.0"))
    return admitted or (KNOWN_PYTHONS[-1],)


def linters(root: Path, project: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(lint commands, pip packages they need), from the tools the repository configures."""
    tool = project.get("tool", {})
    commands: list[str] = []
    packages: list[str] = []
    if "ruff" in tool or (root / "ruff.toml").is_file() or (root / ".ruff.toml").is_file():
        commands.append("ruff check .")
        packages.append("ruff")
    if "black" in tool:
        commands.append("black --check .")
        packages.append("black")
    if "isort" in tool:
        commands.append("isort --check-only .")
        packages.append("isort")
    if (root / ".flake8").is_file():
        commands.append("flake8")
        packages.append("flake8")
    if "mypy" in tool or (root / "mypy.ini").is_file():
        commands.append("mypy .")
        packages.append("mypy")
    return tuple(commands), tuple(packages)


def install_args(
    root: Path, project: dict[str, Any], lint_packages: tuple[str, ...]
) -> tuple[str, ...]:
    """pip arguments for the test job: the project's test extra, else pytest, plus the linters."""
    extras = project.get("project", {}).get("optional-dependencies", {})
    for name in ("test", "tests", "dev"):
        if name in extras:
            return (f".[{name}]", *lint_packages)
    for name in ("requirements-dev.txt", "requirements-test.txt"):
        if (root / name).is_file():
            return ("-r", name, "pytest", *lint_packages)
    base = ("-r", "requirements.txt") if (root / "requirements.txt").is_file() else ()
    return (*base, "pytest", *lint_packages)


def requirements(root: Path) -> tuple[str, ...]:
    """Requirement files at the root, for the dependency scanners."""
    return tuple(sorted(p.name for p in root.glob("requirements*.txt") if p.is_file()))


def overlays_in(tree: list[str]) -> list[str]:
    """Overlay folders (`overlays/NAME`, anywhere) among a list of repository paths."""
    found = set()
    for path in tree:
        parts = Path(path).parts
        if (
            len(parts) >= 3
            and parts[-3] == "overlays"
            and parts[-1]
            in (
                "kustomization.yaml",
                "kustomization.yml",
                "Kustomization",
            )
        ):
            found.add(str(Path(*parts[:-1])))
    return sorted(found, key=lambda p: (env_rank(Path(p).name), p))


def env_rank(name: str) -> int:
    """Order of promotion: dev-like first, production last."""
    if PRODUCTION.match(name):
        return len(ENV_ORDER) + 1
    return ENV_ORDER.index(name) if name in ENV_ORDER else len(ENV_ORDER)


def is_production(name: str) -> bool:
    return bool(PRODUCTION.match(name))


def _normalized(url: str) -> str:
    """host/owner/name of a git URL or OWNER/NAME (github.com), lower-cased, for comparing."""
    url = url.strip().rstrip("/").removesuffix(".git").lower()
    if "://" in url:
        rest = url.split("://", 1)[1]
        return rest.rsplit("@", 1)[-1] if "@" in rest.split("/", 1)[0] else rest
    if url.startswith("git@"):  # scp-like: git@host:owner/name
        host, _, path = url.removeprefix("git@").partition(":")
        return f"{host}/{path}"
    return f"github.com/{url}"


def _toplevel(path: Path) -> Path | None:
    result = Git(path).run("rev-parse", "--show-toplevel", ok_codes=None)
    top = result.stdout.strip()
    return Path(top).resolve() if result.returncode == 0 and top else None


def _location_key(location: str, base: Path) -> str:
    """A form to compare repositories by: the folder of a local path, host/owner/name of a URL."""
    if not location.startswith("git@") and (
        "://" not in location or location.startswith("file://")
    ):
        path = Path(location.removeprefix("file://")).expanduser()
        path = path if path.is_absolute() else base / path
        if path.exists():
            return str(_toplevel(path) or path.resolve())
    return _normalized(location)


def same_repository(gitops_repo: str, root: Path) -> bool:
    """The GitOps repository named is the application repository at `root`, or one of its remotes."""
    root = root.resolve()
    mine = {_location_key(str(root), root)}
    git = Git(root)
    if git.is_repo():
        for remote in git.remotes():
            url = git.run("remote", "get-url", remote, ok_codes=None).stdout.strip()
            if url:
                mine.add(_location_key(url, root))
    return _location_key(gitops_repo, root) in mine


def gitops_tree(repo: str) -> list[str]:
    """The files of a GitOps repository reachable on this machine (a path or file:// URL)."""
    path = Path(repo.removeprefix("file://"))
    if not path.exists():
        return []
    git = Git(path)
    if git.ok("rev-parse", "--verify", "--quiet", "HEAD"):
        return git.out("ls-tree", "-r", "--name-only", "HEAD").splitlines()
    return [str(p.relative_to(path)) for p in _walk(path)]
