"""No value of a Secret's data or stringData is ever printed: only its key and <redacted>."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_actions.manifests.model import Manifest, Source, problem
from tests.support.cli import invoke
from tests.support.tools import needs

NUMBER = 98765432123
NESTED = "s3cr3t-nested-value"
IN_POLICY = "hunter2-policy-secret"
SHORT = "ab"

SCHEMA_SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: broken
  labels: {{app.kubernetes.io/name: api}}
data:
  token: {NUMBER}
stringData:
  nested: {{inner: "{NESTED}"}}
  short: [{SHORT}]
"""
POLICY_SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: unlabelled
stringData:
  password: "{IN_POLICY}"
"""


@needs("kubectl")
def test_secret_values_appear_nowhere(tmp_path: Path) -> None:
    (tmp_path / "schema.yaml").write_text(SCHEMA_SECRET)
    (tmp_path / "policy.yaml").write_text(POLICY_SECRET)
    report = tmp_path / "report.json"
    run = invoke(
        tmp_path / "run",
        "validate-manifests",
        [
            "--paths",
            "schema.yaml\npolicy.yaml",
            "--required-labels",
            "app.kubernetes.io/name",
            "--report-file",
            str(report),
        ],
        cwd=tmp_path,
    )
    assert run.code == 1, run.log
    problems = json.loads(report.read_text())["problems"]
    found = {(p["object"], p["check"], p["field"]) for p in problems}
    assert {
        ("Secret broken", "schema", "data.token"),
        ("Secret broken", "schema", "stringData.nested"),
        ("Secret broken", "schema", "stringData.short"),
        ("Secret unlabelled", "required-labels", "metadata"),
    } <= found, problems
    schema_messages = [p["message"] for p in problems if p["check"] == "schema"]
    assert all(m.startswith("<redacted> ") for m in schema_messages), schema_messages
    everything = "\n".join(
        [run.stdout, run.stderr, run.summary, json.dumps(run.outputs), report.read_text()]
    )
    for value in (str(NUMBER), NESTED, IN_POLICY, f'["{SHORT}"]'):
        assert value not in everything
    assert "(at data.token)" in run.stdout  # the key is still named


SECRET = Manifest(
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"k": "c2VjcmV0LXZhbHVl"},
        "stringData": {"q": 'quote"and\\back', "n": 7},
    },
    Source("s.yaml"),
    "s.yaml",
)


@pytest.mark.parametrize(
    "message",
    [
        'rejected by the server: data[k]: Invalid value: "c2VjcmV0LXZhbHVl"',
        "Invalid value: 'c2VjcmV0LXZhbHVl' (bad)",
        'stringData.q: "quote\\"and\\\\back" is odd',  # as JSON escapes it
        "stringData.q: 'quote\"and\\\\back' is odd",  # as Python's repr does
        'whole object {"k":"c2VjcmV0LXZhbHVl"} printed',
    ],
)
def test_every_problem_of_a_secret_is_redacted(message: str) -> None:
    """Through problem(): schema errors, policies and the server's dry-run answers alike."""
    text = problem(SECRET, "dry-run", "error", message).message
    assert "c2VjcmV0LXZhbHVl" not in text and "quote" not in text, text
    assert "<redacted>" in text


def test_short_values_go_only_where_the_problem_is() -> None:
    at_value = problem(SECRET, "schema", "error", "7 is not of type string", ("stringData", "n"))
    assert at_value.message == "<redacted> is not of type string"
    elsewhere = problem(SECRET, "schema", "error", "needs 7 replicas", ("spec",))
    assert elsewhere.message == "needs 7 replicas"  # not a value of data: left alone
    config_map = Manifest({**SECRET.obj, "kind": "ConfigMap"}, SECRET.source, "x")
    assert "c2VjcmV0LXZhbHVl" in problem(config_map, "x", "error", "c2VjcmV0LXZhbHVl").message
