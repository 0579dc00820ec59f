"""validate-manifests: objects per second on a rendered overlay of 500 objects.

Renders a generated kustomization (a base of 125 Deployments, Services,
ConfigMaps and ServiceAccounts, plus a prod overlay) with the real kustomize,
then times the schema check alone and the whole validation (schema +
policies). Baseline: kubernetes-validate's own `validate()`, which loads the
schema files and builds a python-jsonschema validator for every object.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import kubernetes_validate

from ci_actions.manifests.policies import PolicyConfig
from ci_actions.manifests.schema import SchemaCatalog
from ci_actions.manifests.sources import load_paths
from ci_actions.manifests.validate import Options, validate

APPS = 125  # x 4 kinds = 500 objects
VERSION = (1, 33)
BASELINE_SAMPLE = 100  # the baseline is slow: time it on a slice and scale

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: app{i}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: app{i}}}}}
  template:
    metadata: {{labels: {{app: app{i}}}}}
    spec:
      serviceAccountName: app{i}
      securityContext: {{runAsNonRoot: true}}
      containers:
        - name: app
          image: registry.example.com/team/app{i}:1.0.{i}
          ports: [{{name: http, containerPort: 8080}}]
          envFrom: [{{configMapRef: {{name: app{i}}}}}]
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{memory: 256Mi}}
          livenessProbe: {{httpGet: {{path: /healthz, port: http}}}}
          readinessProbe: {{httpGet: {{path: /ready, port: http}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: app{i}}}
spec:
  selector: {{app: app{i}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: app{i}}}
data: {{LOG_LEVEL: info, APP_ID: "{i}"}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: app{i}}}
"""


def write_overlay(root: Path) -> Path:
    base, prod = root / "base", root / "overlays" / "prod"
    base.mkdir(parents=True)
    prod.mkdir(parents=True)
    files = []
    for i in range(APPS):
        (base / f"app{i}.yaml").write_text(DEPLOYMENT.format(i=i))
        files.append(f"app{i}.yaml")
    (base / "kustomization.yaml").write_text("resources:\n" + "".join(f"  - {f}\n" for f in files))
    (prod / "kustomization.yaml").write_text(
        "namespace: prod\nnamePrefix: prod-\nlabels:\n  - pairs: {team: data}\nresources:\n  - ../../base\n"
    )
    return prod


def best_of(runs: int, fn: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        overlay = write_overlay(root)
        start = time.perf_counter()
        manifests = load_paths([str(overlay)], root, root / "scratch")
        render = time.perf_counter() - start
    n = len(manifests)
    assert n == 4 * APPS, n

    def schema_only() -> None:
        catalog = SchemaCatalog(VERSION)  # schemas loaded and compiled once per run
        for m in manifests:
            assert catalog.errors(m) == [], m.ident

    options = Options(VERSION, policy=PolicyConfig(production_globs=("**/prod",)))

    def full() -> None:
        assert validate(manifests, options) == []

    def baseline() -> None:
        for m in manifests[:BASELINE_SAMPLE]:
            kubernetes_validate.validate(m.obj, "1.33", strict=True)

    def python_jsonschema_cached() -> None:
        import json

        import jsonschema
        from referencing import Registry, Resource

        directory = SchemaCatalog(VERSION).directory
        defs = json.loads((directory / "_definitions.json").read_text())
        registry = Registry().with_resource(defs["$id"], Resource.from_contents(defs))
        validators: dict[tuple[str, str], jsonschema.Draft202012Validator] = {}
        for m in manifests:
            key = (m.api_version, m.kind)
            if key not in validators:
                group = m.api_version.rpartition("/")[0].split(".")[0]
                name = f"{m.kind.lower()}-{group + '-' if group else ''}{m.api_version.rpartition('/')[2]}"
                schema = json.loads((directory / f"{name}.json").read_text())
                validators[key] = jsonschema.Draft202012Validator(schema, registry=registry)
            assert not list(validators[key].iter_errors(m.obj))

    schema_time = best_of(3, schema_only)
    cached_time = best_of(1, python_jsonschema_cached)
    full_time = best_of(3, full)
    base_time = best_of(1, baseline) * n / BASELINE_SAMPLE
    print(f"objects: {n} (rendered by kustomize in {render:.2f}s)")
    print(
        f"schema check (cold: schemas loaded and compiled in the run): {schema_time * 1000:.0f} ms, {n / schema_time:,.0f} objects/s"
    )
    print(f"schema + policies: {full_time * 1000:.0f} ms, {n / full_time:,.0f} objects/s")
    print(
        f"baseline kubernetes-validate validate() per object: {base_time * 1000:.0f} ms, {n / base_time:,.0f} objects/s"
    )
    print(
        f"python-jsonschema, one validator per kind: {cached_time * 1000:.0f} ms, {n / cached_time:,.0f} objects/s"
    )
    print(f"render + schema + policies: {(render + full_time):.2f}s end to end")
    print(f"ratio (schema check vs baseline): {base_time / schema_time:.1f}x faster")
    target = 1000
    print(f"target >= {target} objects/s: {'met' if n / schema_time >= target else 'NOT met'}")


if __name__ == "__main__":
    main()
