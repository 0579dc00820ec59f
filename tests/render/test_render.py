"""The workflow templates rendered with several option sets: valid, zizmor-clean, as designed."""

from __future__ import annotations

import dataclasses
import json
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
    DeclaredService,
    Environment,
    Target,
    _environment,
    recorded_command,
    render,
    render_all,
    written_by_us,
)
from ci_actions.services.model import ServiceEnvironment
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


def _job_step(data: dict[str, Any], job: str, **match: str) -> dict[str, Any]:
    """The one step of `job` whose fields have the given values (id="probe", name=...)."""
    [step] = [
        s
        for j, s in _steps(data)
        if j == job and all(s.get(k.replace("_", "-")) == v for k, v in match.items())
    ]
    return step


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
        "verify-dev",
        "deploy-staging",
        "verify-staging",
        "deploy-production",
        "verify-production",
    ]
    # docs-only changes skip everything after `changes`: the jobs that do not say it
    # need one that does (verify needs its deploy)
    for name in list(jobs)[1:]:
        if name.startswith("verify-"):
            assert f"deploy-{name.removeprefix('verify-')}" in jobs[name]["needs"], name
            assert "if" not in jobs[name], name  # one service: every need must succeed
        else:
            assert "needs.changes.outputs.docs-only != 'true'" in jobs[name]["if"], name
    assert jobs["test"]["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    assert jobs["image"]["needs"] == ["changes", "test", "security"]
    # environments are promoted in order: each deploy waits for the previous verify
    assert jobs["deploy-dev"]["needs"] == ["changes", "security", "image"]
    assert jobs["deploy-staging"]["needs"][-1] == "verify-dev"
    assert jobs["deploy-production"]["needs"][-1] == "verify-staging"
    # only production is a protected environment with max-parallel
    for job in ("deploy-production", "verify-production"):
        assert jobs[job]["environment"] == {"name": "production"}
    assert jobs["verify-production"]["strategy"]["max-parallel"] == 1
    assert "max-parallel" not in jobs["verify-dev"]["strategy"]
    assert "strategy" not in jobs["deploy-dev"]  # one job, one commit per environment
    for name in ("deploy-dev", "verify-dev", "deploy-production"):
        assert jobs[name]["concurrency"]["cancel-in-progress"] is False
    # least privilege: only the verify jobs write contents (the deploy tag); SARIF upload
    # gets security-events
    assert jobs["changes"]["permissions"] == {"contents": "read"}
    assert jobs["security"]["permissions"]["security-events"] == "write"
    assert jobs["deploy-dev"]["permissions"] == {"contents": "read"}
    assert jobs["verify-dev"]["permissions"] == {"contents": "write"}
    uses = [s.get("uses", "").split("@")[0] for _, s in _steps(data)]
    assert "github/codeql-action/upload-sarif" in uses and "actions/setup-python" in uses
    gate = next(s for _, s in _steps(data) if s.get("id") == "gate")
    assert gate["with"]["scanners"] == "bandit\nsemgrep\npip-audit\nsafety"
    assert gate["with"]["requirements"] == "requirements.txt"
    build = next(s for _, s in _steps(data) if s.get("id") == "build")
    assert build["with"]["file"] == "services/orders/Dockerfile"
    assert "insecure-registries" not in build["with"]
    assert jobs["image"]["outputs"]["reference"] == (
        "ghcr.io/acme/orders:${{ steps.tags.outputs.version }}@${{ steps.build.outputs.digest }}"
    )
    bump = _job_step(data, "deploy-staging", id="bump")
    assert bump["with"]["images"] == "${{ needs.image.outputs.reference }}"
    assert bump["with"]["paths"] == "apps/orders/overlays/staging"
    probe = _job_step(data, "verify-staging", id="probe")
    assert probe["with"]["expected-version"] == "${{ needs.image.outputs.version }}"
    matrix = jobs["verify-staging"]["strategy"]["matrix"]["include"]
    assert matrix == [
        {
            "service": "orders",
            "image": "ghcr.io/acme/orders",
            "target": "staging",
            "overlay": "apps/orders/overlays/staging",
            "health-url": "",
            "workloads": "deployment/orders\ndeployment/orders-worker",
            "namespace": "orders",
        }
    ]
    rollback = _job_step(data, "verify-dev", id="rollback")
    # only the probe's verdict (or a failure before it) rolls back, never a step after a
    # passed probe; the version is out once the verify job runs (its deploy succeeded)
    assert rollback["if"] == "failure() && steps.probe.outcome != 'success'"
    healthy = _job_step(data, "verify-dev", name="Mark the release healthy and tag the commit")
    # checkout keeps no credentials: the tag push authenticates with the job's token
    assert healthy["with"]["git-tag"] is True
    assert healthy["with"]["git-tag-token"] == "${{ github.token }}"
    checkout = next(
        s for j, s in _steps(data) if j == "verify-dev" and "checkout" in s.get("uses", "")
    )
    assert checkout["with"]["persist-credentials"] is False
    assert rollback["with"]["command"] == "rollback"
    restored = _job_step(data, "verify-dev", id="probe-restored")
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
    targets = [t["target"] for t in cicd["jobs"]["verify-prod"]["strategy"]["matrix"]["include"]]
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
        "security",
        "image",
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
    include = data["jobs"]["verify-prod"]["strategy"]["matrix"]["include"][0]
    assert include["overlay"] == "overlays/prod: #x"
    assert _job_step(data, "deploy-prod", id="bump")["with"]["paths"] == "overlays/prod: #x"
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
    probe = _job_step(cicd, "verify-staging", id="probe")
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
    text = "(" + expression.strip().removeprefix("${{").removesuffix("}}") + ")"
    for name in sorted(values, key=len, reverse=True):
        text = text.replace(name, repr(values[name]))
    text = text.replace("!=", "<>").replace("!", " not ").replace("<>", "!=")
    text = text.replace("&&", " and ").replace("||", " or ")
    functions = {
        "cancelled": lambda: False,
        "always": lambda: True,
        "failure": lambda: values.get("failure()") == "true",
        "startsWith": lambda text, prefix: str(text).startswith(prefix),
        "contains": lambda items, item: item in items,
        "fromJSON": json.loads,
        "true": True,
        "false": False,
    }
    return bool(eval(text, {"__builtins__": {}}, functions))


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


def test_two_services_build_apart_and_deploy_together() -> None:
    """One build job per service, each only when the change touches it; per environment
    one deploy job (one commit of every built image) and one verify leg per service."""
    data = _load(render("cicd", CASES["two-services"]))
    jobs = data["jobs"]
    assert list(jobs) == [
        "changes", "test", "security", "image-api", "image-collector",
        "deploy-dev", "verify-dev", "deploy-prod", "verify-prod",
    ]  # fmt: skip
    assert jobs["changes"]["outputs"]["changed-services"] == (
        "${{ steps.changes.outputs.changed-services }}"
    )
    assert [jobs[j]["name"] for j in ("image-api", "image-collector")] == [
        "image (api)",
        "image (collector)",
    ]
    assert (
        "contains(fromJSON(needs.changes.outputs.changed-services), 'collector')"
        in (jobs["image-collector"]["if"])
    )
    build = _job_step(data, "image-collector", id="build")
    assert (build["with"]["context"], build["with"]["file"]) == (
        ".",
        "services/collector/Dockerfile",
    )
    assert jobs["deploy-dev"]["needs"] == ["changes", "security", "image-api", "image-collector"]
    assert jobs["deploy-prod"]["needs"][-1] == "verify-dev"
    assert "strategy" not in jobs["deploy-dev"]
    [bump] = [s for s in jobs["deploy-dev"]["steps"] if s.get("with", {}).get("mode") == "commit"]
    [edit] = [s for s in jobs["deploy-dev"]["steps"] if s.get("with", {}).get("mode") == "edit"]
    references = "".join(
        f"${{{{ needs.{job}.result == 'success' && needs.{job}.outputs.reference || '' }}}}\n"
        for job in ("image-api", "image-collector")
    )
    assert bump["with"]["images"] == edit["with"]["images"] == references
    [validate] = [
        s for s in jobs["deploy-dev"]["steps"] if "validate-manifests" in s.get("uses", "")
    ]
    assert validate["with"]["paths"] == ".gitops/overlays/dev"
    legs = jobs["verify-dev"]["strategy"]["matrix"]["include"]
    assert [(leg["service"], leg["job"], leg["target"], leg["health-url"]) for leg in legs] == [
        ("api", "image-api", "dev", "http://127.0.0.1:8541/health"),
        ("collector", "image-collector", "dev", "http://127.0.0.1:8551/health"),
    ]
    # a leg of a service that was not built does nothing
    for step in jobs["verify-dev"]["steps"]:
        assert step["if"].startswith(("needs[matrix.job].result == 'success'", "failure()")), step
    # the collector's prod entry says auto-rollback: false; the api's leg rolls back
    prod = jobs["verify-prod"]["strategy"]["matrix"]["include"]
    assert [(leg["service"], leg["auto-rollback"]) for leg in prod] == [
        ("api", True),
        ("collector", False),
    ]
    assert _job_step(data, "verify-prod", id="rollback")["if"].endswith("&& matrix.auto-rollback")
    assert "auto-rollback" not in legs[0]  # dev: every leg rolls back
    assert not [j for j in jobs if j.startswith("rollback-")]  # policy failed: in the legs


def test_tenants_and_rollback_policy_all() -> None:
    """Policy all: the legs only probe; a rollback job per environment sends back every
    built service whose auto-rollback is on, in every target. A tenant's own entry wins."""
    data = _load(render("cicd", CASES["two-services-tenants-all"]))
    jobs = data["jobs"]
    assert "image-chat-worker" in jobs  # a job id takes no '.'
    assert _job_step(data, "image-chat-worker", id="build")["with"]["file"] == (
        "bots/chat/worker.Dockerfile"
    )
    [bump] = [s for s in jobs["deploy-prod"]["steps"] if s.get("id") == "bump"]
    assert bump["with"]["paths"] == "k8s/tenants/a\nk8s/tenants/b"  # both tenants, one commit
    legs = jobs["verify-prod"]["strategy"]["matrix"]["include"]
    assert [
        (leg["service"], leg["target"], leg["workloads"], leg["namespace"]) for leg in legs
    ] == [
        ("callbot", "prod-a", "deployment/callbot", "bots-a"),
        ("callbot", "prod-b", "deployment/callbot", "bots-b"),
        ("chat.worker", "prod-a", "deployment/chat-worker", "bots-a"),
        ("chat.worker", "prod-b", "deployment/chat-worker-b", "bots-b"),
    ]
    assert [leg["version-arg"] for leg in legs] == [True, True, False, False]
    assert not [s for s in jobs["verify-prod"]["steps"] if s.get("id") == "rollback"]
    rollback = jobs["rollback-prod"]
    assert rollback["needs"] == ["image-callbot", "image-chat-worker", "verify-prod"]
    assert rollback["if"] == "always() && !cancelled() && needs.verify-prod.result == 'failure'"
    assert [
        (leg["service"], leg["target"]) for leg in rollback["strategy"]["matrix"]["include"]
    ] == [
        ("callbot", "prod-a"),
        ("callbot", "prod-b"),
        ("chat.worker", "prod-a"),  # prod-b of the worker: auto-rollback off
    ]
    assert rollback["strategy"]["max-parallel"] == 1
    steps = {s.get("id", s.get("name")): s for s in rollback["steps"]}
    assert steps["rollback"]["if"] == "needs[matrix.job].result == 'success'"
    assert steps["probe-restored"]["if"] == "steps.rollback.outcome == 'success'"
    assert "rollback-dev" in jobs
    probe = _job_step(data, "verify-prod", id="probe")
    assert probe["with"]["expected-images"].startswith("${{ !matrix.version-arg && ")


RESULTS = ("success", "skipped", "failure")


@pytest.mark.parametrize("api", RESULTS)
@pytest.mark.parametrize("collector", RESULTS)
@pytest.mark.parametrize("verified", ["success", "failure", "skipped"])
def test_an_environment_deploys_what_was_built_and_only_when_nothing_failed(
    api: str, collector: str, verified: str
) -> None:
    """deploy-prod runs when one service or both were built, none failed and dev verified."""
    jobs = _load(render("cicd", CASES["two-services"]))["jobs"]
    contexts = {
        "needs.changes.outputs.docs-only": "false",
        "github.event_name": "push",
        "github.ref": "refs/heads/main",
        "needs.image-api.result": api,
        "needs.image-collector.result": collector,
        "needs.security.result": "success",
        "needs.verify-dev.result": verified,
    }
    built = "success" in (api, collector) and "failure" not in (api, collector)
    assert _github_if(jobs["deploy-dev"]["if"], contexts) is built
    assert _github_if(jobs["deploy-prod"]["if"], contexts) is (built and verified == "success")
    pull = contexts | {"github.event_name": "pull_request"}
    assert _github_if(jobs["deploy-dev"]["if"], pull) is False


@pytest.mark.parametrize(
    ("changed", "built"),
    [
        ('["api"]', ["image-api"]),
        ("[]", []),
        ('["api", "collector"]', ["image-api", "image-collector"]),
    ],
)
def test_a_service_is_built_when_changes_names_it(changed: str, built: list[str]) -> None:
    jobs = _load(render("cicd", CASES["two-services"]))["jobs"]
    contexts = {
        "needs.changes.outputs.docs-only": "false",
        "needs.changes.outputs.changed-services": changed,
    }
    assert [
        j for j in ("image-api", "image-collector") if _github_if(jobs[j]["if"], contexts)
    ] == built


@pytest.mark.parametrize(
    ("result", "probe", "auto", "rolls_back"),
    [
        ("success", "failure", "true", True),
        ("success", "failure", "false", False),  # auto-rollback off for this service here
        ("success", "success", "true", False),
        ("skipped", "skipped", "true", False),  # not built: the leg does nothing
    ],
)
def test_a_leg_rolls_back_its_own_service_only_when_its_probe_failed(
    result: str, probe: str, auto: str, rolls_back: bool
) -> None:
    data = _load(render("cicd", CASES["two-services"]))
    step = _job_step(data, "verify-prod", id="rollback")
    contexts = {
        "needs[matrix.job].result": result,
        "steps.probe.outcome": probe,
        "matrix.auto-rollback": auto,
        "failure()": "true" if probe == "failure" else "false",
    }
    text = step["if"].replace("matrix.auto-rollback", "matrix.auto-rollback == 'true'")
    assert _github_if(text, contexts) is rolls_back
    assert step["with"]["service"] == "${{ matrix.service }}"
    assert step["with"]["paths"] == "${{ matrix.overlay }}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rollback_policy": "some"}, "rollback-policy 'some' is unknown"),
        (
            {"declared_services": tuple(
                DeclaredService(name, f"r/{name}", settings=(ServiceEnvironment("dev", (), "http://h"),))
                for name in ("api", "all")
            )},
            "service 'all': the name is rollback.yml's choice of every service",
        ),
        (
            {"declared_services": (
                DeclaredService("a.b", "r/x", settings=(ServiceEnvironment("dev", (), "http://h"),)),
                DeclaredService("a-b", "r/y", settings=(ServiceEnvironment("dev", (), "http://h"),)),
            )},
            "services 'a.b' and 'a-b' would share the build job 'image-a-b'",
        ),
        (
            {"declared_services": (
                DeclaredService("api", "r/api", settings=(ServiceEnvironment("dev", (), "http://h"),)),
                DeclaredService("worker", "r/worker"),
            )},
            "service 'worker': nothing to probe after a deploy to dev",
        ),
        (
            {"declared_services": tuple(
                DeclaredService(f"s{i}", f"r/s{i}", settings=(ServiceEnvironment("dev", (), "http://h"),))
                for i in range(129)
            )},
            "environment 'dev': 129 services x 2 targets = 258 verify legs, more than GitHub's limit of 256",
        ),
    ],
)  # fmt: skip
def test_bad_services_are_refused(change: dict[str, Any], message: str) -> None:
    targets = (Target("dev", "o/dev"), Target("dev-b", "o/b"))
    options = dataclasses.replace(
        CASES["minimal"], environments=(Environment("dev", targets),), **change
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        render("cicd", options)


@pytest.mark.parametrize(
    ("built", "changed"),
    [
        ({"image-api": "success", "image-collector": "skipped"}, ["api"]),
        ({"image-api": "skipped", "image-collector": "success"}, ["collector"]),
        ({"image-api": "success", "image-collector": "success"}, ["api", "collector"]),
    ],
)
def test_the_deploy_step_sets_only_the_images_that_were_built(
    tmp_path: Path, built: dict[str, str], changed: list[str]
) -> None:
    """The rendered `images:` of the deploy job, as GitHub evaluates it, given to
    kustomize-bump: a service that was not built is an empty line, left out."""
    from tests.support.cli import invoke
    from tests.support.gitops import gitops_files

    data = _load(render("cicd", CASES["two-services"]))
    [edit] = [
        s for s in data["jobs"]["deploy-dev"]["steps"] if s.get("with", {}).get("mode") == "edit"
    ]
    images = {"api": "127.0.0.1:5000/api", "collector": "127.0.0.1:5000/collector"}
    digest = "sha256:" + "a" * 64
    lines = []
    for line in edit["with"]["images"].splitlines():
        [job] = re.findall(r"needs\.(image-[a-z]+)\.result", line)
        reference = f"{images[job.removeprefix('image-')]}:sha-1234567@{digest}"
        lines.append(reference if built[job] == "success" else "")  # what `&& ||` gives
    assert lines.count("") == len(images) - len(changed)  # the empty line is really there
    for rel, text in gitops_files(("dev",)).items():
        path = tmp_path / "gitops" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            text.replace("registry.local:5000/team/api", images["api"]).replace(
                "registry.local:5000/team/worker", images["collector"]
            )
        )
    run = invoke(
        tmp_path / "runner",
        "kustomize-bump",
        ["--mode", "edit", "--paths", "overlays/dev", "--images", "\n".join(lines) + "\n"],
        cwd=tmp_path / "gitops",
    )
    assert run.code == 0, run.log
    overlay = yaml.safe_load((tmp_path / "gitops/overlays/dev/kustomization.yaml").read_text())
    tags = {i["name"]: i["newTag"] for i in overlay["images"]}
    assert tags == {images[name]: "sha-1234567" if name in changed else "1.0.0" for name in images}
