"""A local stand-in for Argo CD and the kubelet, for the demo on one machine.

It does what an auto-syncing Argo CD application does with one overlay of
the GitOps repository, with one local process per service in place of its
pods: it polls the repository, reads the image the overlay sets for each
service (`images:` of its kustomization.yaml), pulls that image from the
registry with skopeo, unpacks its layers and runs the image's command with
the image's environment and working directory, using the host's Python (the
images are built FROM scratch). When the overlay changes the image of a
service (a new build, or a rollback) it replaces that service's process
only; the others keep running.

    python examples/deployer/deployer.py --gitops file:///tmp/gitops.git \
        --overlay overlays/dev --state /tmp/dev \
        --service api 127.0.0.1:5000/blocklist 8541 \
        --service collector 127.0.0.1:5000/blocklist-collector 8542
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import yaml


def log(message: str) -> None:
    print(f"deployer: {message}", flush=True)


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def remote_head(url: str, branch: str) -> str:
    line = git("ls-remote", url, f"refs/heads/{branch}")
    return line.split()[0] if line else ""


def overlay_image(checkout: Path, overlay: str, name: str) -> str:
    """The reference the overlay sets for image `name`: newName[:newTag][@digest]."""
    data = yaml.safe_load((checkout / overlay / "kustomization.yaml").read_text()) or {}
    for entry in data.get("images") or []:
        if entry.get("name") == name:
            ref = str(entry.get("newName") or name)
            if entry.get("newTag") is not None and not entry.get("digest"):
                ref += f":{entry['newTag']}"
            if entry.get("digest"):
                ref += f"@{entry['digest']}"
            return ref
    raise LookupError(f"{overlay}/kustomization.yaml sets no image named {name!r}")


def pull(ref: str, target: Path, insecure: bool) -> dict[str, Any]:
    """Copy the image into `target` (skopeo dir: layout) and unpack it; returns its config."""
    layout = target / "layout"
    argv = ["skopeo", "copy", "--quiet", f"docker://{ref}", f"dir:{layout}"]
    if insecure:
        argv.insert(2, "--src-tls-verify=false")
    subprocess.run(argv, check=True, capture_output=True, text=True)
    manifest = json.loads((layout / "manifest.json").read_text())
    rootfs = target / "rootfs"
    rootfs.mkdir()
    for layer in manifest["layers"]:
        with tarfile.open(layout / layer["digest"].split(":", 1)[1], "r:*") as tar:
            tar.extractall(rootfs, filter="data")
    config = json.loads((layout / manifest["config"]["digest"].split(":", 1)[1]).read_text())
    return dict(config.get("config") or {})


class Deployment:
    """One service of the overlay: the image it runs and its process."""

    def __init__(self, name: str, image: str, port: int, state: Path, args: argparse.Namespace):
        self.name, self.image, self.port = name, image, port
        self.args = args
        self.state = state / name
        self.state.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.ref = ""
        self.count = 0
        self.failing = ""  # the last error, reported once

    def sync(self, checkout: Path, commit: str) -> None:
        """Run the image the overlay sets, unless it runs already."""
        ref = overlay_image(checkout, self.args.overlay, self.image)
        if ref != self.ref:
            if not self.failing:
                log(f"{self.name}: {self.args.overlay} at {commit} sets {ref}")
            self.deploy(ref)

    def deploy(self, ref: str) -> None:
        target = self.state / "releases" / str(self.count + 1)
        shutil.rmtree(target, ignore_errors=True)  # a failed pull of the same release
        target.mkdir(parents=True)
        try:
            config = pull(ref, target, self.args.insecure)
        except subprocess.CalledProcessError as exc:
            # ImagePullBackOff: the old process keeps running; the next poll retries.
            raise OSError(f"cannot pull {ref}: {exc.stderr.strip()}") from exc
        self.count += 1
        self.stop()
        workdir = target / "rootfs" / str(config.get("WorkingDir") or "/").lstrip("/")
        for folder in self.args.mkdir:  # the pod's emptyDir volumes
            (workdir / folder).mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
        for item in config.get("Env") or []:
            key, _, value = item.partition("=")
            if key != "PATH":
                env[key] = value
        env["PORT"] = str(self.port)
        env["PYTHONPATH"] = str(workdir)
        argv = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
        if argv and argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        logfile = (self.state / f"service-{self.count}.log").open("ab")
        self.process = subprocess.Popen(argv, cwd=workdir, env=env, stdout=logfile, stderr=logfile)
        self.ref = ref
        (self.state / "deployed.json").write_text(
            json.dumps({"image": ref, "pid": self.process.pid, "release": self.count}) + "\n"
        )
        log(
            f"{self.name}: running {ref} on port {self.port} "
            f"(pid {self.process.pid}, log {logfile.name})"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class Overlay:
    """The checkout of the GitOps repository and the services of one overlay."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        state = Path(args.state).resolve()
        self.checkout = state / "gitops"
        self.services = [
            Deployment(name, image, int(port), state, args) for name, image, port in args.service
        ]

    def fetch(self) -> str:
        if not self.checkout.exists():
            git("clone", "--quiet", "--branch", self.args.branch, self.args.gitops,
                str(self.checkout))  # fmt: skip
        else:
            git("fetch", "--quiet", "origin", self.args.branch, cwd=self.checkout)
            git("reset", "--quiet", "--hard", "FETCH_HEAD", cwd=self.checkout)
        return git("rev-parse", "--short", "HEAD", cwd=self.checkout)

    def sync(self) -> bool:
        """Every service on the image the overlay sets; False while one of them fails
        (it is retried on the next poll; the others are not held back)."""
        commit = self.fetch()
        synced = True
        for service in self.services:
            try:
                service.sync(self.checkout, commit)
                service.failing = ""
            except (LookupError, OSError, subprocess.CalledProcessError, yaml.YAMLError) as exc:
                if str(exc) != service.failing:  # retried every poll, reported once
                    log(f"{service.name}: sync failed (retrying): {exc}")
                service.failing, synced = str(exc), False
        return synced

    def stop(self) -> None:
        for service in self.services:
            service.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gitops", required=True, help="GitOps repository URL or path")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--overlay", required=True, help="overlay folder, e.g. overlays/dev")
    parser.add_argument(
        "--service",
        nargs=3,
        action="append",
        required=True,
        metavar=("NAME", "IMAGE", "PORT"),
        help="a service: its name, the name of its images: entry, the port it serves on",
    )
    parser.add_argument("--state", required=True, help="folder for the checkout, releases and logs")
    parser.add_argument(
        "--mkdir", action="append", default=["instance"], help="folders the pods mount"
    )
    parser.add_argument("--insecure", action="store_true", help="plain-http registry")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument(
        "--once", action="store_true", help="sync once and leave the services running"
    )
    args = parser.parse_args()
    overlay = Overlay(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    last = ""
    try:
        while True:
            try:
                head = remote_head(args.gitops, args.branch)
            except subprocess.CalledProcessError as exc:
                log(f"cannot read {args.gitops}: {exc.stderr.strip()}")
                head = ""
            if head and head != last:
                try:
                    if overlay.sync():
                        last = head
                except subprocess.CalledProcessError as exc:  # the fetch
                    log(f"cannot fetch {args.gitops} (retrying): {exc.stderr.strip()}")
            if args.once:
                return 0
            time.sleep(args.interval)
    finally:
        if not args.once:
            overlay.stop()


if __name__ == "__main__":
    sys.exit(main())
