"""`security-gate`: run the scanners in parallel, normalise, judge, and fail closed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ci_actions.errors import EnvironmentFailure, InputError
from ci_actions.fsutil import write_atomic
from ci_actions.github.context import Context
from ci_actions.github.inputs import ActionSpec, InputSpec, OutputSpec, RawInputs
from ci_actions.result import Result

if TYPE_CHECKING:
    from ci_actions.scanners.base import ScanRequest, ToolRun
    from ci_actions.scanners.cache import ResultCache
    from ci_actions.scanners.findings import Finding
    from ci_actions.scanners.gate import Scope
    from ci_actions.scanners.policy import AllowEntry, Policy, Verdict

SCANNER_NAMES = ("bandit", "semgrep", "safety", "pip-audit")
SEVERITY_CHOICES = ("low", "medium", "high", "critical")

SPEC = ActionSpec(
    name="security-gate",
    description="Run bandit, semgrep, safety and pip-audit in parallel, ingest trivy/grype reports, and fail closed on new findings at or above a severity.",
    inputs=(
        InputSpec(
            "scanners",
            "Scanners to run (newline- or comma-separated): bandit, semgrep, safety, pip-audit.",
            "bandit\nsemgrep\npip-audit",
            kind="text",
        ),
        InputSpec(
            "paths",
            "Paths to scan with bandit and semgrep, relative to working-directory (newline-separated).",
            ".",
            kind="text",
        ),
        InputSpec(
            "exclude",
            "More paths or globs to skip (newline-separated): a bare name at any depth, else a glob over the path from working-directory. /build, /dist, /.venv and the like are always skipped at the root.",
            kind="text",
        ),
        InputSpec(
            "requirements",
            "Pinned requirements files for safety and pip-audit (newline-separated); uv.lock, poetry.lock and pyproject.toml are read as the packages they pin.",
            "requirements.txt",
            kind="text",
        ),
        InputSpec(
            "semgrep-config",
            "Local semgrep rule files or folders (newline-separated); empty = the bundled Python security ruleset. Registry configs (p/..., r/..., auto) are refused: they need the network.",
            kind="text",
        ),
        InputSpec(
            "safety-db",
            "Folder holding a local safety database (insecure.json, insecure_full.json) for `safety check --db`.",
        ),
        InputSpec(
            "safety-api-key",
            "Safety API key for `safety scan` when no safety-db is given.",
            secret=True,
        ),
        InputSpec(
            "osv-url",
            "OSV query endpoint for pip-audit (a mirror); empty = https://api.osv.dev/v1/query.",
        ),
        InputSpec(
            "image-reports",
            "trivy or grype JSON reports of the image to include (newline-separated).",
            kind="text",
        ),
        InputSpec(
            "fail-on", "Lowest severity that fails the gate: low, medium, high or critical.", "high"
        ),
        InputSpec(
            "min-confidence",
            "Findings below this confidence (bandit, semgrep) are reported but never fail: low, medium or high.",
            "low",
        ),
        InputSpec(
            "policy",
            "YAML file of per-scanner overrides: `scanners: {bandit: {fail-on: medium, min-confidence: high}}`.",
        ),
        InputSpec(
            "baseline", "File of accepted finding fingerprints: only findings not in it are new."
        ),
        InputSpec(
            "update-baseline",
            "true = write every current finding's fingerprint to the baseline file (then the gate passes unless a scanner failed).",
            "false",
        ),
        InputSpec(
            "allowlist",
            "YAML list of accepted findings: `- {id: B602, reason: ..., expires: 2026-12-31}` (id = rule, vulnerability id or fingerprint).",
            kind="text",
        ),
        InputSpec(
            "ignore-unfixed",
            "true = dependency and image findings without a fixed version never fail.",
            "false",
        ),
        InputSpec(
            "unknown-severity",
            "Severity given to a finding that has none (pip-audit, some safety and image findings).",
            "high",
        ),
        InputSpec(
            "allow-inline-suppressions",
            "true = honour `# nosec` and `# nosemgrep` comments in the scanned code (they are counted and shown either way); false = judge those findings like any other.",
            "false",
        ),
        InputSpec(
            "allow-repository-config",
            "true = let bandit read the repository's root `.bandit` and semgrep its `.semgrepignore` files; false = the scanned repository cannot configure the scanners.",
            "false",
        ),
        InputSpec(
            "allow-empty",
            "true = a scanner that found no file to scan passes; false = that is exit 2 (nothing to scan).",
            "false",
        ),
        InputSpec(
            "diff-base",
            "A commit or ref (the pull request's base): scan only the Python files changed since its merge base with HEAD and fail only on findings new relative to the base; empty = scan everything.",
        ),
        InputSpec(
            "allow-new-suppressions",
            "true = honour a `# nosec` / `# nosemgrep` comment that the change (diff-base) adds; false = the finding it covers is judged like any other.",
            "false",
        ),
        InputSpec(
            "cache-dir",
            "Folder of the result cache (results per file content, scanner version and rules): files whose key is unchanged are not scanned again. Empty = RUNNER_TOOL_CACHE/ci-actions/security-gate on self-hosted runners, no cache elsewhere; `off` = no cache.",
        ),
        InputSpec(
            "test-file-rules",
            "bandit rules not applied to test files (tests/ folders, test_*.py, *_test.py, conftest.py), newline- or comma-separated; `none` applies every rule to them.",
            "B101\nB404\nB603\nB607",
            kind="text",
        ),
        InputSpec(
            "timeout",
            "Time limit of each scanner (e.g. 10m, 90s); a scanner past it is killed and the gate fails.",
            "10m",
        ),
        InputSpec(
            "sarif-file",
            "Where to write the SARIF 2.1.0 log (one run per tool), relative to working-directory.",
            "security-gate.sarif",
        ),
        InputSpec(
            "report-file",
            "Where to write the normalised JSON report, relative to working-directory.",
            "security-gate.json",
        ),
        InputSpec(
            "working-directory", "The project to scan; paths in findings are relative to it.", "."
        ),
    ),
    outputs=(
        OutputSpec(
            "passed", "true when no new finding is at or above fail-on and every scanner ran."
        ),
        OutputSpec(
            "findings",
            "Number of findings reported by the scanners and image reports (before baseline and allowlist).",
        ),
        OutputSpec(
            "new-findings",
            "Number of findings left after the baseline, the allowlist and ignore rules.",
        ),
        OutputSpec(
            "counts",
            "JSON object {tool: {critical, high, medium, low, new, baselined, allowlisted, suppressed, ignored}}.",
        ),
        OutputSpec(
            "scan",
            'The verdict and the counts as one JSON object {"passed": bool, "counts": {...}}: release-ledger\'s `scan` input.',
        ),
        OutputSpec(
            "scanned-files",
            "JSON array of the Python files given to bandit and semgrep (the changed ones when diff-aware).",
        ),
        OutputSpec(
            "diff-aware",
            "true when only the changes since diff-base were scanned; false for a full scan (also after a fallback).",
        ),
        OutputSpec(
            "semgrep-cli",
            "The semgrep command line that ran: osemgrep (the OCaml one, `semgrep scan --experimental`) or pysemgrep (the Python one, when osemgrep cannot run); empty when semgrep did not run (not asked for, or every result came from the cache).",
        ),
        OutputSpec("sarif-file", "Path of the SARIF file written."),
        OutputSpec("report-file", "Path of the normalised JSON report written."),
    ),
    icon="shield",
    install_extra="scanners",
)


@dataclass(frozen=True)
class GateInputs:
    scanners: tuple[str, ...]
    paths: tuple[str, ...]
    exclude: tuple[str, ...]
    requirements: tuple[str, ...]
    semgrep_config: tuple[str, ...]
    safety_db: str
    safety_api_key: str
    osv_url: str
    image_reports: tuple[str, ...]
    fail_on: str
    min_confidence: str
    policy: str
    baseline: str
    update_baseline: bool
    allowlist: str
    ignore_unfixed: bool
    unknown_severity: str
    allow_inline_suppressions: bool
    allow_repository_config: bool
    allow_empty: bool
    diff_base: str
    allow_new_suppressions: bool
    cache_dir: str
    test_file_rules: tuple[str, ...]
    timeout: float
    sarif_file: str
    report_file: str
    working_directory: str


def parse_inputs(raw: RawInputs) -> GateInputs:
    from ci_actions.scanners.tools import REGISTRY_CONFIG

    configs = tuple(raw.items("semgrep-config"))
    for config in configs:
        if REGISTRY_CONFIG.match(config):
            raise InputError(
                "semgrep-config",
                f"{config!r} is a semgrep registry config; it needs the network and is refused",
                hint="give local rule files (YAML), or leave it empty for the bundled ruleset",
            )
    timeout = raw.duration("timeout")
    if timeout <= 0:
        raise InputError("timeout", "must be more than zero", hint="e.g. 10m")
    update = raw.flag("update-baseline")
    if update and not raw.text("baseline"):
        raise InputError(
            "update-baseline",
            "needs `baseline`: the file to write",
            hint="e.g. baseline: .security-baseline",
        )
    scanners = tuple(dict.fromkeys(raw.choices("scanners", SCANNER_NAMES)))
    if not scanners and not raw.items("image-reports"):
        raise InputError(
            "scanners", "nothing to scan: no scanner and no image report", hint="e.g. bandit"
        )
    return GateInputs(
        scanners=scanners,
        paths=tuple(raw.items("paths")) or (".",),
        exclude=tuple(raw.items("exclude")),
        requirements=tuple(raw.items("requirements")),
        semgrep_config=configs,
        safety_db=raw.text("safety-db"),
        safety_api_key=raw.text("safety-api-key"),
        osv_url=raw.text("osv-url"),
        image_reports=tuple(raw.items("image-reports")),
        fail_on=raw.choice("fail-on", SEVERITY_CHOICES),
        min_confidence=raw.choice("min-confidence", ("low", "medium", "high")),
        policy=raw.text("policy"),
        baseline=raw.text("baseline"),
        update_baseline=update,
        allowlist=raw.text("allowlist"),
        ignore_unfixed=raw.flag("ignore-unfixed"),
        unknown_severity=raw.choice("unknown-severity", SEVERITY_CHOICES),
        allow_inline_suppressions=raw.flag("allow-inline-suppressions"),
        allow_repository_config=raw.flag("allow-repository-config"),
        allow_empty=raw.flag("allow-empty"),
        diff_base=_diff_base(raw, update),
        allow_new_suppressions=raw.flag("allow-new-suppressions"),
        cache_dir=raw.text("cache-dir"),
        test_file_rules=_test_file_rules(raw),
        timeout=timeout,
        sarif_file=raw.text("sarif-file"),
        report_file=raw.text("report-file"),
        working_directory=raw.text("working-directory") or ".",
    )


def _diff_base(raw: RawInputs, update_baseline: bool) -> str:
    from ci_actions.grammar import rev_error

    base = raw.text("diff-base")
    if not base:
        return ""
    if update_baseline:
        raise InputError(
            "diff-base",
            "a diff-aware scan cannot update the baseline: it sees only the changed files",
            hint="drop diff-base (or update-baseline) in the job that writes the baseline",
        )
    error = rev_error(base)
    if error:
        raise InputError(
            "diff-base",
            f"{base!r} {error}",
            hint="give a commit SHA or a ref, e.g. the pull request's base.sha",
        )
    return base


def _test_file_rules(raw: RawInputs) -> tuple[str, ...]:
    rules = tuple(raw.items("test-file-rules", commas=True))
    if [r.lower() for r in rules] == ["none"]:
        return ()
    for rule in rules:
        if not rule.replace("_", "").isalnum():
            raise InputError(
                "test-file-rules", f"{rule!r} is not a rule id", hint="e.g. B101, or none"
            )
    return rules


def run(inputs: GateInputs, ctx: Context) -> Result:
    root = (ctx.cwd / inputs.working_directory).resolve()
    if not root.is_dir():
        raise InputError("working-directory", f"{root} is not a folder")
    request = _request(inputs, root, ctx)
    try:
        return _gate(inputs, request, ctx)
    finally:
        import shutil

        shutil.rmtree(request.work_dir, ignore_errors=True)


@dataclass(frozen=True)
class _Config:
    """The files the gate judges by: policy, allowlist, baseline, image reports."""

    policy: Policy
    allowlist: list[AllowEntry]
    baseline: set[str]
    image_tools: list[str]
    image_findings: list[Finding]


def _configuration(inputs: GateInputs, root: Path) -> _Config:
    from ci_actions.scanners import images, policy

    image_tools: list[str] = []
    image_findings: list[Finding] = []
    for report in inputs.image_reports:
        tool, found = images.load_image_report(root / report, report)
        image_tools.append(tool)
        image_findings += found
    image_tools = list(dict.fromkeys(image_tools))
    thresholds = policy.Thresholds(
        inputs.fail_on, inputs.min_confidence, inputs.ignore_unfixed, inputs.unknown_severity
    )
    gate_policy = policy.Policy(thresholds)
    if inputs.policy:
        text = policy.load_file(root / inputs.policy, inputs.policy, "policy file")
        gate_policy = policy.load_policy(
            text, inputs.policy, thresholds, [*inputs.scanners, *image_tools]
        )
    allowlist = []
    if inputs.allowlist:
        text = policy.load_file(root / inputs.allowlist, inputs.allowlist, "allowlist")
        allowlist = policy.load_allowlist(text, inputs.allowlist)
    baseline: set[str] = set()
    if inputs.baseline and not inputs.update_baseline:
        text = policy.load_file(root / inputs.baseline, inputs.baseline, "baseline")
        baseline = policy.read_baseline(text)
    return _Config(gate_policy, allowlist, baseline, image_tools, image_findings)


CODE_SCANNERS = ("bandit", "semgrep")
DEPENDENCY_SCANNERS = ("safety", "pip-audit")


@dataclass(frozen=True)
class _Plan:
    """A diff-aware scan: the merge base and what changed since."""

    base: str  # the merge base's SHA
    code_files: tuple[str, ...]  # changed Python files the gate would scan
    deps_changed: bool  # a `requirements` file changed

    @property
    def nothing(self) -> bool:
        return not self.code_files and not self.deps_changed


@dataclass(frozen=True)
class _Scanned:
    runs: list[ToolRun]  # the runs that are judged
    findings: list[Finding]  # theirs, normalised (_normalise)
    in_tests: int  # findings left out by test-file-rules
    base_prints: set[str]  # fingerprints the base already has (diff-aware only)
    not_run: tuple[str, ...] = ()  # dependency scanners a diff-aware run had no need of


def _plan(inputs: GateInputs, request: ScanRequest, ctx: Context) -> tuple[_Plan | None, str]:
    """(the diff-aware plan, or None and why not) for a gate with diff-base."""
    from pathlib import PurePosixPath

    from ci_actions.scanners.diffscope import DiffUnavailable, changes

    if not inputs.diff_base:
        return None, ""
    try:
        changed = changes(request.root, inputs.diff_base)
    except DiffUnavailable as exc:
        ctx.log.warning(f"diff-base: {exc}; scanning every file instead")
        return None, str(exc)
    code = tuple(f for f in request.python_files if f in changed.files)
    deps = any(PurePosixPath(r).as_posix() in changed.files for r in inputs.requirements)
    ctx.log.info(
        f"diff-aware scan against {changed.base[:12]} ({inputs.diff_base}):"
        f" {len(code)} changed Python file(s), requirements {'changed' if deps else 'unchanged'}"
    )
    return _Plan(changed.base, code, deps), ""


def _gate(inputs: GateInputs, request: ScanRequest, ctx: Context) -> Result:
    from ci_actions.scanners import gate, policy
    from ci_actions.scanners.summary import render_summary
    from ci_actions.scanners.targets import anchored_excludes

    root = request.root
    for name, value in (("sarif-file", inputs.sarif_file), ("report-file", inputs.report_file)):
        if value and (root / value).is_dir():  # found before scanning, not when writing
            raise InputError(name, f"{root / value} is a directory", hint="name a file")
    config = _configuration(inputs, root)  # bad files are exit 2 before anything runs
    plan, fallback = _plan(inputs, request, ctx)
    cache = _cache(inputs, ctx)
    if cache is not None and plan is None:  # per-file results: semgrep gets the gate's files
        request = replace(request, semgrep_files=request.python_files)
    scanned = _scan(inputs, request, plan, config, ctx, cache)
    if cache is not None:
        cache.save()
        ctx.log.info(f"result cache {cache.folder}: {cache.hits} hit(s), {cache.misses} miss(es)")
    runs = scanned.runs
    if not inputs.allow_empty:
        _refuse_empty_scans(runs, inputs)
    findings = scanned.findings + _images(config, root)
    findings.sort(key=_order)
    broken = [r for r in runs if not r.ok]
    baseline = config.baseline | scanned.base_prints
    if inputs.update_baseline and not broken:
        if write_atomic(root / inputs.baseline, policy.render_baseline(findings)):
            ctx.log.info(f"wrote {len(findings)} fingerprint(s) to {inputs.baseline}")
        baseline = {f.fingerprint for f in findings}
    added_inline: set[str] = set()
    if plan is not None and not inputs.allow_new_suppressions:
        added_inline = {f.fingerprint for f in findings if f.inline} - scanned.base_prints
    verdict = policy.judge(
        findings,
        config.policy,
        baseline,
        config.allowlist,
        ctx.now().date(),
        honour_inline=inputs.allow_inline_suppressions,
        added_inline=added_inline,
    )
    passed = verdict.passed and not broken
    table = gate.counts(verdict, [*inputs.scanners, *config.image_tools])
    ran = [r.tool for r in runs if r.ok] + config.image_tools
    files = plan.code_files if plan is not None else request.python_files
    scope = gate.Scope(
        excluded=(*anchored_excludes(), *inputs.exclude),
        test_file_rules=inputs.test_file_rules,
        skipped_in_tests=scanned.in_tests,
        inline_honoured=inputs.allow_inline_suppressions,
        repository_config=inputs.allow_repository_config,
        diff_base=plan.base if plan is not None else "",
        scanned_files=files,
        fallback=fallback,
        not_run=scanned.not_run,
    )
    outputs, cut = _write_reports(inputs, root, verdict, runs, ran, passed, scope)
    outputs |= {
        "passed": passed,
        "findings": len(findings),
        "new-findings": len(verdict.with_status("new")),
        "counts": table,
        "scan": {"passed": passed, "counts": table},
        "scanned-files": list(files),
        "diff-aware": plan is not None,
        "semgrep-cli": next((r.cli for r in runs if r.tool == "semgrep"), ""),
    }
    summary = render_summary(verdict, runs, table, cut, scope)
    for entry in verdict.expired:
        ctx.log.warning(
            f"allowlist entry {entry.id} expired on {entry.expires}; it no longer suppresses anything"
        )
    if broken:
        ctx.log.write_summary(summary)  # with each broken tool's stderr
        missing = [r.tool for r in broken if r.missing]
        if missing:
            raise EnvironmentFailure(
                f"security-gate needs the 'scanners' extra, which is not installed"
                f" ({', '.join(missing)} not found): pip install 'ci-actions[scanners]'",
                outputs=outputs,
            )
        names = ", ".join(f"{r.tool} ({r.error})" for r in broken)
        raise EnvironmentFailure(f"scanner error, the gate cannot pass: {names}", outputs=outputs)
    failing = sum(j.failing for j in verdict.judged)
    if plan is not None and plan.nothing and passed:
        message = f"security gate passed: nothing changed to scan since {plan.base[:12]}"
    elif passed:
        message = (
            f"security gate passed: {len(findings)} finding(s), {outputs['new-findings']} new,"
            " none at or above the threshold"
        )
    else:
        message = f"security gate failed: {failing} new finding(s) at or above the threshold"
    return Result(
        outputs=outputs,
        ok=passed,
        summary=summary,
        annotations=gate.failing_annotations(verdict),
        message=message,
    )


def _cache(inputs: GateInputs, ctx: Context) -> ResultCache | None:
    """The result cache: `cache-dir`, else the tool cache on a self-hosted runner, else none."""
    from ci_actions.scanners.cache import ResultCache

    folder = inputs.cache_dir
    if folder.lower() == "off":
        return None
    if not folder:
        tool_cache = ctx.environ.get("RUNNER_TOOL_CACHE", "")
        if ctx.environ.get("RUNNER_ENVIRONMENT") != "self-hosted" or not tool_cache:
            return None
        folder = str(Path(tool_cache) / "ci-actions" / "security-gate")
    cache = ResultCache((ctx.cwd / folder).resolve(), ctx.log.warning, ctx.now().date())
    return cache if cache.usable() else None


def _order(f: Finding) -> tuple[str, str, int, str, str, str]:
    from ci_actions.scanners.findings import sort_key

    return sort_key(f)


def _images(config: _Config, root: Path) -> list[Finding]:
    from ci_actions.scanners import policy
    from ci_actions.scanners.findings import fingerprint_all

    return fingerprint_all(policy.rated(config.image_findings, config.policy), root)


def _normalise(
    runs: list[ToolRun],
    request: ScanRequest,
    names: tuple[str, ...],
    inputs: GateInputs,
    config: _Config,
) -> tuple[list[Finding], int]:
    """(findings, how many test-file-rules left out): one rule for the head and the base.

    `names` are the requirements files as the workflow named them, in the order of
    `request.requirements` (which may be lock files converted to pinned lists).
    """
    from ci_actions.scanners import gate, policy
    from ci_actions.scanners.findings import fingerprint_all
    from ci_actions.scanners.suppressions import mark_inline

    root = request.root
    findings = [f for r in runs for f in r.findings]
    sources = dict(zip(request.requirements, names, strict=True))
    findings = [replace(f, file=sources.get(f.file, f.file)) for f in findings]
    findings, in_tests = gate.drop_test_file_rules(findings, inputs.test_file_rules)
    findings = gate.locate_dependencies(findings, root, names)
    findings = fingerprint_all(policy.rated(findings, config.policy), root)
    return mark_inline(findings, root), len(in_tests)


def _scan(
    inputs: GateInputs,
    request: ScanRequest,
    plan: _Plan | None,
    config: _Config,
    ctx: Context,
    cache: ResultCache | None,
) -> _Scanned:
    """Run the scanners: every one on everything, or (diff-aware) on the change and the base."""
    from ci_actions.scanners import gate

    names = inputs.requirements if request.requirements else ()
    if plan is None:
        ctx.log.info(
            f"running {', '.join(inputs.scanners) or 'no scanner'} in parallel"
            f" (time limit {inputs.timeout:g}s each)"
        )
        runs = gate.run_scanners(inputs.scanners, request, cache)
        _log_runs(runs, ctx)
        return _Scanned(runs, *_normalise(runs, request, names, inputs, config), set())
    if plan.nothing:
        ctx.log.info("nothing changed to scan: no Python file and no requirements file changed")
        return _Scanned([], [], 0, set())
    code = [s for s in inputs.scanners if s in CODE_SCANNERS and plan.code_files]
    deps = [s for s in inputs.scanners if s in DEPENDENCY_SCANNERS]
    head = replace(request, python_files=plan.code_files, semgrep_files=plan.code_files)
    reused, not_run = _unchanged_dependencies(deps, head, plan, cache)
    if not plan.deps_changed:
        deps = []
        if not_run:
            ctx.log.info(
                f"not running {', '.join(not_run)}: no requirements file changed since the base"
                " (none of their findings could be new) and the cache has no result to reuse"
            )
    base, base_names = _base_request(inputs, request, plan)
    jobs = [(s, head) for s in [*code, *deps]]
    base_jobs = [(s, base) for s in code if base.python_files]
    if plan.deps_changed:
        base_jobs += [(s, base) for s in deps if base.requirements]
    ctx.log.info(
        f"running {', '.join(s for s, _ in jobs) or 'nothing'} on the change and"
        f" {', '.join(s for s, _ in base_jobs) or 'nothing'} on the base, in parallel"
        f" (time limit {inputs.timeout:g}s each)"
    )
    every = gate.run_jobs(jobs + base_jobs, cache)
    runs, base_runs = every[: len(jobs)] + reused, every[len(jobs) :]
    _log_runs(runs, ctx)
    for r in base_runs:
        if r.note:
            ctx.log.warning(f"{r.tool} on the base: {r.note}")
        if not r.ok:
            ctx.log.warning(
                f"{r.tool} could not scan the base ({r.error}): its findings all count as new"
            )
    found, in_tests = _normalise(runs, head, names, inputs, config)
    ok_base = [r for r in base_runs if r.ok]
    prints = {f.fingerprint for f in _normalise(ok_base, base, base_names, inputs, config)[0]}
    if not plan.deps_changed:  # the base pins the same packages: the same findings
        prints |= {f.fingerprint for f in found if f.tool in DEPENDENCY_SCANNERS}
    return _Scanned(runs, found, in_tests, prints, not_run)


def _unchanged_dependencies(
    deps: list[str], head: ScanRequest, plan: _Plan, cache: ResultCache | None
) -> tuple[list[ToolRun], tuple[str, ...]]:
    """(the cached runs reused, the scanners not run) for dependency scanners on a change that
    touches no requirements file: their findings are the base's, so none could be new."""
    from ci_actions.scanners.cache import cached_run
    from ci_actions.scanners.tools import SCANNERS

    if plan.deps_changed:
        return [], ()
    reused = [r for r in (cached_run(SCANNERS[s], head, cache) for s in deps) if r is not None]
    done = {r.tool for r in reused}
    return reused, tuple(s for s in deps if s not in done)


def _base_request(
    inputs: GateInputs, request: ScanRequest, plan: _Plan
) -> tuple[ScanRequest, tuple[str, ...]]:
    """The base's version of the changed files (and requirements) in a folder of their own,
    and the names of the requirements files the base had."""
    from ci_actions.scanners.diffscope import base_snapshot

    tree = request.work_dir / "base-tree"
    work = request.work_dir / "base-work"
    work.mkdir(parents=True, exist_ok=True)
    tree.mkdir(parents=True, exist_ok=True)
    code = tuple(base_snapshot(request.root, plan.base, list(plan.code_files), tree))
    had: tuple[str, ...] = ()
    reqs: tuple[str, ...] = ()
    if plan.deps_changed and set(DEPENDENCY_SCANNERS) & set(inputs.scanners):
        had = tuple(base_snapshot(request.root, plan.base, list(inputs.requirements), tree))
        reqs = _requirement_files(had, tree, work)
    if request.repository_config and (request.root / ".bandit").is_file():
        (tree / ".bandit").write_bytes((request.root / ".bandit").read_bytes())  # same settings
    base = replace(
        request, root=tree, work_dir=work, python_files=code, semgrep_files=code, requirements=reqs
    )
    return base, had


def _refuse_empty_scans(runs: list[ToolRun], inputs: GateInputs) -> None:
    """A scanner that was asked for and looked at nothing is not a clean run (exit 2)."""
    for r in runs:
        if not (r.ok and r.scanned == 0):
            continue
        deps = r.tool in ("safety", "pip-audit")
        where = ", ".join(inputs.requirements if deps else inputs.paths)
        what = "no pinned dependency" if deps else "no file to scan"
        raise InputError(
            "requirements" if deps else "paths",
            f"nothing to scan: {r.tool} found {what} in {where}"
            f" (under {inputs.working_directory}{'' if deps else ', after the excludes'})",
            hint="point it at the code, drop the scanner, or set allow-empty: true",
            outputs={"passed": False},
        )


def _log_runs(runs: list[ToolRun], ctx: Context) -> None:
    for r in runs:
        if r.note:
            ctx.log.warning(f"{r.tool}: {r.note}")
        done = f"{len(r.findings)} finding(s) in {r.seconds:.1f}s" if r.ok else f"FAILED: {r.error}"
        ctx.log.info(f"{r.tool}: {done}")
        if r.stderr:
            with ctx.log.group(f"{r.tool} output"):
                ctx.log.info(r.stderr)


def _write_reports(
    inputs: GateInputs,
    root: Path,
    verdict: Verdict,
    runs: list[ToolRun],
    ran: list[str],
    passed: bool,
    scope: Scope,
) -> tuple[dict[str, object], dict[str, int]]:
    """Write the SARIF and JSON reports; ({sarif-file, report-file}, SARIF results cut)."""
    from ci_actions.scanners.gate import report_json
    from ci_actions.scanners.sarif import build_sarif

    sarif, cut = build_sarif(verdict.judged, ran)
    outputs: dict[str, object] = {"sarif-file": "", "report-file": ""}
    for name in (inputs.sarif_file, inputs.report_file):
        if name:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
    if inputs.sarif_file:
        write_atomic(root / inputs.sarif_file, json.dumps(sarif, indent=2) + "\n")
        outputs["sarif-file"] = str(root / inputs.sarif_file)
    if inputs.report_file:
        report = report_json(verdict, runs, passed, scope)
        write_atomic(root / inputs.report_file, json.dumps(report, indent=2) + "\n")
        outputs["report-file"] = str(root / inputs.report_file)
    return outputs, cut


def _require_in(
    root: Path, name: str, given: Sequence[str], hint: str, *, files_only: bool = False
) -> None:
    """Each of `given` (an input's items, relative to root) is there: a file, or anything."""
    for item in given:
        path = root / item
        if not (path.is_file() if files_only else path.exists()):
            raise InputError(name, f"{item} does not exist in {root}", hint=hint)


def _request(inputs: GateInputs, root: Path, ctx: Context) -> ScanRequest:
    from ci_actions.scanners.base import ScanRequest, search_path
    from ci_actions.scanners.targets import python_files
    from ci_actions.scanners.tools import BUNDLED_RULES

    _require_in(root, "paths", inputs.paths, "paths are relative to working-directory")
    deps = {"safety", "pip-audit"} & set(inputs.scanners)
    if deps:
        if not inputs.requirements:
            raise InputError(
                "requirements", f"{' and '.join(sorted(deps))} need a requirements file"
            )
        hint = "or drop safety/pip-audit from scanners"
        _require_in(root, "requirements", inputs.requirements, hint, files_only=True)
    configs = []
    for config in inputs.semgrep_config:
        path = root / config
        if not path.exists():
            raise InputError("semgrep-config", f"{config} does not exist in {root}")
        configs.append(path)
    safety_db = None
    if "safety" in inputs.scanners:
        if inputs.safety_db:
            safety_db = root / inputs.safety_db
        elif not inputs.safety_api_key:
            raise EnvironmentFailure(
                "safety has neither a database nor an API key: it cannot check anything",
                hint="set safety-db to a local database folder or safety-api-key, or drop safety from scanners",
            )
    work = ctx.temp_dir() / f"security-gate-{ctx.rng.getrandbits(40):010x}"
    work.mkdir(parents=True, exist_ok=True)
    requirements = _requirement_files(inputs.requirements, root, work) if deps else ()
    environ = dict(ctx.environ) | {"PATH": search_path(ctx.environ)}
    if "semgrep" in inputs.scanners and not configs and not BUNDLED_RULES.is_file():
        raise EnvironmentFailure(f"the bundled semgrep ruleset is missing: {BUNDLED_RULES}")
    return ScanRequest(
        root=root,
        work_dir=work,
        paths=inputs.paths,
        exclude=inputs.exclude,
        requirements=requirements,
        semgrep_configs=tuple(configs),
        safety_db=safety_db,
        safety_api_key=inputs.safety_api_key,
        osv_url=inputs.osv_url,
        timeout=inputs.timeout,
        python_files=tuple(python_files(root, inputs.paths, inputs.exclude))
        if set(CODE_SCANNERS) & set(inputs.scanners)
        else (),
        repository_config=inputs.allow_repository_config,
        environ=environ,
    )


def _requirement_files(names: tuple[str, ...], root: Path, work: Path) -> tuple[str, ...]:
    """The requirements files the scanners read: lock files become pinned lists in `work`."""
    from ci_actions.scanners import lockfiles

    files = []
    for n, name in enumerate(names):
        if not lockfiles.is_lock_file(name):
            files.append(name)
            continue
        try:
            lines = lockfiles.requirements_lines(root / name)
        except lockfiles.LockError as exc:
            raise InputError("requirements", str(exc)) from None
        converted = work / f"requirements-{n}-{Path(name).name}.txt"
        converted.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(converted))
    return tuple(files)
