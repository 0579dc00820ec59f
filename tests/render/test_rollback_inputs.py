"""rollback.yml of several services: its inputs, and the check that runs before any leg."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml

from ci_actions.render import render
from tests.render.cases import CASES


def _load(case: str) -> dict[str, Any]:
    data = yaml.safe_load(render("rollback", CASES[case]))
    data["on"] = data.pop(True)  # YAML 1.1 reads `on:` as a boolean
    return data


def test_one_service_keeps_the_target_input_and_one_job() -> None:
    data = _load("tenants-gitflow")
    inputs = data["on"]["workflow_dispatch"]["inputs"]
    assert list(inputs) == ["target", "version", "reason"]
    assert list(data["jobs"]) == ["rollback"]


@pytest.mark.parametrize(
    ("case", "services"),
    [
        ("two-services", ["api", "collector"]),
        ("two-services-tenants-all", ["callbot", "chat.worker"]),
    ],
)
def test_several_services_choose_a_service_or_all_and_an_environment(
    case: str, services: list[str]
) -> None:
    data = _load(case)
    inputs = data["on"]["workflow_dispatch"]["inputs"]
    assert list(inputs) == ["service", "environment", "version", "reason"]
    assert inputs["service"]["options"] == [*services, "all"]
    assert inputs["environment"]["options"] == ["dev", "prod"]
    rollback = data["jobs"]["rollback"]
    assert rollback["needs"] == "check" and rollback["strategy"]["max-parallel"] == 1
    assert rollback["environment"]["name"] == "${{ inputs.environment }}"


@pytest.mark.parametrize(
    ("service", "version", "refused"),
    [
        ("all", "1.2.3", "names one service's image tag"),
        ("api", "1.2.3", ""),
        ("collector", "sha-abc1234", ""),
        ("api", "1.2.3\nevil.example/x:1", "must be one image tag"),
        ("all", "1.2.3\nevil.example/x:1", "names one service's image tag"),
    ],
)
def test_the_check_job_refuses_a_version_with_all(service: str, version: str, refused: str) -> None:
    [check] = _load("two-services")["jobs"]["check"]["steps"]
    assert check["env"] == {"VERSION": "${{ inputs.version }}", "SERVICE": "${{ inputs.service }}"}
    done = subprocess.run(
        ["bash", "-c", check["run"]],
        env={"VERSION": version, "SERVICE": service},
        capture_output=True,
        text=True,
    )
    assert done.returncode == (2 if refused else 0), done.stdout + done.stderr
    assert refused in done.stdout
    assert version not in done.stdout  # never echoed back as a workflow command
