"""Bad input the actions must refuse as such (exit 2, naming it), end to end.

- Every file a workflow names, with bytes that are not UTF-8 in it: each row
  writes one named file (a baseline, a policy, a kustomization, a ledger...)
  as its action reads it, runs the action in-process, and expects exit 2
  naming the file and where the byte is, never "unexpected error". (Input
  values that are not UTF-8 are covered for every input of every action in
  test_hostile_inputs.py; here a real process gets raw bytes.)
- Values outside their grammar or bounds: image names too long or upper case,
  a commit that is not a SHA, a retry count of 10^20.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.act import git
from tests.support.cli import invoke
from tests.support.gitops import clone, gitops_files, make_remote

API = "registry.local:5000/team/api"
BAD = b"# a comment\nkey: caf\xe9\n"  # a Latin-1 e-acute, not UTF-8


def where(content: bytes) -> str:
    at = content.index(0xE9)
    line = content[:at].count(b"\n") + 1
    return f"byte 0xe9 at offset {at} (line {line})"


WHERE = where(BAD)


@dataclass(frozen=True)
class Row:
    action: str
    file: str  # relative to the directory the action runs in
    inputs: dict[str, str]
    content: bytes = BAD
    where: str = WHERE
    setup: Callable[[Path], None] | None = None  # prepares the directory (after the file)


def _project(root: Path) -> None:
    (root / "app.py").write_text("def add(a, b):\n    return a + b\n")


def _gitops(root: Path) -> Path:
    remote = make_remote(root, gitops_files())
    return clone(root, remote, "checkout")


def _ledger_line(root: Path) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a ledger with a bad byte")


GATE = {"scanners": "bandit", "paths": "app.py", "allow-empty": "true"}
LEDGER_LINE = (
    b'{"type":"entry","v":1,"id":"api-1","service":"api","environment":"prod",'
    b'"image":"registry.local:5000/team/api","tag":"1.0.0","git_commit":"' + b"a" * 40 + b'",'
    b'"created":"2026-01-01T00:00:00Z","status":"healthy","actor":"caf\xe9"}\n'
)

ROWS = {
    "security-gate baseline": Row(
        "security-gate", ".security-baseline", GATE | {"baseline": ".security-baseline"}
    ),
    "security-gate allowlist": Row("security-gate", "allow.yml", GATE | {"allowlist": "allow.yml"}),
    "security-gate policy": Row("security-gate", "policy.yml", GATE | {"policy": "policy.yml"}),
    "security-gate image report": Row(
        "security-gate",
        "trivy.json",
        GATE | {"image-reports": "trivy.json"},
        content=b'{"SchemaVersion": 2, "ArtifactName": "caf\xe9", "Results": []}',
        where="byte 0xe9 at offset 41 (line 1)",
    ),
    "security-gate requirements": Row(
        "security-gate",
        "requirements.txt",
        {
            "scanners": "pip-audit",
            "requirements": "requirements.txt",
            "osv-url": "http://127.0.0.1:1/v1/query",  # never reached: the file is read first
        },
        content=b"requests==2.0.0  # caf\xe9\n",
        where=where(b"requests==2.0.0  # caf\xe9\n"),
    ),
    "validate-manifests manifest": Row(
        "validate-manifests",
        "cm.yaml",
        {"paths": "cm.yaml"},
        content=b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n",
        where=where(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n"),
    ),
    "validate-manifests policy-file": Row(
        "validate-manifests",
        "policy.yml",
        {"paths": "cm.yaml", "policy-file": "policy.yml"},
    ),
    "validate-manifests crd": Row(
        "validate-manifests",
        "crd.yaml",
        {"paths": "cm.yaml", "crd-paths": "crd.yaml"},
    ),
    "kustomize-bump kustomization": Row(
        "kustomize-bump",
        "overlays/prod/kustomization.yaml",
        {"paths": "overlays/prod", "images": f"{API}:1.1.0", "mode": "edit"},
    ),
    "release-ledger ledger line": Row(
        "release-ledger",
        ".ci-ledger/prod/api.jsonl",
        {"command": "last-good", "service": "api", "environment": "prod", "push": "false"},
        content=LEDGER_LINE,
        where=f"byte 0xe9 at offset {LEDGER_LINE.index(0xE9)} of the file",
        setup=_ledger_line,
    ),
    "release-ledger ledger line, list": Row(
        "release-ledger",
        ".ci-ledger/prod/api.jsonl",
        {"command": "list", "service": "api", "environment": "prod", "push": "false"},
        content=LEDGER_LINE,
        where=f"byte 0xe9 at offset {LEDGER_LINE.index(0xE9)} of the file",
        setup=_ledger_line,
    ),
}
CM = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"


@pytest.mark.parametrize("name", list(ROWS))
def test_a_named_file_that_is_not_utf8_is_bad_input(tmp_path: Path, name: str) -> None:
    row = ROWS[name]
    root = (
        _gitops(tmp_path) if row.action in ("kustomize-bump", "release-ledger") else tmp_path / "w"
    )
    root.mkdir(exist_ok=True)
    _project(root)
    (root / "cm.yaml").write_bytes(CM)
    target = root / row.file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(row.content)
    if row.setup:
        row.setup(root)
    args = [f"--{k}={v}" for k, v in row.inputs.items()]
    run = invoke(tmp_path / "run", row.action, args, cwd=root, env={"RUNNER_TEMP": str(tmp_path)})
    assert "unexpected error" not in run.log, run.log
    assert run.code == 2, run.log
    assert Path(row.file).name in run.log, run.log  # names the file
    assert "not UTF-8" in run.log and row.where in run.log, run.log


def test_a_line_torn_inside_a_character_is_a_torn_line_not_bad_input(tmp_path: Path) -> None:
    """A killed writer can cut a line in the middle of a UTF-8 character: the torn-line
    rules decide (here: the torn last line may be the newest status, so no guess)."""
    root = _gitops(tmp_path)
    ledger = root / ".ci-ledger" / "prod" / "api.jsonl"
    ledger.parent.mkdir(parents=True)
    healthy = LEDGER_LINE.replace(b"caf\xe9", b"kim")
    cut = healthy.replace(b'"id":"api-1"', b'"id":"api-2"').replace(b"kim", "café".encode())
    ledger.write_bytes(healthy + cut[: cut.index("é".encode()) + 1])  # half of the é
    _ledger_line(root)
    args = ["--command=last-good", "--service=api", "--environment=prod", "--push=false"]
    run = invoke(tmp_path / "run", "release-ledger", args, cwd=root)
    assert "unexpected error" not in run.log, run.log
    assert "not UTF-8" not in run.log, run.log
    assert run.code != 2, run.log


# -- values refused by grammar and bounds, end to end --------------------------------
IMAGES = {
    "300 characters": "registry.local:5000/team/" + "a" * 300,  # a name is at most 255
    "120 KB": "registry.local:5000/team/" + "a" * 120_000,
    "upper case": "registry.local:5000/Team/API",
}
BUMP = {"paths": "overlays/prod", "mode": "edit"}
RECORD = {"command": "record", "service": "api", "environment": "prod", "push": "false"}
PROBE = {"url": "http://127.0.0.1:1/", "workloads": "deployment/api"}
PROMOTE = {"source": "registry.local:5000/team/api:1.0.0"}
BUILD = {"context": ".", "builder": "buildah"}
HUGE_COUNT = "1" + "0" * 20  # 10^20


def _refusals() -> dict[str, tuple[str, dict[str, str], str]]:
    rows: dict[str, tuple[str, dict[str, str], str]] = {}
    for shape, image in IMAGES.items():
        rows |= {
            f"kustomize-bump images, {shape}": (
                "kustomize-bump",
                BUMP | {"images": f"{image}:1.1.0"},
                "images",
            ),
            f"release-ledger image, {shape}": (
                "release-ledger",
                RECORD | {"image": f"{image}:1.0.0", "git-commit": "a" * 40},
                "image",
            ),
            f"image-promote source, {shape}": (
                "image-promote",
                {"source": f"{image}:1.0.0", "tags": "2.0.0"},
                "source",
            ),
            f"image-promote tags, {shape}": (
                "image-promote",
                PROMOTE | {"tags": f"{image}:2.0.0"},
                "tags",
            ),
            f"image-build tags, {shape}": ("image-build", BUILD | {"tags": f"{image}:1"}, "tags"),
            f"health-probe expected-images, {shape}": (
                "health-probe",
                PROBE | {"expected-images": f"{image}:1"},
                "expected-images",
            ),
        }
    rows |= {
        "release-ledger git-commit 'zz;rm -rf'": (
            "release-ledger",
            RECORD | {"image": f"{API}:1", "git-commit": "zz;rm -rf"},
            "git-commit",
        ),
        "release-ledger push-retries 10^20": (
            "release-ledger",
            RECORD | {"image": f"{API}:1", "push-retries": HUGE_COUNT},
            "push-retries",
        ),
        "kustomize-bump push-retries 10^20": (
            "kustomize-bump",
            BUMP | {"images": f"{API}:1.1.0", "push-retries": HUGE_COUNT},
            "push-retries",
        ),
    }
    return rows


@pytest.mark.parametrize(
    ("action", "inputs", "named"),
    [pytest.param(*row, id=case) for case, row in _refusals().items()],
)
def test_a_value_outside_its_grammar_or_bounds_is_refused(
    tmp_path: Path, action: str, inputs: dict[str, str], named: str
) -> None:
    root = _gitops(tmp_path)
    args = [f"--{k}={v}" for k, v in inputs.items()]
    run = invoke(tmp_path / "run", action, args, cwd=root, env={"RUNNER_TEMP": str(tmp_path)})
    assert "unexpected error" not in run.log, run.log[:2000]
    assert run.code == 2, run.log[:2000]
    assert f"input '{named}'" in run.log, run.log[:2000]


@pytest.mark.parametrize(
    ("action", "env", "named"),
    [
        ("release-ledger", {b"INPUT_COMMAND": b"list", b"INPUT_REASON": b"bad\xc3("}, "reason"),
        (
            "health-probe",
            {b"INPUT_URL": b"http://127.0.0.1:1/", b"INPUT_AUTH-HEADER": b"X-Key: s3cret\xff"},
            "auth-header",
        ),
    ],
)
def test_real_bytes_in_the_environment_name_the_input(
    tmp_path: Path, action: str, env: dict[bytes, bytes], named: str
) -> None:
    """As a runner passes them: raw bytes in INPUT_*, a real process, real stdout."""
    import os
    import subprocess
    import sys

    full = {k: v for k, v in os.environb.items() if not k.startswith((b"INPUT_", b"GITHUB_"))}
    full |= {b"GITHUB_ACTIONS": b"true", **env}
    run = subprocess.run(
        [sys.executable, "-m", "ci_actions", action], env=full, cwd=tmp_path, capture_output=True
    )
    log = (run.stdout + run.stderr).decode("utf-8")  # what we print is UTF-8, always
    assert run.returncode == 2, log
    assert f"input '{named}': is not UTF-8 text: byte 0x" in log, log
    assert "Traceback" not in log and "unexpected error" not in log, log
    assert "s3cret" not in log.replace("::add-mask::X-Key: s3cret", ""), log  # masked first


@pytest.mark.parametrize(
    ("action", "args", "input_name"),
    [
        ("security-gate", ["--scanners", "bandit", "--sarif-file", "out"], "sarif-file"),
        ("security-gate", ["--scanners", "bandit", "--report-file", "out"], "report-file"),
        ("release-ledger", ["--command", "report", "--report-file", "out"], "report-file"),
    ],
)
def test_an_output_file_that_is_a_directory_is_bad_input(
    tmp_path: Path, action: str, args: list[str], input_name: str
) -> None:
    """Found before any work, named, never an `unexpected error` after the scan."""
    project = tmp_path / "project"
    (project / "out").mkdir(parents=True)
    (project / "app.py").write_text("x = 1\n")
    git(project, "init", "-q")
    run = invoke(tmp_path / "runner", action, args, cwd=project)
    assert run.code == 2, run.log
    assert f"input '{input_name}'" in run.log and "is a directory" in run.log
    assert "unexpected error" not in run.log


@pytest.mark.parametrize("command", ["record", "list", "last-good"])
def test_a_working_directory_that_is_a_file_is_bad_input(tmp_path: Path, command: str) -> None:
    (tmp_path / "not-a-dir").write_text("x\n")
    args = ["--command", command, "--service", "api", "--environment", "dev"]
    args += ["--image", "registry.local:5000/team/api:1", "--working-directory", "not-a-dir"]
    run = invoke(tmp_path / "runner", "release-ledger", args, cwd=tmp_path)
    assert run.code == 2, run.log
    assert "input 'working-directory'" in run.log and "unexpected error" not in run.log
