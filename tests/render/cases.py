"""Option sets the templates are rendered with in the tests: each a real shape of consumer."""

from __future__ import annotations

from ci_actions.render import DeclaredService, Environment, Options, Target
from ci_actions.services.model import ServiceEnvironment

SHA = "0123456789abcdef0123456789abcdef01234567"

CASES: dict[str, Options] = {
    # The demo: self-hosted runner, plain-http registry, local GitOps remote, no SARIF upload.
    "self-hosted-demo": Options(
        service="blocklist",
        image="blocklist",
        registry="127.0.0.1:5000",
        insecure_registry=True,
        environments=(
            Environment("dev", (Target("dev", "overlays/dev", "http://127.0.0.1:8541/health"),)),
            Environment(
                "prod",
                (Target("prod", "overlays/prod", "http://127.0.0.1:8542/health"),),
                production=True,
            ),
        ),
        gitops_repo="file:///srv/gitops.git",
        actions_repo="ci-actions/ci-actions",
        actions_ref=SHA,
        setup_python=False,
        python_versions=("3.11",),
        install_args=("pytest", "ruff"),
        lint_commands=("ruff check .",),
        scanners=("bandit", "semgrep"),
        upload_sarif=False,
        runs_on=("self-hosted", "linux"),
    ),
    # GitHub-hosted: setup-python over three versions, SARIF to code scanning,
    # a GitOps repo on GitHub, staging between dev and production, workloads probed.
    "hosted-three-stages": Options(
        service="orders",
        image="acme/orders",
        registry="ghcr.io",
        environments=(
            Environment(
                "dev",
                (Target("dev", "apps/orders/overlays/dev", "https://orders.dev.acme.test/health"),),
            ),
            Environment(
                "staging",
                (
                    Target(
                        "staging",
                        "apps/orders/overlays/staging",
                        "",
                        ("deployment/orders", "deployment/orders-worker"),
                        "orders",
                    ),
                ),
            ),
            Environment(
                "production",
                (
                    Target(
                        "production",
                        "apps/orders/overlays/production",
                        "https://orders.acme.test/health",
                        ("deployment/orders",),
                        "orders",
                    ),
                ),
                production=True,
            ),
        ),
        gitops_repo="acme/gitops",
        actions_repo="acme/ci-actions",
        actions_ref=SHA,
        actions_version="v1.4.0",
        python_versions=("3.11", "3.12", "3.13"),
        install_args=(".[test]", "ruff", "mypy"),
        lint_commands=("ruff check .", "mypy ."),
        requirements=("requirements.txt",),
        scanners=("bandit", "semgrep", "pip-audit", "safety"),
        context="services/orders",
        dockerfile="services/orders/Dockerfile",
        working_directory="services/orders",
        default_branch="trunk",
    ),
    # Tenants: production is a matrix over tenant overlays; gitflow tags; no preset quirks.
    "tenants-gitflow": Options(
        service="callbot",
        image="ecp-ai/callbot",
        registry="localhost:5000",
        insecure_registry=True,
        environments=(
            Environment(
                "dev", (Target("dev", "k8s/overlays/dev", "http://callbot.dev.svc/health"),)
            ),
            Environment(
                "prod",
                tuple(
                    Target(f"prod-{t}", f"k8s/tenants/{t}", f"https://{t}.callbot.example/health")
                    for t in ("tenant-a", "tenant-b", "tenant-c")
                ),
                production=True,
            ),
        ),
        gitops_repo="https://git.example.com/platform/gitops.git",
        actions_ref=SHA,
        preset="gitflow",
        runs_on=("self-hosted", "k8s-runner"),
        setup_python=False,
        python_versions=("3.10", "3.11"),
        monitor_cron="*/15 * * * *",
    ),
    # The smallest: one environment, no preset, defaults everywhere else.
    "minimal": Options(
        service="api",
        image="api",
        registry="registry.example.com/team",
        environments=(
            Environment(
                "prod",
                (Target("prod", "overlays/prod", "https://api.example.com/version"),),
                production=True,
            ),
        ),
        gitops_repo="team/deploy",
        actions_ref=SHA,
        preset="none",
    ),
    # A uv workspace whose Dockerfile takes no ARG VERSION (fastapi/full-stack-fastapi-template):
    # tests in backend/, uv sync, pre-commit from the root, PostgreSQL named as a TODO, a
    # service carried over, pip-audit left out with the reason, a registry with a path.
    "uv-no-version": Options(
        service="backend",
        image="backend",
        registry="127.0.0.1:5000/team",
        insecure_registry=True,
        environments=(
            Environment(
                "staging",
                (Target("staging", "overlays/staging", "", ("deployment/backend",), "app"),),
            ),
        ),
        gitops_repo="acme/gitops",
        gitops_branch="master",
        actions_repo="acme/ci-actions",
        actions_ref=SHA,
        actions_version="v0.1.0",
        context=".",
        dockerfile="backend/Dockerfile",
        working_directory="backend",
        python_versions=("3.10", "3.11", "3.12", "3.13", "3.14"),
        install_args=("pytest", "ruff", "mypy", "pre-commit"),
        install_commands=(
            "python -m pip install --quiet --disable-pip-version-check uv",
            'UV_PROJECT_ENVIRONMENT="$VIRTUAL_ENV" uv sync --locked --inexact --all-extras --all-groups',
        ),
        lint_commands=("ruff check .", "mypy ."),
        root_lint_commands=("pre-commit run --all-files --show-diff-on-failure",),
        test_services='{"redis": {"image": "redis:7", "ports": ["6379:6379"]}}',
        services_todo=("db (postgres:17)",),
        scanners=("bandit", "semgrep"),
        scanners_note="pip-audit left out: nothing to read (requirements.txt is not pinned with ==)",
        scan_python="3.14",
        version_arg=False,
    ),
    # kserve/models-web-app's own publisher carried over: multi-arch, ghcr.io with the job's
    # token, release-* branches, its metadata-action tag rules; flake8 from its lint workflow;
    # a policy file committed in the GitOps repository; a test command of its own.
    "carried-over": Options(
        service="models-web-app",
        image="kserve/models-web-app",
        registry="ghcr.io",
        environments=(
            Environment("dev", (Target("dev", "overlays/dev", "https://mwa.dev.example/health"),)),
        ),
        gitops_repo="kserve/gitops",
        actions_ref=SHA,
        default_branch="master",
        platforms="linux/ppc64le,linux/amd64,linux/arm64",
        cache_from="type=registry,ref=ghcr.io/kserve/models-web-app:buildcache",
        cache_to="type=registry,ref=ghcr.io/kserve/models-web-app:buildcache,mode=max",
        registry_token_login=True,
        release_branches=("release-*",),
        release_tags=("v*",),
        tag_rules=(
            "type=schedule",
            "type=ref,event=branch",
            "type=semver,pattern={{version}}",
            "type=raw,value=latest,enable=${{ github.ref == 'refs/heads/master' }}",
        ),
        root_lint_commands=("flake8 backend",),
        install_args=("pytest", "flake8"),
        test_command="python -m pytest -m 'not e2e'",
        policy_file="validate-manifests-policy.yaml",
    ),
    # Two services of one repository (the demo's shape): the API and the collector that
    # fills its database, built from their own folders; dev and prod each one overlay that
    # sets both images; prod rolls the collector back by hand only (auto-rollback off).
    "two-services": Options(
        service="api",
        image="api",
        registry="127.0.0.1:5000",
        insecure_registry=True,
        environments=(
            Environment("dev", (Target("dev", "overlays/dev"),)),
            Environment("prod", (Target("prod", "overlays/prod"),), production=True),
        ),
        declared_services=(
            DeclaredService(
                "api",
                "127.0.0.1:5000/api",
                "services/api",
                "services/api/Dockerfile",
                settings=(
                    ServiceEnvironment("dev", (), "http://127.0.0.1:8541/health"),
                    ServiceEnvironment("prod", (), "http://127.0.0.1:8542/health"),
                ),
            ),
            DeclaredService(
                "collector",
                "127.0.0.1:5000/collector",
                ".",
                "services/collector/Dockerfile",
                settings=(
                    ServiceEnvironment("dev", (), "http://127.0.0.1:8551/health"),
                    ServiceEnvironment(
                        "prod", (), "http://127.0.0.1:8552/health", auto_rollback=False
                    ),
                ),
            ),
        ),
        gitops_repo="file:///srv/gitops.git",
        actions_repo="ci-actions/ci-actions",
        actions_ref=SHA,
        setup_python=False,
        python_versions=("3.11",),
        scanners=("bandit", "semgrep"),
        upload_sarif=False,
        runs_on=("self-hosted", "linux"),
    ),
    # Two services deployed per tenant in production, rollback policy `all`: a failed probe
    # of one service sends every built service of that environment back. The worker's
    # Dockerfile takes no ARG VERSION (its pods must run the built image); a tenant's own
    # entry (prod-b) wins over the environment's, and turns its auto-rollback off.
    "two-services-tenants-all": Options(
        service="callbot",
        image="ecp-ai/callbot",
        registry="ghcr.io",
        environments=(
            Environment("dev", (Target("dev", "k8s/overlays/dev", namespace="bots"),)),
            Environment(
                "prod",
                tuple(
                    Target(f"prod-{t}", f"k8s/tenants/{t}", namespace=f"bots-{t}")
                    for t in ("a", "b")
                ),
                production=True,
            ),
        ),
        declared_services=(
            DeclaredService(
                "callbot",
                "ghcr.io/ecp-ai/callbot",
                "bots/callbot",
                "bots/callbot/Dockerfile",
                settings=(
                    ServiceEnvironment("dev", (), "http://callbot.dev.svc/health"),
                    ServiceEnvironment("prod", ("deployment/callbot",), ""),
                ),
            ),
            DeclaredService(
                "chat.worker",
                "ghcr.io/ecp-ai/chat-worker",
                "bots/chat",
                "bots/chat/worker.Dockerfile",
                version_arg=False,
                settings=(
                    ServiceEnvironment("dev", ("deployment/chat-worker",)),
                    ServiceEnvironment("prod", ("deployment/chat-worker",)),
                    ServiceEnvironment(
                        "prod-b", ("deployment/chat-worker-b",), auto_rollback=False
                    ),
                ),
            ),
        ),
        rollback_policy="all",
        gitops_repo="ecp-ai/gitops",
        actions_repo="acme/ci-actions",
        actions_ref=SHA,
        actions_version="v1.4.0",
        registry_token_login=True,
        python_versions=("3.12",),
    ),
}
