"""Fault matrix: the real actions under kills, rejected pushes, concurrency and bad remotes.

    python bench/fault_matrix.py [--trials N] [--workers W] [--seed S] [--only SCENARIO]
    scripts/bench bench/fault_matrix.py

Each scenario runs `ci-actions` as a runner would (a process per run) and then
checks the invariants on the real remote or registry; a "loss" is one
invariant broken. The scenarios:

- bump: W clones run `kustomize-bump --repository REMOTE --mode commit` at
  once, each setting its own tag, against one bare remote whose pre-receive
  hook rejects a push at random; some runs get SIGTERM or SIGKILL at a random
  moment.
- ledger: the same with `release-ledger record` from W checkouts of the remote
  (the ledger's scratch worktree lives in the checkout).
- unreachable: both against a remote on a port nothing listens on.
- promote: `image-promote` of 5 tags through tests/support/faulty_proxy.py in
  front of the real `docker-registry`, dropping manifest PUTs (201, not kept)
  and answering some requests 500 or a reset, at random.

Invariants: an exit 0 has its commit (bump) or entry (ledger) on the remote;
a run that failed (exit 1, 2 or 3, not killed) landed nothing, and a ledger
line it could not push is in its rescue file; history stays linear; every
version of every kustomization and ledger file parses (no torn YAML or
JSONL); after the next run in the same runner, no scratch clone, folder or
worktree a killed run left behind remains (they are aged past the stale limit
first, as an hour passing would); a promote exit 0 has every tag in the
registry at the source digest. A killed run may or may not have landed.

The runs use the `ci-actions` next to this Python; PYTHONPATH=OTHER/src runs
another version of the code under the same matrix (e.g. an older commit, to
see a loss it had).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.act import git
from tests.support.fake_service import closed_port
from tests.support.faulty_proxy import Fault, FaultyProxy
from tests.support.gitops import clone, gitops_files, make_remote
from tests.support.registry import running_registry

CLI = str(Path(sys.executable).parent / "ci-actions")
IMAGE = "registry.local:5000/team/api"
KUSTOMIZATION = "overlays/prod/kustomization.yaml"
LEDGER = ".ci-ledger/prod/api.jsonl"
RESCUE = "release-ledger-unpushed.jsonl"
STALE = 2 * 3600  # older than ci_actions.scratch.STALE_AFTER
VERBOSE = False
KILLED = {-signal.SIGKILL, -signal.SIGTERM, 143, 130}
# Rejects about one push in four, after a short random pause (dash has no $RANDOM).
HOOK = """#!/bin/sh
n=$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')
sleep 0.$((n % 4))
if [ "$n" -lt 64 ]; then echo "fault matrix: push rejected" >&2; exit 1; fi
exit 0
"""


@dataclass
class Run:
    key: str  # the unique tag this run sets or records
    temp: Path  # its RUNNER_TEMP and TMPDIR: one runner each
    checkout: Path | None = None
    kill: str = ""  # "", "TERM" or "KILL"
    code: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""

    @property
    def killed(self) -> bool:
        return bool(self.kill) and self.code in KILLED


@dataclass
class Tally:
    scenario: str
    runs: int = 0
    ok: int = 0
    refused: int = 0  # exit 1 or 2
    failed: int = 0  # exit 3
    killed: int = 0
    killed_landed: int = 0  # killed, and landed all the same (allowed either way)
    losses: list[str] = field(default_factory=list)

    def add(self, run: Run) -> None:
        if VERBOSE and run.code != 0 and not run.killed:
            print(f"-- {self.scenario} {run.key}: exit {run.code}\n{run.log[-1500:]}")
        self.runs += 1
        if run.killed:
            self.killed += 1
        elif run.code == 0:
            self.ok += 1
        elif run.code in (1, 2):
            self.refused += 1
        else:
            self.failed += 1


def environment(temp: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))
    }
    return env | {"RUNNER_TEMP": str(temp), "TMPDIR": str(temp)}


def start(run: Run, argv: Sequence[str], rng: random.Random) -> subprocess.Popen[str]:
    run.temp.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [CLI, *argv, "--json"],
        cwd=run.checkout or run.temp,
        env=environment(run.temp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if run.kill:
        signum = signal.SIGTERM if run.kill == "TERM" else signal.SIGKILL
        timer = threading.Timer(rng.uniform(0.3, 2.5), _signal, (process, signum))
        timer.daemon = True
        timer.start()
    return process


def _signal(process: subprocess.Popen[str], signum: int) -> None:
    if process.poll() is None:
        process.send_signal(signum)


def finish(run: Run, process: subprocess.Popen[str]) -> None:
    out, err = process.communicate(timeout=600)
    run.code = process.returncode
    run.log = err + out
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            run.outputs = {k: str(v) for k, v in json.loads(line).items()}
            break


def run_all(runs: Sequence[Run], argv: Callable[[Run], list[str]], rng: random.Random) -> None:
    processes = [(run, start(run, argv(run), rng)) for run in runs]
    for run, process in processes:
        finish(run, process)
    time.sleep(1.5)  # a push a SIGKILL orphaned may still land: let it, before judging


def pick_kill(rng: random.Random) -> str:
    roll = rng.random()
    return "TERM" if roll < 0.2 else "KILL" if roll < 0.35 else ""


def rejecting_remote(root: Path) -> Path:
    remote = make_remote(root, gitops_files())
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    return remote


# -- what a remote holds -----------------------------------------------------------
def history(remote: Path) -> list[tuple[str, int]]:
    """(sha, number of parents) of every commit on main, newest first."""
    lines = git(remote, "log", "--format=%H %P", "main").splitlines()
    return [(line.split()[0], len(line.split()) - 1) for line in lines]


def versions(remote: Path, rel: str) -> list[str]:
    """The text of `rel` in every commit of main that has it."""
    texts = []
    for sha, _ in history(remote):
        shown = subprocess.run(
            ["git", "show", f"{sha}:{rel}"], cwd=remote, capture_output=True, text=True
        )
        if shown.returncode == 0:
            texts.append(shown.stdout)
    return texts


def check_linear(remote: Path, tally: Tally) -> None:
    merges = [sha for sha, parents in history(remote) if parents > 1]
    if merges:
        tally.losses.append(f"history not linear: merge commits {merges}")


def landed_tags(remote: Path, tally: Tally) -> set[str]:
    """Every api tag any version of the prod kustomization set; torn YAML is a loss."""
    tags = set()
    for text in versions(remote, KUSTOMIZATION):
        try:
            data = yaml.safe_load(text)
            tags |= {str(i.get("newTag")) for i in data["images"] if i["name"] == IMAGE}
        except (yaml.YAMLError, KeyError, TypeError) as exc:
            tally.losses.append(f"torn kustomization on the remote: {exc}")
    return tags


def ledger_tags(remote: Path, tally: Tally) -> set[str]:
    """Every tag recorded in any version of the ledger; a line that is not JSON is a loss."""
    tags = set()
    for text in versions(remote, LEDGER):
        for number, line in enumerate(text.splitlines(), 1):
            try:
                entry = json.loads(line)
            except ValueError:
                tally.losses.append(f"torn ledger line {number} on the remote: {line[:80]!r}")
                continue
            if entry.get("type") == "entry":
                tags.add(str(entry.get("tag")))
    return tags


def check_leftovers(
    runs: Sequence[Run], next_run: Callable[[Run], list[str]], tally: Tally
) -> None:
    """Age what killed runs left in their runner's temp folder (RUNNER_TEMP and TMPDIR),
    run once more in the same runner: nothing old may remain but the rescue file."""
    killed = [run for run in runs if run.killed]
    past = time.time() - STALE
    for run in killed:
        for path in run.temp.iterdir():
            os.utime(path, (past, past), follow_symlinks=False)
    rng = random.Random(0)
    for run in killed:
        again = Run(f"{run.key}-next", run.temp, run.checkout)
        finish(again, start(again, next_run(again), rng))
        stale = [
            p.name
            for p in run.temp.iterdir()
            if p.name != RESCUE and p.lstat().st_mtime <= past + 1  # the rescue file is kept
        ]
        if stale:
            tally.losses.append(f"{run.key}: left after the next run: {stale}")
        if run.checkout is not None:
            listing = git(run.checkout, "worktree", "list", "--porcelain")
            if listing.count("worktree ") != 1:
                tally.losses.append(f"{run.key}: stray worktrees in the checkout:\n{listing}")


# -- scenarios ------------------------------------------------------------------------
def bump_argv(remote: Path | str) -> Callable[[Run], list[str]]:
    return lambda run: [
        "kustomize-bump",
        f"--repository={remote}",
        "--branch=main",
        "--paths=overlays/prod",
        f"--images={IMAGE}:{run.key}",
        "--mode=commit",
        "--push-retries=30",
    ]


def scenario_bump(root: Path, rounds: int, workers: int, rng: random.Random) -> Tally:
    tally = Tally("kustomize-bump, concurrent")
    for n in range(rounds):
        base = root / f"bump-{n}"
        remote = rejecting_remote(base)
        runs = [
            Run(f"{n + 2}.{i}.0", base / f"runner-{i}", kill=pick_kill(rng)) for i in range(workers)
        ]
        argv = bump_argv(remote)
        run_all(runs, argv, rng)
        check_linear(remote, tally)
        landed = landed_tags(remote, tally)
        on_main = {sha for sha, _ in history(remote)}
        for run in runs:
            tally.add(run)
            if run.killed:
                tally.killed_landed += run.key in landed
                continue
            if run.code == 0 and run.outputs.get("commit-sha") not in on_main:
                tally.losses.append(f"bump {run.key}: exit 0, its commit is not on the remote")
            if run.code != 0 and run.key in landed:
                tally.losses.append(f"bump {run.key}: exit {run.code}, yet its tag landed")
        check_leftovers(runs, argv, tally)
    return tally


def ledger_argv(run: Run) -> list[str]:
    assert run.checkout is not None
    return [
        "release-ledger",
        "--command=record",
        "--service=api",
        "--environment=prod",
        f"--image={IMAGE}:{run.key}",
        f"--git-commit={git(run.checkout, 'rev-parse', 'HEAD')}",
        "--push-retries=30",
    ]


def rescued(run: Run) -> bool:
    """The line a failed record could not push is kept: in the checkout's own ledger
    file when it has one, else in the rescue file in RUNNER_TEMP."""
    places = [run.temp / RESCUE] + ([run.checkout / LEDGER] if run.checkout else [])
    return any(p.is_file() and f'"tag":"{run.key}"' in p.read_text() for p in places)


def scenario_ledger(root: Path, rounds: int, workers: int, rng: random.Random) -> Tally:
    tally = Tally("release-ledger record, concurrent")
    for n in range(rounds):
        base = root / f"ledger-{n}"
        remote = rejecting_remote(base)
        runs = []
        for i in range(workers):
            checkout = clone(base, remote, f"checkout-{i}")
            runs.append(Run(f"{n + 2}.{i}.0", base / f"runner-{i}", checkout, pick_kill(rng)))
        run_all(runs, ledger_argv, rng)
        check_linear(remote, tally)
        recorded = ledger_tags(remote, tally)
        for run in runs:
            tally.add(run)
            if run.killed:
                tally.killed_landed += run.key in recorded
                continue
            if run.code == 0 and run.key not in recorded:
                tally.losses.append(f"ledger {run.key}: exit 0, its entry is not on the remote")
            if run.code != 0 and run.key in recorded:
                tally.losses.append(f"ledger {run.key}: exit {run.code}, yet its entry landed")
            if run.code == 3 and not rescued(run):
                tally.losses.append(f"ledger {run.key}: exit 3 and no rescue line")
        check_leftovers(runs, ledger_argv, tally)
    return tally


def scenario_unreachable(root: Path, trials: int, rng: random.Random) -> Tally:
    tally = Tally("unreachable remote")
    url = f"http://127.0.0.1:{closed_port()}/acme/gitops.git"
    base = root / "unreachable"
    runs = []
    for n in range(trials):
        runs.append(("bump", Run(f"{n + 2}.0.0", base / f"bump-{n}")))
        runs.append(("ledger", Run(f"{n + 2}.1.0", base / f"ledger-{n}")))
    for kind, run in runs:
        argv = (
            bump_argv(url)(run)
            if kind == "bump"
            else [*ledger_argv_for(run), f"--repository={url}", "--branch=main"]
        )
        finish(run, start(run, argv, rng))
        tally.add(run)
        if run.code != 3:
            tally.losses.append(f"{kind} {run.key}: exit {run.code} with no remote to reach")
        if kind == "ledger" and not rescued(run):
            tally.losses.append(f"ledger {run.key}: the unpushed line is not in the rescue file")
    return tally


def ledger_argv_for(run: Run) -> list[str]:
    return [
        "release-ledger",
        "--command=record",
        "--service=api",
        "--environment=prod",
        f"--image={IMAGE}:{run.key}",
        f"--git-commit={'a' * 40}",
    ]


def scenario_promote(root: Path, trials: int, rng: random.Random) -> Tally:
    tally = Tally("image-promote, faulty registry")
    lock = threading.Lock()

    def drop(method: str, path: str) -> bool:
        with lock:
            return method == "PUT" and "/manifests/" in path and rng.random() < 0.1

    def faults(n: int, method: str, path: str) -> Fault | None:
        with lock:
            roll = rng.random()
        if roll < 0.08:
            return Fault(500, b'{"errors":[{"code":"UNKNOWN","message":"disk full"}]}')
        return Fault(0) if roll < 0.12 else None

    with running_registry() as registry:
        digest = registry.upload_image("team/api", "1.0.0")
        with FaultyProxy(registry.host, drop=drop, faults=faults) as proxy:
            for n in range(trials):
                tags = [f"t{n}-{i}" for i in range(5)]
                run = Run(f"promote-{n}", root / f"promote-{n}")
                argv = [
                    "image-promote",
                    f"--source={proxy.host}/team/api:1.0.0",
                    f"--tags={','.join(tags)}",
                    "--insecure=true",
                ]
                finish(run, start(run, argv, rng))
                tally.add(run)
                kept = {tag: registry.digest("team/api", tag) for tag in tags}
                if run.code == 0 and any(d != digest for d in kept.values()):
                    missing = [t for t, d in kept.items() if d != digest]
                    tally.losses.append(f"promote {n}: exit 0, tags not kept: {missing}")
    return tally


def table(tallies: Sequence[Tally]) -> str:
    head = ("scenario", "runs", "exit 0", "exit 1/2", "exit 3", "killed (landed)", "losses")
    rows = [head] + [
        (
            t.scenario,
            *map(str, (t.runs, t.ok, t.refused, t.failed)),
            f"{t.killed} ({t.killed_landed})",
            str(len(t.losses)),
        )
        for t in tallies
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=2, help="rounds of each scenario (default 2)")
    parser.add_argument(
        "--workers", type=int, default=12, help="concurrent runs a round (default 12)"
    )
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed")
    parser.add_argument(
        "--only",
        action="append",
        choices=("bump", "ledger", "unreachable", "promote"),
        help="run only this scenario (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="print the log of each failed run")
    args = parser.parse_args(argv)
    global VERBOSE
    VERBOSE = args.verbose
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="fault-matrix-"))
    started = time.monotonic()
    try:
        scenarios: dict[str, Callable[[], Tally]] = {
            "bump": lambda: scenario_bump(root, args.trials, args.workers, rng),
            "ledger": lambda: scenario_ledger(root, args.trials, args.workers, rng),
            "unreachable": lambda: scenario_unreachable(root, args.trials, rng),
            "promote": lambda: scenario_promote(root, 5 * args.trials, rng),
        }
        tallies = [run() for name, run in scenarios.items() if name in (args.only or scenarios)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"fault matrix: seed {args.seed}, {time.monotonic() - started:.0f} s")
    print(table(tallies))
    losses = [loss for t in tallies for loss in t.losses]
    for loss in losses:
        print("LOSS:", loss)
    return 1 if losses else 0


if __name__ == "__main__":
    sys.exit(main())
