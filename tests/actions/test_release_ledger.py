"""release-ledger through the CLI, against real git: bare remotes in temp dirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.act import git
from tests.support.cli import CliRun, invoke
from tests.support.gitops import clone, gitops_files, make_remote, show

DIGEST_1 = "sha256:" + "1a" * 32
DIGEST_2 = "sha256:" + "2b" * 32
IMAGE = "registry.local:5000/team/api"


def ledger(
    tmp: Path, cwd: Path | None = None, env: dict[str, str] | None = None, **inputs: str
) -> CliRun:
    args: list[str] = []
    for name, value in inputs.items():
        args += [f"--{name.replace('_', '-')}", value]
    return invoke(tmp / "runs", "release-ledger", args, cwd=cwd, env=env)


def lines(remote: Path, rel: str = ".ci-ledger/prod/api.jsonl") -> list[dict[str, object]]:
    return [json.loads(line) for line in show(remote, rel).splitlines() if line]


def commits(remote: Path) -> int:
    return int(git(remote, "rev-list", "--count", "main"))


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    return make_remote(tmp_path, gitops_files())


def test_record_then_statuses_append_lines(tmp_path: Path, gitops: Path) -> None:
    rec = ledger(
        tmp_path,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:1.0.0@{DIGEST_1}",
        git_commit="c" * 40,
        git_branch="main",
        scan='{"passed": true, "counts": {"bandit": {"low": 2}}}',
        metadata='{"build": 7}',
        repository=str(gitops),
        env={"GITHUB_ACTOR": "kim", "GITHUB_REPOSITORY": "acme/api", "GITHUB_RUN_ID": "42"},
    )
    assert rec.code == 0, rec.log
    entry_id = rec.outputs["id"]
    assert entry_id.startswith("api-") and rec.outputs["image"] == f"{IMAGE}:1.0.0@{DIGEST_1}"
    assert (rec.outputs["tag"], rec.outputs["digest"]) == ("1.0.0", DIGEST_1)
    for status in ("deployed", "healthy"):
        run = ledger(
            tmp_path,
            command="set-status",
            service="api",
            environment="prod",
            status=status,
            reason=f"now {status}",
            repository=str(gitops),
        )
        assert run.code == 0, run.log
        assert run.outputs["id"] == entry_id
        assert json.loads(run.outputs["entry"])["status"] == status
    written = lines(gitops)
    assert [(w["type"], w["status"]) for w in written] == [
        ("entry", "built"),
        ("status", "deployed"),
        ("status", "healthy"),
    ]
    first = written[0]
    assert first["v"] == 1 and first["id"] == entry_id
    assert (first["image"], first["tag"], first["digest"]) == (IMAGE, "1.0.0", DIGEST_1)
    assert first["git-commit"] == "c" * 40 and first["actor"] == "kim"
    assert first["workflow-run"] == "https://github.com/acme/api/actions/runs/42"
    assert first["vulnerabilities"] == 2 and first["metadata"] == {"build": 7}
    assert written[2]["reason"] == "now healthy"
    assert commits(gitops) == 4  # seed + 3 appends, no merges
    assert git(gitops, "log", "--merges", "--oneline", "main") == ""


def _record(tmp: Path, remote: Path, tag: str, digest: str, **extra: str) -> str:
    run = ledger(
        tmp,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:{tag}",
        digest=digest,
        repository=str(remote),
        **extra,
    )
    assert run.code == 0, run.log
    return run.outputs["id"]


def _status(tmp: Path, remote: Path, entry_id: str, status: str, **extra: str) -> CliRun:
    return ledger(
        tmp,
        command="set-status",
        id=entry_id,
        status=status,
        repository=str(remote),
        **extra,
    )


def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, gitops: Path) -> None:
    entry_id = _record(tmp_path, gitops, "1.0.0", DIGEST_1)
    assert (
        _status(tmp_path, gitops, entry_id, "healthy").code == 2
    )  # built -> healthy skips deployed
    unknown = _status(tmp_path, gitops, "api-nope", "deployed")
    assert unknown.code == 2 and "no entry 'api-nope'" in unknown.log
    assert _status(tmp_path, gitops, entry_id, "deployed").code == 0
    assert _status(tmp_path, gitops, entry_id, "healthy").code == 0
    back = _status(tmp_path, gitops, entry_id, "built")
    assert back.code == 2 and "cannot become built" in back.log
    assert len(lines(gitops)) == 3
    for bad in (
        {"command": "promote"},
        {"command": "record", "service": "api"},  # no environment
        {"command": "record", "service": "a/b", "environment": "prod", "image": "x:1"},
        {"command": "record", "service": "api", "environment": "prod", "image": "x"},  # no tag
        {
            "command": "record",
            "service": "api",
            "environment": "prod",
            "image": "x:1",
            "scan": "[1]",
        },
        {"command": "list", "ledger-dir": "../elsewhere"},
    ):
        run = ledger(
            tmp_path, repository=str(gitops), **{k.replace("-", "_"): v for k, v in bad.items()}
        )
        assert run.code == 2, (bad, run.log)
    assert len(lines(gitops)) == 3


def test_same_status_again_writes_nothing(tmp_path: Path, gitops: Path) -> None:
    entry_id = _record(tmp_path, gitops, "1.0.0", DIGEST_1)
    assert _status(tmp_path, gitops, entry_id, "deployed").code == 0
    again = _status(tmp_path, gitops, entry_id, "deployed")
    assert again.code == 0 and "nothing written" in again.summary
    assert len(lines(gitops)) == 2


def test_block_if_vulnerable(tmp_path: Path, gitops: Path) -> None:
    entry_id = _record(tmp_path, gitops, "1.0.0", DIGEST_1, scan='{"bandit": {"high": 1}}')
    blocked = _status(tmp_path, gitops, entry_id, "deployed", block_if_vulnerable="true")
    assert blocked.code == 1 and "failed its security scan" in blocked.log
    direct = ledger(
        tmp_path,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:1.0.1",
        status="deployed",
        scan='{"passed": false}',
        block_if_vulnerable="true",
        repository=str(gitops),
    )
    assert direct.code == 1
    assert len(lines(gitops)) == 1
    # Without the policy the same change is allowed; a passed scan is never blocked.
    assert _status(tmp_path, gitops, entry_id, "deployed").code == 0
    clean = _record(
        tmp_path, gitops, "1.0.2", DIGEST_2, scan='{"passed": true, "bandit": {"low": 3}}'
    )
    assert _status(tmp_path, gitops, clean, "deployed", block_if_vulnerable="true").code == 0


def _healthy_then_failed(tmp: Path, remote: Path) -> tuple[str, str]:
    good = _record(tmp, remote, "1.0.0", DIGEST_1)
    for status in ("deployed", "healthy"):
        assert _status(tmp, remote, good, status).code == 0
    bad = _record(tmp, remote, "1.1.0", DIGEST_2)
    assert _status(tmp, remote, bad, "deployed").code == 0
    return good, bad


def test_list_last_good_and_stats(tmp_path: Path, gitops: Path) -> None:
    good, bad = _healthy_then_failed(tmp_path, gitops)
    found = ledger(
        tmp_path, command="last-good", service="api", environment="prod", repository=str(gitops)
    )
    assert found.code == 0, found.log
    assert found.outputs["id"] == good
    assert found.outputs["image"] == f"{IMAGE}:1.0.0@{DIGEST_1}"
    assert (found.outputs["tag"], found.outputs["digest"]) == ("1.0.0", DIGEST_1)
    assert _status(tmp_path, gitops, bad, "failed", reason="503").code == 0
    listed = ledger(tmp_path, command="list", limit="1", repository=str(gitops))
    history = json.loads(listed.outputs["history"])
    assert [(h["id"], h["status"], h["reason"]) for h in history] == [(bad, "failed", "503")]
    assert "| failed |" in listed.summary
    only_healthy = ledger(
        tmp_path, command="list", status="healthy,rolled-back", repository=str(gitops)
    )
    assert [h["id"] for h in json.loads(only_healthy.outputs["history"])] == [good]
    other_env = ledger(tmp_path, command="list", environment="dev", repository=str(gitops))
    assert json.loads(other_env.outputs["history"]) == []
    stats = ledger(tmp_path, command="stats", repository=str(gitops))
    assert stats.outputs["success-rate"] == "50.0"
    (only,) = json.loads(stats.outputs["stats"])
    assert (only["deployments"], only["succeeded"], only["failed"]) == (2, 1, 1)
    assert "| api | prod | 2 | 1 | 1 | 0 | 50.0% |" in stats.summary
    none = ledger(
        tmp_path, command="last-good", service="api", environment="dev", repository=str(gitops)
    )
    assert none.code == 1 and "no healthy entry" in none.log


def test_newer_schema_exits_2_naming_the_version(tmp_path: Path, gitops: Path) -> None:
    _record(tmp_path, gitops, "1.0.0", DIGEST_1)
    work = clone(tmp_path, gitops, "work")
    with (work / ".ci-ledger/prod/api.jsonl").open("a") as fh:
        fh.write('{"type":"entry","v":2,"id":"from-the-future"}\n')
    git(work, "commit", "-qam", "newer writer")
    git(work, "push", "-q", "origin", "HEAD:main")
    run = ledger(tmp_path, command="list", repository=str(gitops))
    assert run.code == 2 and "schema v2" in run.log and "api.jsonl:2" in run.log
    write = _record_raw(tmp_path, gitops)
    assert write.code == 2
    assert len(show(gitops, ".ci-ledger/prod/api.jsonl").splitlines()) == 2


def _record_raw(tmp: Path, remote: Path) -> CliRun:
    return ledger(
        tmp,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:2",
        repository=str(remote),
    )


def test_in_this_checkout_uses_a_scratch_worktree(tmp_path: Path, gitops: Path) -> None:
    """The ledger in the checkout itself: pushed to origin, the checkout left as it was."""
    work = clone(tmp_path, gitops, "work")
    (work / "local-edit.txt").write_text("mine")
    (work / "base/api.yaml").write_text("changed locally\n")
    head = git(work, "rev-parse", "HEAD")
    run = ledger(
        tmp_path, cwd=work, command="record", service="api", environment="prod", image=f"{IMAGE}:1"
    )
    assert run.code == 0, run.log
    assert len(lines(gitops)) == 1
    assert git(work, "rev-parse", "HEAD") == head
    assert (work / "base/api.yaml").read_text() == "changed locally\n"
    assert not (work / ".ci-ledger").exists()
    assert len(git(work, "worktree", "list").splitlines()) == 1
    # A corrupt line in the remote file: reported with its path and line, skipped.
    other = clone(tmp_path, gitops, "other")
    with (other / ".ci-ledger/prod/api.jsonl").open("a") as fh:
        fh.write("{oops\n")
    git(other, "commit", "-qam", "broken")
    git(other, "push", "-q", "origin", "HEAD:main")
    listed = ledger(tmp_path, cwd=work, command="list")
    assert listed.code == 0, listed.log
    assert len(json.loads(listed.outputs["history"])) == 1
    assert (
        "::warning file=.ci-ledger/prod/api.jsonl,line=2,title=release-ledger::corrupt ledger line skipped"
        in listed.log
    )
    # The next write appends after it; the corrupt line stays, nothing is rewritten.
    assert (
        ledger(
            tmp_path,
            cwd=work,
            command="record",
            service="api",
            environment="prod",
            image=f"{IMAGE}:2",
        ).code
        == 0
    )
    text = show(gitops, ".ci-ledger/prod/api.jsonl").splitlines()
    assert len(text) == 3 and text[1] == "{oops"


def test_without_push_appends_in_place(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for tag in ("1", "2"):
        run = ledger(
            tmp_path,
            cwd=plain,
            command="record",
            service="api",
            environment="dev",
            image=f"{IMAGE}:{tag}",
        )
        assert run.code == 0, run.log
    text = (plain / ".ci-ledger/dev/api.jsonl").read_text()
    assert [json.loads(t)["tag"] for t in text.splitlines()] == ["1", "2"]
    listed = ledger(tmp_path, cwd=plain, command="list")
    assert [h["tag"] for h in json.loads(listed.outputs["history"])] == ["2", "1"]
    refused = ledger(tmp_path, cwd=plain, command="list", push="true")
    assert refused.code == 2 and "no `origin` remote" in refused.log


def test_push_rejected_exits_3_and_keeps_the_line(tmp_path: Path, gitops: Path) -> None:
    hook = gitops / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'ledger is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    rescue_dir = tmp_path / "runner-temp"
    rescue_dir.mkdir()
    run = ledger(
        tmp_path,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:1",
        repository=str(gitops),
        push_retries="1",
        env={"RUNNER_TEMP": str(rescue_dir)},
    )
    assert run.code == 3, run.log
    assert "ledger is frozen" in run.log
    kept = (rescue_dir / "release-ledger-unpushed.jsonl").read_text().splitlines()
    assert [json.loads(k)["id"] for k in kept] == [run.outputs["id"]]
    assert run.outputs["id"]  # the outputs say what was not pushed
    assert commits(gitops) == 1


def test_report_writes_one_self_contained_file(tmp_path: Path, gitops: Path) -> None:
    _healthy_then_failed(tmp_path, gitops)
    out = tmp_path / "site"
    run = ledger(
        tmp_path,
        cwd=out.parent,
        command="report",
        report_file="site/ledger.html",
        repository=str(gitops),
    )
    assert run.code == 0, run.log
    html = Path(run.outputs["report-file"]).read_text()
    assert run.outputs["report-file"] == str(out / "ledger.html")
    assert "<svg" in html and "1.1.0" in html and "<h3>api in prod</h3>" in html
    assert "src=" not in html and "<link" not in html and "@import" not in html


def _app_repo(tmp: Path) -> tuple[Path, Path, str]:
    app = make_remote(tmp, {"app.py": "print(1)\n"}, name="acme/api.git")
    work = clone(tmp, app, "app")
    return app, work, git(work, "rev-parse", "HEAD")


def test_git_tag_on_healthy(tmp_path: Path, gitops: Path) -> None:
    app, work, commit = _app_repo(tmp_path)
    ids = [
        _record(tmp_path, gitops, tag, digest, git_commit=commit)
        for tag, digest in (("1.0.0", DIGEST_1), ("1.1.0", DIGEST_2))
    ]
    tags = []
    for entry_id in ids:
        assert _status(tmp_path, gitops, entry_id, "deployed").code == 0
        run = ledger(
            tmp_path,
            cwd=work,
            command="set-status",
            id=entry_id,
            status="healthy",
            git_tag="true",
            repository=str(gitops),
        )
        assert run.code == 0, run.log
        tags.append(run.outputs["git-tag"])
    assert tags == ["deploy/prod/api/1", "deploy/prod/api/2"]
    assert git(app, "cat-file", "-t", "refs/tags/deploy/prod/api/2") == "tag"  # annotated
    assert git(app, "rev-parse", "deploy/prod/api/2^{commit}") == commit
    message = git(app, "tag", "-l", "--format=%(contents)", "deploy/prod/api/2")
    assert f"{IMAGE}:1.1.0@{DIGEST_2}" in message and ids[1] in message


def test_concurrent_git_tags_take_distinct_numbers(tmp_path: Path, gitops: Path) -> None:
    app, _, commit = _app_repo(tmp_path)
    ids = [_record(tmp_path, gitops, f"1.{i}.0", DIGEST_1, git_commit=commit) for i in range(3)]
    for entry_id in ids:
        assert _status(tmp_path, gitops, entry_id, "deployed").code == 0
    checkouts = [clone(tmp_path, app, f"app-{i}") for i in range(3)]
    procs = [
        _spawn(
            work,
            "set-status",
            "--id",
            entry_id,
            "--status",
            "healthy",
            "--git-tag",
            "true",
            "--repository",
            str(gitops),
        )
        for work, entry_id in zip(checkouts, ids, strict=True)
    ]
    results = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    assert sorted(git(app, "tag", "-l").split()) == [f"deploy/prod/api/{n}" for n in (1, 2, 3)]


def _spawn(cwd: Path, command: str, *args: str) -> subprocess.Popen[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ci_actions", "release-ledger", "--command", command, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_twenty_concurrent_records_all_land(tmp_path: Path, gitops: Path) -> None:
    services = ("api", "worker", "web", "cron")
    procs = [
        _spawn(
            tmp_path,
            "record",
            "--service",
            services[i % 4],
            "--environment",
            "prod",
            "--image",
            f"registry.local:5000/team/{services[i % 4]}:1.0.{i}",
            "--repository",
            str(gitops),
        )
        for i in range(20)
    ]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0] * 20, [r[1][-2000:] for r in results]
    landed: dict[str, list[str]] = {}
    for service in services:
        landed[service] = [str(e["tag"]) for e in lines(gitops, f".ci-ledger/prod/{service}.jsonl")]
    assert sorted(t for tags in landed.values() for t in tags) == sorted(
        f"1.0.{i}" for i in range(20)
    )
    assert {s: len(t) for s, t in landed.items()} == dict.fromkeys(services, 5)
    assert commits(gitops) == 21
    assert git(gitops, "log", "--merges", "--oneline", "main") == ""


def _render(remote: Path, tmp: Path, overlay: str) -> str:
    work = clone(tmp, remote, f"render-{len(list(tmp.iterdir()))}")
    return subprocess.run(
        ["kubectl", "kustomize", str(work / overlay)], check=True, capture_output=True, text=True
    ).stdout


def test_rollback_sets_the_overlay_to_last_good(tmp_path: Path, gitops: Path) -> None:
    good, bad = _healthy_then_failed(tmp_path, gitops)
    bump = invoke(
        tmp_path / "runs",
        "kustomize-bump",
        [
            "--paths",
            "overlays/prod",
            "--images",
            f"{IMAGE}:1.1.0@{DIGEST_2}",
            "--mode",
            "commit",
            "--repository",
            str(gitops),
        ],
    )
    assert bump.code == 0, bump.log
    assert f"{IMAGE}:1.1.0@{DIGEST_2}" in _render(gitops, tmp_path, "overlays/prod")
    run = ledger(
        tmp_path,
        command="rollback",
        service="api",
        environment="prod",
        paths="overlays/prod",
        reason="health probe failed",
        repository=str(gitops),
    )
    assert run.code == 0, run.log
    rendered = _render(gitops, tmp_path, "overlays/prod")
    assert f"image: {IMAGE}:1.0.0@{DIGEST_1}" in rendered and DIGEST_2 not in rendered
    overlay = show(gitops, "overlays/prod/kustomization.yaml")
    assert "# prod: synced by Argo CD" in overlay  # the rest of the file is kept
    assert run.outputs["image"] == f"{IMAGE}:1.0.0@{DIGEST_1}"
    restored = run.outputs["id"]
    assert restored not in (good, bad)
    written = lines(gitops)
    assert written[-2] == {
        **written[-2],
        "type": "status",
        "id": bad,
        "status": "rolled-back",
        "reason": "health probe failed",
    }
    assert written[-1]["id"] == restored and written[-1]["status"] == "deployed"
    assert written[-1]["metadata"] == {
        "rollback-of": bad,
        "restored-from": good,
        "reason": "health probe failed",
    }
    assert (written[-1]["tag"], written[-1]["digest"]) == ("1.0.0", DIGEST_1)
    history = json.loads(
        ledger(tmp_path, command="list", repository=str(gitops)).outputs["history"]
    )
    assert [(h["id"], h["status"]) for h in history] == [
        (restored, "deployed"),
        (bad, "rolled-back"),
        (good, "healthy"),
    ]
    (stats,) = json.loads(
        ledger(tmp_path, command="stats", repository=str(gitops)).outputs["stats"]
    )
    assert (stats["deployments"], stats["succeeded"], stats["failed"], stats["pending"]) == (
        3,
        1,
        1,
        1,
    )
    # Rolling back again: the restored entry is the same image as the last good one.
    again = ledger(
        tmp_path,
        command="rollback",
        service="api",
        environment="prod",
        paths="overlays/prod",
        repository=str(gitops),
    )
    assert again.code == 1 and "no healthy entry before" in again.log


def test_rollback_without_a_good_version_changes_nothing(tmp_path: Path, gitops: Path) -> None:
    entry_id = _record(tmp_path, gitops, "1.0.0", DIGEST_1)
    assert _status(tmp_path, gitops, entry_id, "deployed").code == 0
    before = commits(gitops)
    run = ledger(
        tmp_path,
        command="rollback",
        service="api",
        environment="prod",
        paths="overlays/prod",
        repository=str(gitops),
    )
    assert run.code == 1 and "no healthy entry" in run.log
    assert commits(gitops) == before
    missing = ledger(
        tmp_path, command="rollback", service="api", environment="prod", repository=str(gitops)
    )
    assert missing.code == 2 and "paths" in missing.log


def test_push_rejected_in_this_checkout_keeps_the_line_in_its_ledger_file(
    tmp_path: Path, gitops: Path
) -> None:
    work = clone(tmp_path, gitops, "work")
    hook = gitops / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    run = ledger(
        tmp_path, cwd=work, command="record", service="api", environment="prod", image=f"{IMAGE}:1"
    )
    assert run.code == 3, run.log
    kept = (work / ".ci-ledger/prod/api.jsonl").read_text().splitlines()
    assert [json.loads(k)["id"] for k in kept] == [run.outputs["id"]]
    assert "kept in" in run.log and commits(gitops) == 1


def test_repository_as_owner_slash_name(tmp_path: Path, gitops: Path) -> None:
    """OWNER/NAME is a repository on GITHUB_SERVER_URL (here a file:// server)."""
    run = ledger(
        tmp_path,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:1",
        repository="acme/gitops",
        env={"GITHUB_SERVER_URL": f"file://{tmp_path}"},
    )
    assert run.code == 0, run.log
    assert len(lines(gitops)) == 1


# ---- last-good (the newest healthy entry) and rollback-target (what rollback restores)

# (name, history as (tag, statuses after `built`), index of last-good, index of rollback-target);
# None: that command exits 1. Indexes count the recorded entries from 0.
HISTORIES: list[tuple[str, list[tuple[str, tuple[str, ...]]], int | None, int | None]] = [
    (
        "current healthy, next one only built (issue: last-good exited 1)",
        [("1.2.2", ("deployed", "healthy")), ("1.2.3", ())],
        0,
        None,
    ),
    (
        "two healthy releases",
        [("1.0.0", ("deployed", "healthy")), ("1.1.0", ("deployed", "healthy"))],
        1,
        0,
    ),
    (
        "current failed",
        [("1.0.0", ("deployed", "healthy")), ("1.1.0", ("deployed", "failed"))],
        0,
        0,
    ),
    (
        "current not judged yet",
        [("1.0.0", ("deployed", "healthy")), ("1.1.0", ("deployed",))],
        0,
        0,
    ),
    (
        "restored after a rollback: the same image again",
        [
            ("1.0.0", ("deployed", "healthy")),
            ("1.1.0", ("deployed", "failed", "rolled-back")),
            ("1.0.0", ("deployed", "healthy")),
        ],
        2,
        None,
    ),
    (
        "healthy, then failed, then healthy again",
        [
            ("1.0.0", ("deployed", "healthy")),
            ("1.1.0", ("deployed", "failed")),
            ("1.2.0", ("deployed", "healthy")),
        ],
        2,
        0,
    ),
    ("nothing healthy", [("1.0.0", ("deployed", "failed"))], None, None),
    ("only built", [("1.0.0", ())], None, None),
]


@pytest.mark.parametrize(
    ("name", "history", "last_good", "target"), HISTORIES, ids=[h[0] for h in HISTORIES]
)
def test_last_good_and_rollback_target_over_histories(
    tmp_path: Path,
    name: str,
    history: list[tuple[str, tuple[str, ...]]],
    last_good: int | None,
    target: int | None,
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    ids = []
    for tag, statuses in history:
        rec = ledger(
            tmp_path,
            cwd=plain,
            command="record",
            service="api",
            environment="prod",
            image=f"{IMAGE}:{tag}",
        )
        assert rec.code == 0, rec.log
        ids.append(rec.outputs["id"])
        for status in statuses:
            run = ledger(tmp_path, cwd=plain, command="set-status", id=ids[-1], status=status)
            assert run.code == 0, run.log
    for command, expected in (("last-good", last_good), ("rollback-target", target)):
        found = ledger(tmp_path, cwd=plain, command=command, service="api", environment="prod")
        if expected is None:
            assert found.code == 1, (command, found.log)
            assert "no healthy entry" in found.log
        else:
            assert found.code == 0, (command, found.log)
            assert found.outputs["id"] == ids[expected], command
            assert found.outputs["image"] == f"{IMAGE}:{history[expected][0]}"


def _commit_at(work: Path, when: str) -> str:
    env = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    (work / "change.txt").write_text(when)
    for args in (["add", "change.txt"], ["commit", "-qm", "change"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
        )
    return git(work, "rev-parse", "HEAD")


@pytest.mark.parametrize(
    ("given", "from_checkout", "stored"),
    [
        ("", True, "2026-11-01T10:00:00Z"),  # committer time 12:00+02:00, read from the checkout
        ("2026-11-01T05:00:00-05:00", True, "2026-11-01T10:00:00Z"),  # given wins, in UTC
        ("", False, ""),  # the checkout lacks the commit: unknown, lead time empty
    ],
)
def test_record_keeps_the_commit_time_in_utc(
    tmp_path: Path, gitops: Path, given: str, from_checkout: bool, stored: str
) -> None:
    _, work, _ = _app_repo(tmp_path)
    commit = _commit_at(work, "2026-11-01T12:00:00+02:00") if from_checkout else "e" * 40
    extra = {"git_commit_time": given} if given else {}
    _record(
        tmp_path, gitops, "1.0.0", DIGEST_1, git_commit=commit, working_directory=str(work), **extra
    )
    assert lines(gitops)[-1]["git-commit-time"] == stored


def test_record_refuses_a_commit_time_without_zone(tmp_path: Path, gitops: Path) -> None:
    run = ledger(
        tmp_path,
        command="record",
        service="api",
        environment="prod",
        image=f"{IMAGE}:1.0.0",
        git_commit_time="2026-11-01T10:00:00",
        repository=str(gitops),
    )
    assert run.code == 2 and "git-commit-time" in run.log


def test_stats_outputs_dora_per_service_and_for_the_set(tmp_path: Path, gitops: Path) -> None:
    first = _record(tmp_path, gitops, "1.0.0", DIGEST_1, git_commit_time="2026-11-01T10:00:00Z")
    for status in ("deployed", "healthy"):
        assert _status(tmp_path, gitops, first, status).code == 0
    second = _record(tmp_path, gitops, "1.1.0", DIGEST_2, git_commit_time="2026-11-02T10:00:00Z")
    assert _status(tmp_path, gitops, second, "deployed").code == 0
    healthy_at = next(w["at"] for w in lines(gitops) if w.get("status") == "healthy")
    # by hand from the ledger's own times: lead = healthy - commit time of the one healthy change
    lead = (
        datetime.fromisoformat(str(healthy_at)) - datetime.fromisoformat("2026-11-01T10:00:00Z")
    ).total_seconds()
    run = ledger(tmp_path, command="stats", since="1d", repository=str(gitops))
    assert run.code == 0, run.log
    (one,) = json.loads(run.outputs["stats"])
    whole = json.loads(run.outputs["dora"])
    for got in (one, whole):
        assert got["deployment-frequency"] == {"per-day": 1.0, "count": 1, "band": "elite"}
        assert got["lead-time"]["median-seconds"] == lead and got["lead-time"]["count"] == 1
        assert got["change-failure-rate"] == {
            "rate": 0.0,
            "failed": 0,
            "judged": 1,
            "band": "elite",
        }
        assert got["pending-ids"] == [second]
    assert one["pending"] == 1 and one["success-rate"] == 1.0  # the older fields stay
    assert run.outputs["success-rate"] == "100.0"
    assert "Delivery metrics (DORA)" in run.summary and "elite" in run.summary
    bad = ledger(tmp_path, command="stats", since="2026-11-01T00:00:00", repository=str(gitops))
    assert bad.code == 2 and "since" in bad.log


def test_every_command_has_exactly_one_handler() -> None:
    """Each module names the commands it carries out; together they cover every command once."""
    from ci_actions.actions.release_ledger import Command, read, rollback, write

    named = [c for module in (read, rollback, write) for c in module.COMMANDS]
    assert sorted(named) == sorted(Command)
