"""The workflow templates rendered with several option sets: valid, zizmor-clean, as designed."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from ci_actions.errors import ConfigError
from ci_actions.render import (
    PINS,
    TEMPLATES,
    Environment,
    Target,
    _environment,
    recorded_command,
    render,
    render_all,
    written_by_us,
)
from tests.render.cases import CASES, SHA
from tests.support.golden import assert_golden
from tests.support.tools import require

ROOT = Path(__file__).resolve().parents[2]
FULL_SHA_USE = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v[\w.]+$")


def _load(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads `on:` as a boolean
    return data


def _steps(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, step) for job, body in data["jobs"].items() for step in body["steps"]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every case rendered into its own repository layout."""
    base = tmp_path_factory.mktemp("rendered")
    dirs = {}
    for case, options in CASES.items():
        for rel, text in render_all(options, f"ci-actions init # {case}").items():
            path = base / case / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        dirs[case] = base / case
    return dirs


def test_every_rendered_workflow_is_schema_valid(rendered: dict[str, Path]) -> None:
    files = sorted(str(p) for d in rendered.values() for p in d.glob(".github/workflows/*.yml"))
    assert len(files) == len(CASES) * len(TEMPLATES)
    proc = subprocess.run(
        [require("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_reports_nothing_on_any_rendered_workflow(rendered: dict[str, Path]) -> None:
    proc = subprocess.run(
        [
            require("zizmor"),
            "--offline",
            "--no-progress",
            "--format",
            "plain",
            *map(str, rendered.values()),
        ],
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "No findings" in out, out


def test_zizmor_would_catch_an_unpinned_action(tmp_path: Path) -> None:
    """The check above can fail: a tag-pinned ci-actions reference is a finding."""
    text = render("cicd", CASES["minimal"]).replace(f"@{SHA}", "@v1")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "cicd.yml").write_text(text)
    proc = subprocess.run(
        [require("zizmor"), "--offline", "--no-progress", "--format", "plain", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "unpinned-uses" in proc.stdout + proc.stderr


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("name", TEMPLATES)
def test_golden(case: str, name: str) -> None:
    assert_golden(
        f"templates/{case}/{name}.yml", render(name, CASES[case], f"ci-actions init # {case}")
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_action_is_pinned_by_sha_and_no_expression_is_inside_run(case: str) -> None:
    for name in TEMPLATES:
        text = render(name, CASES[case])
        for line in text.splitlines():
            if line.strip().startswith(("uses:", "- uses:")):
                assert FULL_SHA_USE.match(line.split("uses:", 1)[1].strip()), line
        for job, step in _steps(_load(text)):
            assert "${{" not in step.get("run", ""), f"{name}/{job}: expression inside run:"


def test_pins_are_the_releases_they_name() -> None:
    # Commits of the named releases (git tags of the upstream repositories).
    assert PINS == {
        "checkout": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
        "setup_python": "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0",
        "upload_sarif": "github/codeql-action/upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e # v4.36.2",
        "cache": "actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae # v5.0.5",
    }


def test_cicd_pipeline_shape() -> None:
    data = _load(render("cicd", CASES["hosted-three-stages"]))
    jobs = data["jobs"]
    assert data["permissions"] == {}
    assert data["on"]["push"]["branches"] == ["trunk"]
    assert "refs/heads/trunk" in data["concurrency"]["cancel-in-progress"]
    assert list(jobs) == [
        "changes",
        "test",
        "security",
        "image",
        "deploy-dev",
        "deploy-staging",
        "deploy-production",
    ]
    # docs-only changes skip everything after `changes`
    for name in list(jobs)[1:]:
        assert "needs.changes.outputs.docs-only != 'true'" in jobs[name]["if"], name
    assert jobs["test"]["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    assert jobs["image"]["needs"] == ["changes", "test", "security"]
    # environments are promoted in order; only production is a protected environment with max-parallel
    assert jobs["deploy-staging"]["needs"][-1] == "deploy-dev"
    assert jobs["deploy-production"]["needs"][-1] == "deploy-staging"
    assert jobs["deploy-production"]["environment"] == {"name": "production"}
    assert jobs["deploy-production"]["strategy"]["max-parallel"] == 1
    assert "max-parallel" not in jobs["deploy-dev"]["strategy"]
    for name in ("deploy-dev", "deploy-production"):
        assert jobs[name]["concurrency"]["cancel-in-progress"] is False
    # least privilege: only deploy jobs write contents; SARIF upload gets security-events
    assert jobs["changes"]["permissions"] == {"contents": "read"}
    assert jobs["security"]["permissions"]["security-events"] == "write"
    assert jobs["deploy-dev"]["permissions"] == {"contents": "write"}
    uses = [s.get("uses", "").split("@")[0] for _, s in _steps(data)]
    assert "github/codeql-action/upload-sarif" in uses and "actions/setup-python" in uses
    gate = next(s for _, s in _steps(data) if s.get("id") == "gate")
    assert gate["with"]["scanners"] == "bandit\nsemgrep\npip-audit\nsafety"
    assert gate["with"]["requirements"] == "requirements.txt"
    build = next(s for _, s in _steps(data) if s.get("id") == "build")
    assert build["with"]["file"] == "services/orders/Dockerfile"
    assert "insecure-registries" not in build["with"]
    probe = next(s for j, s in _steps(data) if j == "deploy-staging" and s.get("id") == "probe")
    assert probe["with"]["expected-version"] == "${{ needs.image.outputs.version }}"
    matrix = jobs["deploy-staging"]["strategy"]["matrix"]["include"]
    assert matrix == [
        {
            "target": "staging",
            "overlay": "apps/orders/overlays/staging",
            "health-url": "",
            "workloads": "deployment/orders\ndeployment/orders-worker",
            "namespace": "orders",
        }
    ]
    rollback = next(s for j, s in _steps(data) if j == "deploy-dev" and s.get("id") == "rollback")
    # only the probe's verdict (or a failure before it) rolls back, never a step after a passed probe
    assert rollback["if"] == (
        "failure() && steps.bump.outcome == 'success' && steps.probe.outcome != 'success'"
    )
    healthy = next(
        s
        for j, s in _steps(data)
        if j == "deploy-dev" and s.get("name") == "Mark the release healthy and tag the commit"
    )
    # checkout keeps no credentials: the tag push authenticates with the job's token
    assert healthy["with"]["git-tag"] is True
    assert healthy["with"]["git-tag-token"] == "${{ github.token }}"
    checkout = next(
        s for j, s in _steps(data) if j == "deploy-dev" and "checkout" in s.get("uses", "")
    )
    assert checkout["with"]["persist-credentials"] is False
    assert rollback["with"]["command"] == "rollback"
    restored = next(
        s for j, s in _steps(data) if j == "deploy-dev" and s.get("id") == "probe-restored"
    )
    assert restored["if"] == "failure() && steps.rollback.outcome == 'success'"
    assert restored["with"]["expected-version"] == "${{ steps.rollback.outputs.tag }}"


def test_self_hosted_demo_shape() -> None:
    data = _load(render("cicd", CASES["self-hosted-demo"]))
    uses = [s.get("uses", "").split("@")[0] for _, s in _steps(data)]
    assert "actions/setup-python" not in uses
    assert "github/codeql-action/upload-sarif" not in uses
    assert data["jobs"]["test"]["runs-on"] == ["self-hosted", "linux"]
    install = next(
        s for j, s in _steps(data) if j == "test" and s.get("name") == "Install the test tools"
    )
    assert '"python$PYTHON_VERSION" -m venv' in install["run"]
    assert install["run"].rstrip().endswith("--disable-pip-version-check pytest ruff")
    build = next(s for _, s in _steps(data) if s.get("id") == "build")
    assert build["with"]["insecure-registries"] == "127.0.0.1:5000"
    clone = next(s for _, s in _steps(data) if s.get("name") == "Clone the GitOps repository")
    assert clone["env"]["GITOPS_REPO"] == "file:///srv/gitops.git"
    assert "security-events" not in data["jobs"]["security"]["permissions"]


def test_tenants_are_a_matrix_and_monitor_and_rollback_cover_them() -> None:
    options = CASES["tenants-gitflow"]
    cicd = _load(render("cicd", options))
    targets = [t["target"] for t in cicd["jobs"]["deploy-prod"]["strategy"]["matrix"]["include"]]
    assert targets == ["prod-tenant-a", "prod-tenant-b", "prod-tenant-c"]
    tags = next(s for _, s in _steps(cicd) if s.get("id") == "tags")
    assert tags["with"]["preset"] == "gitflow"
    monitor = _load(render("monitor", options))
    assert monitor["on"]["schedule"] == [{"cron": "*/15 * * * *"}]
    assert [t["target"] for t in monitor["jobs"]["probe"]["strategy"]["matrix"]["include"]] == [
        "dev",
        *targets,
    ]
    rollback = _load(render("rollback", options))
    assert rollback["on"]["workflow_dispatch"]["inputs"]["target"]["options"] == ["dev", *targets]


def test_no_preset_and_https_gitops_url() -> None:
    data = _load(render("cicd", CASES["minimal"]))
    tags = next(s for _, s in _steps(data) if s.get("id") == "tags")
    assert "preset" not in tags["with"]
    assert tags["with"]["images"] == "registry.example.com/team/api"
    record = next(s for _, s in _steps(data) if s.get("id") == "record")
    assert record["with"]["repository"] == "https://github.com/team/deploy.git"
    assert "deploy-prod" in data["jobs"] and data["jobs"]["deploy-prod"]["needs"] == [
        "changes",
        "image",
        "security",
    ]


def test_github_expressions_pass_through_untouched() -> None:
    text = render("cicd", CASES["minimal"])
    assert "group: cicd-${{ github.ref }}" in text
    assert "type=semver,pattern={{version}},priority=1200" in text
    assert "[[" not in text and "[%" not in text


def test_values_are_quoted_so_yaml_cannot_reinterpret_them() -> None:
    options = dataclasses.replace(
        CASES["minimal"],
        environments=(
            Environment(
                "prod", (Target("prod", "overlays/prod: #x", "http://h/health?a=1&b='2'"),)
            ),
        ),
        python_versions=("3.10",),
    )
    data = _load(render("cicd", options))
    include = data["jobs"]["deploy-prod"]["strategy"]["matrix"]["include"][0]
    assert include["overlay"] == "overlays/prod: #x"
    assert include["health-url"] == "http://h/health?a=1&b='2'"
    assert data["jobs"]["test"]["strategy"]["matrix"]["python-version"] == ["3.10"]  # not 3.1


def test_undefined_names_are_errors() -> None:
    with pytest.raises(jinja2.UndefinedError):
        _environment().from_string("x: [[ o.nope ]]").render(o=CASES["minimal"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"actions_ref": "v1"}, "not a full commit SHA"),
        ({"actions_ref": SHA.upper()}, "not a full commit SHA"),
        ({"actions_repo": "ci-actions"}, "OWNER/NAME"),
        ({"preset": "fancy"}, "preset 'fancy'"),
        ({"scanners": ("bandit", "trivy")}, "unknown scanner(s) trivy"),
        ({"environments": ()}, "no environments"),
        ({"environments": (Environment("Prod", (Target("p", "o"),)),)}, "invalid or repeated"),
        ({"environments": (Environment("dev", ()),)}, "has no overlay"),
        (
            {"environments": (Environment("a", (Target("t", "o"), Target("t", "p"))),)},
            "repeats a target",
        ),
        ({"monitor_cron": "*/5 * *"}, "5-field cron"),
        ({"gitops_repo": ""}, "gitops-repo is empty"),
        ({"runs_on": ()}, "must not be empty"),
    ],
)
def test_bad_options_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        render("cicd", dataclasses.replace(CASES["minimal"], **change))


def test_header_marks_what_init_wrote() -> None:
    text = render("monitor", CASES["minimal"], "ci-actions init --registry r --gitops-repo g")
    assert text.startswith("# Generated by ci-actions init ")
    assert written_by_us(text)
    assert recorded_command(text) == "ci-actions init --registry r --gitops-repo g"
    assert not written_by_us(text.replace("timeout: 1m", "timeout: 2m"))
    assert not written_by_us(text.split("\n", 3)[3])  # header removed
    assert recorded_command("name: x\n") is None


def test_no_version_arg_registry_path_and_carried_services() -> None:
    """uv-no-version: no version asserted anywhere, insecure-registries is the host alone."""
    options = CASES["uv-no-version"]
    cicd = _load(render("cicd", options))
    build = next(s for _, s in _steps(cicd) if s.get("id") == "build")
    assert build["with"]["insecure-registries"] == "127.0.0.1:5000"  # not .../team
    assert "build-args" not in build["with"]
    for name in TEMPLATES:
        assert "expected-version" not in render(name, options), name
    probe = next(s for j, s in _steps(cicd) if j == "deploy-staging" and s.get("id") == "probe")
    assert "needs.image.outputs.digest" in probe["with"]["expected-images"]
    assert cicd["jobs"]["test"]["services"] == {
        "redis": {"image": "redis:7", "ports": ["6379:6379"]}
    }
    security = cicd["jobs"]["security"]["steps"]
    setup = next(s for s in security if s["uses"].startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "3.14"
    self_hosted = dataclasses.replace(options, setup_python=False, runs_on=("self-hosted",))
    gate = next(s for _, s in _steps(_load(render("cicd", self_hosted))) if s.get("id") == "gate")
    assert gate["env"] == {"CI_ACTIONS_PYTHON": "python3.14"}


@pytest.mark.parametrize(
    ("version", "accepted"),
    [
        ("1.2.3", True),
        ("sha-abc1234", True),
        ("v1_2-rc.1", True),
        ("a" * 128, True),
        ("1.2.3\nregistry.local:5000/team/worker=evil.example/x:1", False),  # a second image line
        ("1.2.3\n", False),
        ("-x", False),
        (".x", False),
        ("1.2.3 x", False),
        ("a" * 129, False),
    ],
)
def test_rollback_version_is_one_tag(
    rendered: dict[str, Path], version: str, accepted: bool
) -> None:
    """The rendered check runs before the bump: a version smuggling extra lines stops the job."""
    data = _load((rendered["minimal"] / ".github/workflows/rollback.yml").read_text())
    [check] = [s for _, s in _steps(data) if s.get("name") == "Check the requested version"]
    [first] = [s for _, s in _steps(data)][:1]
    assert first is check and check["env"] == {"VERSION": "${{ inputs.version }}"}
    done = subprocess.run(
        ["bash", "-c", check["run"]], env={"VERSION": version}, capture_output=True, text=True
    )
    assert (done.returncode == 0) is accepted, done.stdout + done.stderr
    if not accepted:
        assert done.returncode == 2 and "input 'version'" in done.stdout
        assert version not in done.stdout  # never echoed back as a workflow command


@pytest.mark.parametrize("case", ["hosted-three-stages", "self-hosted-demo"])
def test_the_security_gate_is_diff_aware_on_pull_requests_with_a_result_cache(case: str) -> None:
    options = CASES[case]
    security = _load(render("cicd", options))["jobs"]["security"]["steps"]
    checkout = next(s for s in security if s["uses"].startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the base must be in the clone
    gate = next(s for s in security if s.get("id") == "gate")
    assert gate["with"]["diff-base"] == "${{ github.event.pull_request.base.sha }}"
    caches = [s for s in security if s["uses"].startswith("actions/cache@")]
    if options.self_hosted:  # the gate's default: the runner's tool cache
        assert caches == []
        assert "cache-dir" not in gate["with"]
        return
    [cache] = caches
    assert cache["if"] == "github.event_name == 'pull_request'"
    assert cache["with"]["path"] == gate["with"]["cache-dir"]
    assert cache["with"]["key"].endswith("${{ github.sha }}")


def _github_if(expression: str, values: dict[str, str]) -> bool:
    """A GitHub `if:` of comparisons, !, && and || over the given contexts (enough here)."""
    text = expression.strip().removeprefix("${{").removesuffix("}}")
    for name in sorted(values, key=len, reverse=True):
        text = text.replace(name, repr(values[name]))
    text = text.replace("!=", "<>").replace("!", " not ").replace("<>", "!=")
    text = text.replace("&&", " and ").replace("||", " or ")
    return bool(eval(text, {"__builtins__": {}}, {"cancelled": lambda: False}))


@pytest.mark.parametrize(
    ("event", "head", "sarif", "uploads"),
    [
        ("push", "", "gate.sarif", True),
        ("pull_request", "acme/orders", "gate.sarif", True),  # a branch of the repository
        ("pull_request", "mallory/orders", "gate.sarif", False),  # a fork: read-only token
        ("push", "", "", False),  # nothing to upload
    ],
)
def test_code_scanning_upload_is_skipped_for_a_fork_pull_request(
    event: str, head: str, sarif: str, uploads: bool
) -> None:
    data = _load(render("cicd", CASES["hosted-three-stages"]))
    (upload,) = [
        s for s in data["jobs"]["security"]["steps"] if "upload-sarif" in s.get("uses", "")
    ]
    contexts = {
        "steps.gate.outputs.sarif-file": sarif,
        "github.event.pull_request.head.repo.full_name": head,
        "github.event_name": event,
        "github.repository": "acme/orders",
    }
    assert _github_if(upload["if"], contexts) is uploads
