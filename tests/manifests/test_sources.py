"""Reading `paths`: real `kubectl kustomize` rendering, tracing objects to their files, bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ci_actions.errors import ConfigError, InputError, ToolNotFound
from ci_actions.manifests.model import Manifest
from ci_actions.manifests.sources import load_paths
from tests.manifests.support import FIXTURES, ROOT
from tests.support.tools import needs

pytestmark = needs("kubectl")


def line_of(file: Path, text: str) -> int:
    return next(i for i, line in enumerate(file.read_text().splitlines(), 1) if text in line)


def load(*paths: str, cwd: Path = ROOT, scratch: Path) -> dict[str, Manifest]:
    return {m.ident: m for m in load_paths(paths, cwd, scratch)}


def test_overlay_objects_are_traced_to_the_base_files(tmp_path: Path) -> None:
    objects = load("tests/fixtures/manifests/overlays/prod", scratch=tmp_path)
    assert set(objects) == {
        "Deployment collector-prod/prod-collector",
        "Service collector-prod/prod-collector",
        "Backup collector-prod/prod-collector-db",
    }
    deployment = objects["Deployment collector-prod/prod-collector"]
    base = FIXTURES / "base" / "deployment.yaml"
    assert deployment.source.file == "tests/fixtures/manifests/base/deployment.yaml"
    assert deployment.source.line == line_of(base, "apiVersion: apps/v1")
    assert deployment.obj["spec"]["replicas"] == 3  # the overlay's replicas, rendered
    # the origin annotation used for tracing is not left on the object
    assert "annotations" not in deployment.obj["metadata"]
    # a field path is located at its line in the source file
    path = ("spec", "template", "spec", "containers", 0, "image")
    assert deployment.source.line_of(path) == line_of(base, "image: registry.example.com")
    backup = objects["Backup collector-prod/prod-collector-db"]
    assert backup.source.file == "tests/fixtures/manifests/overlays/prod/backup.yaml"
    assert backup.origin == "tests/fixtures/manifests/overlays/prod"


def test_generated_objects_point_at_their_generator(tmp_path: Path) -> None:
    objects = load("tests/fixtures/manifests/overlays/dev", scratch=tmp_path)
    (config_map,) = [m for m in objects.values() if m.kind == "ConfigMap"]
    kustomization = FIXTURES / "overlays" / "dev" / "kustomization.yaml"
    assert config_map.source.file == "tests/fixtures/manifests/overlays/dev/kustomization.yaml"
    assert config_map.source.line == line_of(kustomization, "configMapGenerator:")


def test_several_documents_of_one_file_are_told_apart(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text("namePrefix: x-\nresources: [services.yaml]\n")
    (base / "services.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: one}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: two}\n"
    )
    objects = load("base", cwd=tmp_path, scratch=tmp_path / "scratch")
    assert objects["Service x-one"].source.line == 1
    assert objects["Service x-two"].source.line == 5


def test_plain_files_and_directories(tmp_path: Path) -> None:
    objects = load("tests/fixtures/manifests/crds", scratch=tmp_path)
    (crd,) = objects.values()
    assert crd.kind == "CustomResourceDefinition"
    assert crd.source.file == "tests/fixtures/manifests/crds/backup.yaml"
    assert crd.source.line == 1


def test_a_path_that_does_not_exist_names_the_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"input 'paths': nope/ does not exist"):
        load("nope/", cwd=tmp_path, scratch=tmp_path)


def test_yaml_that_does_not_parse_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: [a\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+: YAML does not parse") as caught:
        load("bad.yaml", cwd=tmp_path, scratch=tmp_path)
    assert caught.value.exit_code == 2


def test_a_document_that_is_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("---\n- a\n- b\n")
    with pytest.raises(ConfigError, match=r"list\.yaml:2: a manifest must be a mapping"):
        load("list.yaml", cwd=tmp_path, scratch=tmp_path)


def test_a_kustomization_that_fails_to_build_gives_kustomizes_message(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    with pytest.raises(ConfigError, match=r"missing\.yaml") as caught:
        load("overlay", cwd=tmp_path, scratch=tmp_path / "scratch")
    assert caught.value.exit_code == 2
    assert "kustomize-origin" not in str(caught.value)  # the user's paths, not our wrapper's


def test_no_kustomize_and_no_kubectl_is_an_environment_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ToolNotFound, match="kustomize") as caught:
        load("tests/fixtures/manifests/overlays/dev", scratch=tmp_path)
    assert caught.value.exit_code == 3
    assert "kubectl" in caught.value.hint


def test_kustomize_is_preferred_when_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A `kustomize` on PATH that records its arguments and defers to kubectl's.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    script = bin_dir / "kustomize"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> {log}\nshift\nexec {shutil.which("kubectl")} kustomize "$@"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    objects = load("tests/fixtures/manifests/overlays/dev", scratch=tmp_path / "scratch")
    assert len(objects) == 3
    assert log.read_text().startswith("build ")


@pytest.mark.parametrize("entry", ["chart", "chart/templates", "chart/templates/job.yaml", "."])
def test_a_helm_chart_says_to_render_it_first(tmp_path: Path, entry: str) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 0.1.0\n")
    (chart / "templates" / "job.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n"
    )
    with pytest.raises(InputError, match=r"is a Helm chart \(chart/Chart.yaml\)") as caught:
        load_paths([entry], tmp_path, tmp_path / "scratch")
    assert "helm template RELEASE chart > rendered.yaml" in str(caught.value)


def test_a_job_with_only_generate_name_is_named_by_it(tmp_path: Path) -> None:
    (tmp_path / "job.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n"
        "  namespace: shop\nspec: {}\n"
    )
    objects = load("job.yaml", cwd=tmp_path, scratch=tmp_path / "scratch")
    assert list(objects) == ["Job shop/migrate-*"]
