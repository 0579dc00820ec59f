"""What `ci-actions init` reads from a repository instead of asking.

Each function takes a path and returns a plain value; none writes anything.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_actions.git import Git

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"}
# CPython 3 minor versions a matrix is drawn from: OLDEST_MINOR up to the newest
# release known here, or any newer one the project itself names.
OLDEST_MINOR = 8
NEWEST_MINOR = 14
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


DOCKERFILE_NAMES = ("Dockerfile", "Containerfile")
TEST_DIRS = {"test", "tests", "testdata", "fixtures"}


def dockerfile(root: Path) -> Path | None:
    """The Dockerfile to build: the root one, else the shallowest found."""
    if (root / "Dockerfile").is_file():
        return Path("Dockerfile")
    candidates = [p.relative_to(root) for p in _walk(root) if p.name in DOCKERFILE_NAMES]
    return min(candidates, key=lambda p: (len(p.parts), str(p)), default=None)


def dockerfiles(root: Path) -> tuple[list[Path], list[Path]]:
    """(the Dockerfiles of the repository's services, shallowest first; those left out as
    test material: under a test, tests, testdata or fixtures folder)."""
    found = sorted(
        (p.relative_to(root) for p in _walk(root) if p.name in DOCKERFILE_NAMES),
        key=lambda p: (len(p.parts), str(p)),
    )
    tests = [p for p in found if TEST_DIRS & set(p.parts[:-1])]
    return [p for p in found if p not in tests], tests


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
    """The parsed pyproject.toml of a folder; {} when there is none."""
    path = root / "pyproject.toml"
    if not path.is_file() or sys.version_info < (3, 11):
        return {}  # tomllib is 3.11+; on 3.10 the options say it instead
    import tomllib

    with path.open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    return data


def python_version_file(folder: Path, root: Path) -> str | None:
    """MAJOR.MINOR from the nearest `.python-version`, from `folder` up to `root`."""
    for d in _upwards(folder, root):
        path = d / ".python-version"
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                match = re.match(r"(?:c?python-?)?(\d+)\.(\d+)", line.strip())
                if match:
                    return f"{match[1]}.{match[2]}"
    return None


def python_versions(project: dict[str, Any], pinned: str | None = None) -> tuple[str, ...]:
    """Every minor version `requires-python` admits; `.python-version` (else the newest) when
    it says nothing. The candidates reach any newer version the project names."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    spec_text = project.get("project", {}).get("requires-python", "")
    named = [int(m) for m in re.findall(r"3\.(\d+)", f"{spec_text} {pinned or ''}")]
    newest = max([NEWEST_MINOR, *named])
    fallback = (pinned or f"3.{newest}",)
    try:
        spec = SpecifierSet(spec_text)
    except InvalidSpecifier:
        return fallback
    if not spec_text:
        return fallback
    admitted = tuple(f"3.{m}" for m in range(OLDEST_MINOR, newest + 1) if spec.contains(f"3.{m}.0"))
    if not admitted:
        raise ValueError(f"requires-python {spec_text!r} admits no Python 3.{OLDEST_MINOR}+")
    return admitted


def _upwards(folder: Path, root: Path) -> list[Path]:
    """folder, its parents, up to and including root."""
    out = [folder]
    while folder != root and root in folder.parents:
        folder = folder.parent
        out.append(folder)
    return out


def test_package(root: Path) -> Path:
    """The folder of the package that holds the tests (relative): the nearest folder with
    pyproject.toml, setup.py, setup.cfg or requirements.txt above the shallowest tests."""
    found = [
        p.parent
        for p in _walk(root)
        if p.suffix == ".py"
        and (p.name.startswith("test_") or p.name.endswith("_test.py") or p.name == "conftest.py")
    ]
    if not found:
        return Path(".")
    tests = min(found, key=lambda p: (len(p.parts), str(p)))
    marks = ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt")
    for d in _upwards(tests, root):
        if any((d / m).is_file() for m in marks):
            return d.relative_to(root)
    return Path(".")


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


@dataclass(frozen=True)
class Install:
    """How the test job installs the project: commands run in its venv, then pip arguments."""

    commands: tuple[str, ...]
    pip_args: tuple[str, ...]
    source: str  # what decided it, for init's output


def _nearest(folder: Path, root: Path, name: str) -> Path | None:
    return next((d / name for d in _upwards(folder, root) if (d / name).is_file()), None)


def install(root: Path, package: Path, project: dict[str, Any], lint: tuple[str, ...]) -> Install:
    """The project's own test dependencies: uv groups and extras, Poetry groups, a test
    extra, requirements-dev; bare pytest only when the project declares none."""
    folder = root / package
    pip = ("pytest", *lint)
    uv_lock = _nearest(folder, root, "uv.lock")
    if uv_lock is not None:
        return Install(
            (
                "python -m pip install --quiet --disable-pip-version-check uv",
                'UV_PROJECT_ENVIRONMENT="$VIRTUAL_ENV" uv sync --locked --inexact --all-extras --all-groups',
            ),
            pip,
            f"{uv_lock.relative_to(root)} (uv sync: every extra and dependency group)",
        )
    poetry_lock = _nearest(folder, root, "poetry.lock")
    if poetry_lock is not None or "poetry" in project.get("tool", {}):
        return Install(
            (
                "python -m pip install --quiet --disable-pip-version-check poetry",
                "poetry install --no-interaction --all-extras --all-groups",
            ),
            pip,
            f"{(poetry_lock or folder / 'pyproject.toml').relative_to(root)} (poetry install)",
        )
    groups = project.get("dependency-groups", {})
    extras = project.get("project", {}).get("optional-dependencies", {})
    for name in ("test", "tests", "dev"):
        if name in extras:
            return Install((), (f".[{name}]", *lint), f"the {name!r} extra of pyproject.toml")
    for name in ("test", "tests", "dev"):
        if name in groups:
            return Install(
                ("python -m pip install --quiet --disable-pip-version-check 'pip>=25.1'",),
                ("-e", ".", "--group", name, *pip),
                f"the {name!r} dependency group of pyproject.toml",
            )
    for name in ("requirements-dev.txt", "requirements-test.txt"):
        if (folder / name).is_file():
            base = ("-r", "requirements.txt") if (folder / "requirements.txt").is_file() else ()
            return Install((), (*base, "-r", name, *pip), name)
    if (folder / "requirements.txt").is_file():
        return Install((), ("-r", "requirements.txt", *pip), "requirements.txt")
    return Install((), pip, "nothing declared: pytest alone")


def install_args(
    root: Path, project: dict[str, Any], lint_packages: tuple[str, ...]
) -> tuple[str, ...]:
    """pip arguments of a project installed by pip alone (see `install`)."""
    return install(root, Path("."), project, lint_packages).pip_args


def requirements(root: Path) -> tuple[str, ...]:
    """Requirement files at the root, for the dependency scanners."""
    return tuple(sorted(p.name for p in root.glob("requirements*.txt") if p.is_file()))


_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _all_pinned(lines: list[str]) -> bool:
    reqs = [
        line.split("#", 1)[0].strip()
        for line in lines
        if line.strip() and not line.lstrip().startswith(("#", "-"))
    ]
    return bool(reqs) and all("==" in r for r in reqs)


def dependency_files(root: Path, package: Path) -> tuple[tuple[str, ...], str]:
    """(files the dependency scanners can read, why): fully pinned requirements files,
    else uv.lock, else poetry.lock, else a pyproject.toml whose dependencies are all pinned."""
    folder = root / package
    notes = []
    pinned = []
    for d in dict.fromkeys([root, folder]):
        for path in sorted(d.glob("requirements*.txt")):
            if _all_pinned(path.read_text(encoding="utf-8").splitlines()):
                pinned.append(str(path.relative_to(root)))
            else:
                notes.append(f"{path.relative_to(root)} is not pinned with ==")
    if pinned:
        return tuple(pinned), "pinned requirements files"
    for name in ("uv.lock", "poetry.lock"):
        lock = _nearest(folder, root, name)
        if lock is not None:
            return (str(lock.relative_to(root)),), f"the lock file {lock.relative_to(root)}"
    project = pyproject(folder)
    deps = [str(d) for d in project.get("project", {}).get("dependencies", [])]
    if deps and _all_pinned(deps):
        rel = str((package / "pyproject.toml").as_posix())
        return (rel,), f"the pinned dependencies of {rel}"
    if deps:
        notes.append(f"{(package / 'pyproject.toml').as_posix()} dependencies are not pinned")
    return (), "; ".join(notes) or "no requirements file, lock file or pinned dependencies"


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


def github_repository(root: Path) -> str:
    """OWNER/NAME of origin when it is on github.com, else ""."""
    git = Git(root)
    if not (root / ".git").exists() or not git.is_repo():
        return ""
    url = git.run("remote", "get-url", "origin", ok_codes=None).stdout.strip()
    host, _, slug = _normalized(url).partition("/") if url else ("", "", "")
    return slug if host == "github.com" and slug.count("/") == 1 else ""


def gitops_checkout(repo: str | None) -> Path | None:
    """The working tree of a local, non-bare GitOps checkout (where a file can be added): the
    folder given must be the root of its own checkout, not a folder inside another one."""
    if not repo:
        return None
    path = Path(repo.removeprefix("file://"))
    if not path.is_dir():
        return None
    top = _toplevel(path)
    return top if top is not None and top == path.resolve() else None


def gitops_tree(repo: str | None) -> list[str]:
    """The files of a GitOps repository reachable on this machine (a path or file:// URL)."""
    if not repo:
        return []
    path = Path(repo.removeprefix("file://"))
    if not path.exists():
        return []
    git = Git(path)
    if git.ok("rev-parse", "--verify", "--quiet", "HEAD"):
        return git.out("ls-tree", "-r", "--name-only", "HEAD").splitlines()
    return [str(p.relative_to(path)) for p in _walk(path)]


COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def _compose(root: Path) -> tuple[str, dict[str, Any]] | None:
    import yaml

    from ci_actions import yamlsafe

    for name in COMPOSE_FILES:
        path = root / name
        if path.is_file():
            try:
                data = yamlsafe.load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError:
                return None
            services = data.get("services") if isinstance(data, dict) else None
            return (name, services) if isinstance(services, dict) else None
    return None


def _compose_context(root: Path, dockerfile: Path) -> tuple[str, str] | None:
    found = _compose(root)
    if found is None:
        return None
    name, services = found
    for service, body in services.items():
        build = body.get("build") if isinstance(body, dict) else None
        if isinstance(build, str):
            build = {"context": build}
        if not isinstance(build, dict):
            continue
        context = Path(str(build.get("context", ".")))
        file = context / str(build.get("dockerfile", "Dockerfile"))
        if (root / file).resolve() == (root / dockerfile).resolve():
            rel = (root / context).resolve().relative_to(root.resolve())
            return rel.as_posix() or ".", f"{name} builds service {service!r} with it"
    return None


def copy_sources(text: str) -> list[str]:
    """Sources of COPY/ADD lines that read the build context (not --from, not URLs)."""
    import json
    import shlex

    joined = re.sub(r"\\\n", " ", text)
    sources: list[str] = []
    for line in joined.splitlines():
        match = re.match(r"\s*(COPY|ADD)\s+(.*)", line, re.I)
        if not match:
            continue
        rest = match[2].strip()
        if rest.startswith("["):
            try:
                words = [str(w) for w in json.loads(rest)]
            except ValueError:
                continue
            options: list[str] = []
        else:
            try:
                tokens = shlex.split(rest)
            except ValueError:
                continue
            options = [t for t in tokens if t.startswith("--")]
            words = [t for t in tokens if not t.startswith("--")]
        if any(o.startswith("--from") for o in options) or len(words) < 2:
            continue
        sources += [w for w in words[:-1] if "://" not in w and not w.startswith("$")]
    return sources


def _has(folder: Path, source: str) -> bool:
    clean = source.lstrip("/") or "."
    return any(folder.glob(clean)) if any(c in clean for c in "*?[") else (folder / clean).exists()


def build_context(root: Path, dockerfile: Path) -> tuple[str, str]:
    """(build context relative to root, the rule that decided): a compose file that builds
    this Dockerfile; else the deepest folder from the Dockerfile's up to the root holding
    every COPY/ADD source; else the Dockerfile's folder."""
    from_compose = _compose_context(root, dockerfile)
    if from_compose is not None:
        return from_compose
    own = dockerfile.parent.as_posix() or "."
    sources = copy_sources((root / dockerfile).read_text(encoding="utf-8"))
    if not sources:
        return own, "the Dockerfile's folder (it copies nothing from the context)"
    for folder in _upwards((root / dockerfile).parent, root):
        if all(_has(folder, s) for s in sources):
            rel = folder.relative_to(root).as_posix() or "."
            return rel, f"the deepest folder holding every COPY/ADD source ({', '.join(sources)})"
    return own, "the Dockerfile's folder (no folder holds every COPY/ADD source)"


def takes_version(root: Path, dockerfile: Path) -> bool:
    """The Dockerfile declares `ARG VERSION` (the build passes the version through it)."""
    text = (root / dockerfile).read_text(encoding="utf-8")
    return re.search(r"^\s*ARG\s+VERSION(?:\s|=|$)", text, re.M | re.I) is not None


BACKING_SERVICES = (
    "postgres", "postgis", "mysql", "mariadb", "redis", "valkey", "mongo", "rabbitmq",
    "memcached", "elasticsearch", "opensearch", "minio", "kafka", "nats", "localstack",
)  # fmt: skip


def workflow_services(root: Path) -> dict[str, Any]:
    """The `services:` of a job in an existing workflow that runs the tests."""
    import yaml

    from ci_actions import yamlsafe

    for path in sorted((root / ".github" / "workflows").glob("*.y*ml")):
        try:
            data = yamlsafe.load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        jobs = data.get("jobs") if isinstance(data, dict) else None
        for job in (jobs or {}).values():
            if not isinstance(job, dict) or not isinstance(job.get("services"), dict):
                continue
            runs = " ".join(str(s.get("run", "")) for s in job.get("steps", []) or [])
            if "pytest" in runs or "test" in runs:
                services: dict[str, Any] = job["services"]
                return services
    return {}


def compose_backing_services(root: Path) -> list[str]:
    """`NAME (IMAGE)` of compose services that are databases, caches or brokers."""
    found = _compose(root)
    if found is None:
        return []
    out = []
    for name, body in found[1].items():
        image = str(body.get("image", "")) if isinstance(body, dict) else ""
        base = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
        if base in BACKING_SERVICES:
            out.append(f"{name} ({image})")
    return out


def overlay_images(repo: str, overlays: list[str]) -> list[str]:
    """Image names (`images[].name` and `newName`) of the overlays' kustomizations."""
    import yaml

    from ci_actions import yamlsafe

    path = Path(repo.removeprefix("file://"))
    git = Git(path)
    names: list[str] = []
    for overlay in overlays:
        for file in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            if (path / overlay / file).is_file():
                text = (path / overlay / file).read_text(encoding="utf-8")
            elif path.exists() and git.ok("rev-parse", "--verify", "--quiet", "HEAD"):
                done = git.run("show", f"HEAD:{overlay}/{file}", ok_codes=None)
                if done.returncode != 0:
                    continue
                text = done.stdout
            else:
                continue
            try:
                data = yamlsafe.load(text)
            except yaml.YAMLError:
                continue
            for image in (data or {}).get("images", []) or []:
                if isinstance(image, dict):
                    names += [str(image[k]) for k in ("name", "newName") if image.get(k)]
    return sorted(set(names))
