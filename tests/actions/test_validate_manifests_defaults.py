"""The default severities of validate-manifests on real-shaped kustomize overlays.

A schema-valid, running application (the Argo CD guestbook) must not be blocked
outside production by best-practice findings; what breaks a deployment, or the
truth of what is deployed, fails everywhere. Overlays are rendered by the real
`kubectl kustomize` through the CLI, as on a runner.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ci_actions.manifests.policies import DEFAULTS, starter_policy_file
from tests.manifests.support import FIXTURES, ROOT
from tests.support.cli import CliRun, invoke
from tests.support.golden import assert_golden
from tests.support.tools import needs

pytestmark = needs("kubectl")
GUESTBOOK = FIXTURES / "guestbook"
GUESTBOOK_REL = GUESTBOOK.relative_to(ROOT).as_posix()
DEPLOYMENT = f"{GUESTBOOK_REL}/base/guestbook-ui-deployment.yaml"
# Components that make the guestbook pass every policy (with `required-labels: team`).
HARDENED = ("resources", "probes", "run-as-non-root", "team-label")

# policy -> (components dropped from HARDENED, components added, replicas,
#            severity outside production-paths, severity inside; None: no finding)
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], int, str | None, str | None]] = {
    "image-tag": ((), ("latest",), 2, "error", "error"),
    "image-digest": ((), (), 2, None, None),
    "resources": (("resources",), (), 2, "warning", "error"),
    "probes": (("probes",), (), 2, "warning", "error"),
    "run-as-non-root": (("run-as-non-root",), (), 2, "warning", "error"),
    "privileged": ((), ("privileged",), 2, "error", "error"),
    "host-path": ((), ("host-path",), 2, "error", "error"),
    "required-labels": (("team-label",), (), 2, "warning", "error"),
    "replicas": ((), (), 1, None, "error"),
}


def validate(cwd: Path, tmp: Path, *args: str) -> CliRun:
    return invoke(
        tmp,
        "validate-manifests",
        ["--report-file", str(tmp / "report.json"), *args],
        env={"RUNNER_TEMP": str(tmp)},
        cwd=cwd,
    )


def problems(tmp: Path) -> list[tuple[str, str]]:
    report = json.loads((tmp / "report.json").read_text())
    return sorted((p["check"], p["severity"]) for p in report["problems"])


def overlay(root: Path, name: str, components: list[str], replicas: int) -> str:
    """An overlay over the guestbook base, in `root/overlays/<name>`; its `paths` entry."""
    folder = root / "overlays" / name
    folder.mkdir(parents=True)
    listed = ", ".join(f"../../../components/{c}" for c in components)
    (folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources: [../../../base]\n"
        f"components: [{listed}]\n"
        f"replicas: [{{name: kustomize-guestbook-ui, count: {replicas}}}]\n"
    )
    return f"gitops/overlays/{name}"


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    root = tmp_path / "gitops"
    for part in ("base", "components"):
        shutil.copytree(GUESTBOOK / part, root / part)
    return root


def test_the_table_covers_every_policy() -> None:
    assert set(TABLE) == set(DEFAULTS)


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("policy", sorted(TABLE))
def test_default_severity_by_policy_and_path(
    gitops: Path, tmp_path: Path, policy: str, env: str
) -> None:
    dropped, added, replicas, elsewhere, production = TABLE[policy]
    components = [c for c in HARDENED if c not in dropped] + list(added)
    # `<policy>/prod` matches the default production-paths (`**/prod`), `<policy>/dev` does not
    path = overlay(gitops, f"{policy}/{env}", components, replicas)
    run = validate(tmp_path, tmp_path / "out", "--paths", path, "--required-labels", "team")
    severity = production if env == "prod" else elsewhere
    found = problems(tmp_path / "out")
    assert {check for check, _ in found} <= {policy}, found
    if severity is None:
        assert (run.code, found) == (0, []), run.log
        return
    assert found and {s for _, s in found} == {severity}, found
    assert run.code == (1 if severity == "error" else 0), run.log
    assert run.outputs["valid"] == ("false" if severity == "error" else "true")
    annotation = f"::{severity} file=gitops/"
    assert annotation in run.stdout, run.stdout
    assert f"| {severity} | {policy} |" in run.summary


def test_the_guestbook_in_a_dev_overlay_passes_with_warnings(tmp_path: Path) -> None:
    run = validate(ROOT, tmp_path, "--paths", f"{GUESTBOOK_REL}/overlays/dev")
    assert run.code == 0, run.log
    assert (run.outputs["valid"], run.outputs["errors"], run.outputs["warnings"]) == (
        "true",
        "0",
        "3",
    )
    assert problems(tmp_path) == [
        ("probes", "warning"),
        ("resources", "warning"),
        ("run-as-non-root", "warning"),
    ]
    warnings = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    container_line = next(
        i
        for i, text in enumerate((ROOT / DEPLOYMENT).read_text().splitlines(), 1)
        if "- image:" in text
    )
    assert len(warnings) == 3
    assert all(f"file={DEPLOYMENT},line={container_line}," in w for w in warnings), warnings
    # each warning says how to fix it, and what it becomes in production
    assert all("an error in `production-paths`" in w for w in warnings), warnings
    assert_golden("validate-manifests/guestbook-dev-summary.md", run.summary)


def test_the_guestbook_in_a_prod_overlay_fails(tmp_path: Path) -> None:
    run = validate(ROOT, tmp_path, "--paths", f"{GUESTBOOK_REL}/overlays/prod")
    assert run.code == 1, run.log
    assert problems(tmp_path) == [
        ("probes", "error"),
        ("resources", "error"),
        ("run-as-non-root", "error"),
    ]
    assert "production-paths" not in run.summary  # the note is for warnings only


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_guestbook_on_latest_fails_everywhere(gitops: Path, tmp_path: Path, env: str) -> None:
    path = overlay(gitops, f"latest/{env}", ["latest"], 2)
    run = validate(tmp_path, tmp_path / "out", "--paths", path)
    assert run.code == 1, run.log
    assert ("image-tag", "error") in problems(tmp_path / "out")


# explicit configuration -> (exit code in dev, exit code in prod) for the plain guestbook
EXPLICIT = {
    "input makes resources an error everywhere": (["--policies", "resources=error"], None, 1, 1),
    "input turns the three findings off": (
        ["--policies", "resources=off\nprobes=off\nrun-as-non-root=off"],
        None,
        0,
        0,
    ),
    "file sets them to warnings everywhere": (
        [],
        "policies: {resources: warning, probes: warning, run-as-non-root: warning}\n",
        0,
        0,
    ),
    "file override tightens dev": (
        [],
        "overrides:\n  - paths: ['**/dev']\n    policies: {probes: error}\n",
        1,
        1,
    ),
    "production-paths input names dev": (["--production-paths", "**/dev"], None, 1, 0),
}


@pytest.mark.parametrize("case", sorted(EXPLICIT))
def test_explicit_settings_win_over_the_defaults(tmp_path: Path, case: str) -> None:
    args, policy_file, dev_code, prod_code = EXPLICIT[case]
    extra = list(args)
    if policy_file is not None:
        (tmp_path / "policy.yaml").write_text(policy_file)
        extra += ["--policy-file", str(tmp_path / "policy.yaml")]
    for env, code in (("dev", dev_code), ("prod", prod_code)):
        out = tmp_path / env
        run = validate(ROOT, out, "--paths", f"{GUESTBOOK_REL}/overlays/{env}", *extra)
        assert run.code == code, f"{env}: {run.log}"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_example_gitops_overlays_stay_clean(tmp_path: Path, env: str) -> None:
    run = validate(ROOT, tmp_path, "--paths", f"examples/gitops/overlays/{env}")
    assert run.code == 0, run.log
    assert (run.outputs["errors"], run.outputs["warnings"]) == ("0", "0")


def test_the_readme_table_states_the_defaults() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {}
    table = readme.split("| policy | default | in `production-paths` |", 1)[1]
    for line in (text.strip() for text in table.splitlines()[2:]):
        if not line.startswith("|"):
            break
        name, elsewhere, production = (cell.strip() for cell in line.split("|")[1:4])
        rows[name.strip("`")] = (elsewhere, production)
    assert rows == {n: (d.elsewhere, d.production) for n, d in DEFAULTS.items()}


def uncommented(text: str) -> str:
    """The starter file with its example block uncommented, as a team would edit it."""
    example = text.split("uncomment and edit:\n#\n", 1)[1]
    return "".join(line[2:] + "\n" for line in example.splitlines())


def test_the_starter_policy_file_changes_nothing_until_edited(tmp_path: Path) -> None:
    text = starter_policy_file()
    assert all(line.startswith("#") for line in text.splitlines())
    assert all(f"#   {name} " in text for name in DEFAULTS)
    policy = tmp_path / "policy.yaml"
    dev = f"{GUESTBOOK_REL}/overlays/dev"
    policy.write_text(text)
    run = validate(ROOT, tmp_path / "as-written", "--paths", dev, "--policy-file", str(policy))
    assert (run.code, run.outputs["warnings"]) == (0, "3"), run.log
    # its example tightens resources on every path: the dev overlay now fails on it
    policy.write_text(uncommented(text))
    run = validate(ROOT, tmp_path / "edited", "--paths", dev, "--policy-file", str(policy))
    assert run.code == 1, run.log
    assert ("resources", "error") in problems(tmp_path / "edited")


def test_the_readme_shows_the_starter_policy_file() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    indented = "".join(f"  {line}\n" for line in starter_policy_file().splitlines())
    assert f"  ```yaml\n{indented}  ```\n" in readme
