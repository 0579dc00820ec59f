"""scripts/install-action: the cache is a trust boundary.

Each attack plants a venv where the setup step looks for one, then plays the
job's next step (the `ci-actions` put on PATH and the `python` output) and
checks the planted code never ran. These tests run as root, as the shared
runner did; the other user is `nobody` (uid 65534).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.tools import HANG_GUARD

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install-action"
NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="plants files owned by another user")


@dataclass(frozen=True)
class Setup:
    returncode: int
    stdout: str
    stderr: str
    path_file: Path
    output_file: Path


def _env(**extra: str) -> dict[str, str]:
    drop = ("RUNNER_", "GITHUB_", "CI_ACTIONS_", "TMPDIR", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    # uv from the development venv makes an install take seconds
    env["PATH"] = f"{env.get('PATH', '/usr/bin:/bin')}:{Path(sys.executable).parent}"
    return env | extra


def _setup(work: Path, *, checkout: Path = SCRIPT.parents[1], **env: str) -> Setup:
    work.mkdir(parents=True, exist_ok=True)
    path_file, output_file = work / "github_path", work / "github_output"
    path_file.write_text("")
    output_file.write_text("")
    proc = subprocess.run(
        [str(checkout / "scripts" / "install-action")],
        env=_env(GITHUB_PATH=str(path_file), GITHUB_OUTPUT=str(output_file), **env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return Setup(proc.returncode, proc.stdout, proc.stderr, path_file, output_file)


def _next_step(setup: Setup) -> None:
    """What the job does after a successful setup: run ci-actions and the python output."""
    assert setup.returncode == 0, setup.stderr
    bin_dir = setup.path_file.read_text().splitlines()[-1]
    env = _env()
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    subprocess.run(
        ["ci-actions", "--version"], env=env, capture_output=True, timeout=HANG_GUARD, check=False
    )
    outputs = dict(line.split("=", 1) for line in setup.output_file.read_text().splitlines())
    subprocess.run(
        [outputs["python"], "-c", "pass"],
        env=env,
        capture_output=True,
        timeout=HANG_GUARD,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real install into a fresh cache root; returns the venv."""
    base = tmp_path_factory.mktemp("cache")
    setup = _setup(base.parent / f"{base.name}-job", CI_ACTIONS_CACHE_DIR=str(base))
    assert setup.returncode == 0, setup.stderr
    return Path(setup.path_file.read_text().splitlines()[-1]).parent


def _plant(venv: Path, proof: Path, owner: int) -> None:
    """A fake venv whose every entry point records that it ran, marked complete."""
    (venv / "bin").mkdir(parents=True)
    for name in ("ci-actions", "python"):
        script = venv / "bin" / name
        script.write_text(f"#!/bin/sh\ntouch {proof}\n")
        script.chmod(0o755)
    (venv / ".complete").write_text("")
    for path in (venv, venv / "bin", *(venv / "bin").iterdir(), venv / ".complete"):
        os.chown(path, owner, owner)


def _other_owner(cache: Path) -> None:
    cache.mkdir(mode=0o755)
    os.chown(cache, NOBODY, NOBODY)


def _world_writable(cache: Path) -> None:
    cache.mkdir()
    cache.chmod(0o777)


def _group_writable(cache: Path) -> None:
    cache.mkdir()
    cache.chmod(0o770)


def _private_but_venv_of_other_owner(cache: Path) -> None:
    cache.mkdir(mode=0o700)


def _symlink_to_other_owner(cache: Path) -> None:
    target = cache.parent / "elsewhere"
    target.mkdir(mode=0o755)
    os.chown(target, NOBODY, NOBODY)
    cache.symlink_to(target)


PLANTED: dict[str, tuple[Callable[[Path], None], str]] = {
    "cache dir of another user": (_other_owner, "ci-actions"),
    "world-writable cache dir": (_world_writable, "ci-actions"),
    "group-writable cache dir": (_group_writable, "ci-actions"),
    "venv dir of another user": (_private_but_venv_of_other_owner, "VENV"),
    "cache dir is a symlink": (_symlink_to_other_owner, "ci-actions"),
}


@pytest.mark.parametrize("case", PLANTED)
def test_planted_venv_is_refused_never_run(tmp_path: Path, installed: Path, case: str) -> None:
    make_cache, named = PLANTED[case]
    base, proof = tmp_path / "cache", tmp_path / "PROOF"
    base.mkdir()
    cache = base / "ci-actions"
    make_cache(cache)
    venv = cache / installed.name
    _plant(venv, proof, NOBODY)

    setup = _setup(tmp_path / "job", CI_ACTIONS_CACHE_DIR=str(base))
    if setup.returncode == 0:
        _next_step(setup)

    assert not proof.exists(), "the planted venv ran"
    assert setup.returncode == 3, setup.stderr
    assert str(venv if named == "VENV" else cache) in setup.stderr
    assert "CI_ACTIONS_CACHE_DIR" in setup.stderr  # the fix
    assert setup.path_file.read_text() == ""


def test_shared_tmp_fallback_refuses_a_planted_dir(tmp_path: Path, installed: Path) -> None:
    # No runner cache variables: the script falls back to TMPDIR, shared by every user.
    shared, proof = tmp_path / "tmp", tmp_path / "PROOF"
    shared.mkdir()
    shared.chmod(0o1777)
    for name in ("ci-actions", f"ci-actions-{os.geteuid()}"):
        _other_owner(shared / name)
        _plant(shared / name / installed.name, proof, NOBODY)

    setup = _setup(tmp_path / "job", TMPDIR=str(shared))
    if setup.returncode == 0:
        _next_step(setup)

    assert not proof.exists(), "the planted venv ran"
    assert setup.returncode == 3, setup.stderr
    assert f"{shared}/ci-actions-{os.geteuid()}" in setup.stderr


def test_new_cache_dir_is_private_and_reused(installed: Path) -> None:
    cache = installed.parent
    assert (cache.stat().st_uid, cache.stat().st_mode & 0o777) == (os.geteuid(), 0o700)
    again = _setup(cache.parent.parent / "again", CI_ACTIONS_CACHE_DIR=str(cache.parent))
    assert again.returncode == 0, again.stderr
    assert "installed" not in again.stdout + again.stderr  # the verified venv is used as it is
    assert again.path_file.read_text() == f"{installed}/bin\n"


def _replace_python(venv: Path, proof: Path) -> None:
    (venv / "bin" / "python").unlink()
    (venv / "bin" / "python").write_text(f"#!/bin/sh\ntouch {proof}\n")
    (venv / "bin" / "python").chmod(0o755)


def _edit_launcher(venv: Path, proof: Path) -> None:
    launcher = venv / "bin" / "ci-actions"
    launcher.write_text(f"#!/bin/sh\ntouch {proof}\n")


def _add_pth(venv: Path, proof: Path) -> None:
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "zz-evil.pth").write_text(f"import os; open({str(proof)!r}, 'w')\n")


def _edit_package(venv: Path, proof: Path) -> None:
    (site,) = venv.glob("lib/python*/site-packages")
    init = site / "ci_actions" / "__init__.py"
    init.write_text(f"open({str(proof)!r}, 'w')\n" + init.read_text())


TAMPERED = {
    "bin/python replaced": _replace_python,
    "ci-actions launcher edited": _edit_launcher,
    ".pth file added to site-packages": _add_pth,
    "ci_actions package edited": _edit_package,
}


@pytest.mark.parametrize("case", TAMPERED)
def test_tampered_venv_is_reinstalled_not_run(tmp_path: Path, installed: Path, case: str) -> None:
    proof = tmp_path / "PROOF"
    TAMPERED[case](installed, proof)

    setup = _setup(tmp_path / "job", CI_ACTIONS_CACHE_DIR=str(installed.parent.parent))
    _next_step(setup)

    assert not proof.exists(), "the tampered venv ran"
    assert "no longer hashes to what was recorded" in setup.stderr
    assert "installed with uv" in setup.stdout
    assert (installed / "bin" / "python").is_symlink()


def test_fresh_checkout_installs_once(tmp_path: Path) -> None:
    # Building from the checkout writes src/*.egg-info; the key must not see it,
    # or the job's next step would install everything again.
    root = SCRIPT.parents[1]
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(SCRIPT, checkout / "scripts" / "install-action")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(root / name, checkout / name)
    shutil.copytree(
        root / "src",
        checkout / "src",
        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"),
    )
    first = _run_in(checkout, tmp_path / "cache", tmp_path / "one")
    second = _run_in(checkout, tmp_path / "cache", tmp_path / "two")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "installed with" in first.stdout
    assert "installed with" not in second.stdout
    assert first.path_file.read_text() == second.path_file.read_text()


def _run_in(checkout: Path, cache: Path, work: Path) -> Setup:
    cache.mkdir(exist_ok=True)
    return _setup(work, checkout=checkout, CI_ACTIONS_CACHE_DIR=str(cache))
