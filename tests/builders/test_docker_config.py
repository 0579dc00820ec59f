"""The docker builder logs in with a throw-away DOCKER_CONFIG, never the user's own.

No Docker engine runs here, so `docker` is a stand-in on PATH that keeps
credentials where the real CLI does ($DOCKER_CONFIG/config.json, else
~/.docker/config.json) and logs each call with the configuration it saw.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from tests.support.cli import CliRun, invoke
from tests.support.golden import load

GOLDEN = load("image-build/argv.json")
FIXTURE = Path(__file__).parents[1] / "fixtures" / "image-build" / "simple"
PASSWORD = "pw-very-secret-42"
BUILDX_VERSION = ["docker", "buildx", "version"]  # the stand-in answers it: buildx "is installed"

FAKE_DOCKER = f"""#!{sys.executable}
import json, os, stat, sys
from base64 import b64encode
from pathlib import Path

args = sys.argv[1:]
config_dir = Path(os.environ.get("DOCKER_CONFIG") or Path(os.environ["HOME"]) / ".docker")
entry = {{"argv": ["docker", *args], "DOCKER_CONFIG": os.environ.get("DOCKER_CONFIG")}}
if config_dir.is_dir():
    entry["mode"] = oct(stat.S_IMODE(config_dir.stat().st_mode))
    entry["entries"] = sorted(p.name for p in config_dir.iterdir())
    config = config_dir / "config.json"
    entry["config"] = json.loads(config.read_text()) if config.exists() else None
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\\n")
if args[:1] == ["login"]:
    password = sys.stdin.read().strip()
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "config.json"
    data = json.loads(path.read_text()) if path.exists() else {{}}
    user = args[args.index("--username") + 1]
    auth = b64encode(f"{{user}}:{{password}}".encode()).decode()
    data.setdefault("auths", {{}})[args[-1]] = {{"auth": auth}}
    path.write_text(json.dumps(data))
if args[:2] == ["buildx", "build"] and os.environ.get("FAKE_DOCKER_BUILD_FAILS"):
    sys.exit(1)
"""


@pytest.fixture
def docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in docker on PATH, HOME in tmp_path; returns the call log."""
    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    home.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    return log


def _build(tmp_path: Path) -> CliRun:
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    return invoke(
        tmp_path / "job",
        "image-build",
        [
            "--builder", "docker",
            "--context", str(FIXTURE),
            "--tags", "ghcr.io/team/api:1",
            "--push", "false",
            "--username", "ci",
            "--password", PASSWORD,
        ],
        env={"RUNNER_TEMP": str(runner_temp)},
    )  # fmt: skip


def _calls(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _left_behind(tmp_path: Path) -> str:
    """Every file the build could have left: HOME and the runner's temp dir."""
    folders = (tmp_path / "home", tmp_path / "runner-temp")
    return "".join(
        p.read_text(errors="replace") for f in folders for p in f.rglob("*") if p.is_file()
    )


def test_login_lands_in_a_private_config_removed_after_the_build(
    tmp_path: Path, docker: Path
) -> None:
    run = _build(tmp_path)
    assert run.code == 0, run.log

    calls = [c for c in _calls(docker) if c["argv"] not in (["docker", "info"], BUILDX_VERSION)]
    assert calls[0]["argv"] == GOLDEN["docker-login"]
    assert calls[1]["argv"][:3] == GOLDEN["docker-minimal"][:3]  # type: ignore[index]
    configs = {c["DOCKER_CONFIG"] for c in calls}
    assert len(configs) == 1
    (config,) = configs
    assert isinstance(config, str)
    assert config.startswith(str(tmp_path / "runner-temp") + "/")
    assert {c["mode"] for c in calls} == {"0o700"}
    # the build itself saw the login
    seen = calls[1]["config"]
    assert isinstance(seen, dict)
    auth = base64.b64encode(f"ci:{PASSWORD}".encode()).decode()
    assert seen["auths"] == {"ghcr.io": {"auth": auth}}

    assert not Path(config).exists()
    assert not (tmp_path / "home" / ".docker").exists()
    assert auth not in _left_behind(tmp_path)


def test_failed_build_removes_the_config_too(
    tmp_path: Path, docker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_BUILD_FAILS", "1")
    run = _build(tmp_path)
    assert run.code == 3, run.log
    (config,) = {c["DOCKER_CONFIG"] for c in _calls(docker) if c["argv"] != ["docker", "info"]}
    assert isinstance(config, str)
    assert not Path(config).exists()
    assert not (tmp_path / "home" / ".docker").exists()
    assert base64.b64encode(f"ci:{PASSWORD}".encode()).decode() not in _left_behind(tmp_path)


def test_user_settings_kept_but_no_credential_store(tmp_path: Path, docker: Path) -> None:
    # A runner where setup-buildx installed buildx as a user plugin and made a
    # builder, an earlier step logged in to another registry, and a desktop
    # credential store would keep any new login for good.
    user = tmp_path / "home" / ".docker"
    (user / "cli-plugins").mkdir(parents=True)
    (user / "buildx" / "instances").mkdir(parents=True)
    earlier = {"auth": base64.b64encode(b"bot:earlier-token").decode()}
    original = json.dumps(
        {
            "auths": {"registry.example.com": earlier},
            "credsStore": "desktop",
            "credHelpers": {"ghcr.io": "gh", "123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"},
            "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
        }
    )
    (user / "config.json").write_text(original)

    run = _build(tmp_path)
    assert run.code == 0, run.log

    login = next(c for c in _calls(docker) if c["argv"] == GOLDEN["docker-login"])
    assert login["config"] == {
        "auths": {"registry.example.com": earlier},
        "credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"},
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
    }
    assert login["entries"] == ["buildx", "cli-plugins", "config.json"]
    assert (user / "config.json").read_text() == original
    assert sorted(p.name for p in user.iterdir()) == ["buildx", "cli-plugins", "config.json"]
    assert PASSWORD not in _left_behind(tmp_path)
