"""The four scanner adapters: command line, the exit codes that mean "it ran", report parsing.

Severity mapping onto low/medium/high/critical:
- bandit: issue_severity LOW/MEDIUM/HIGH as is; issue_confidence as confidence.
- semgrep: `metadata.severity` (low..critical) when the rule sets it, else
  INFO -> low, WARNING -> medium, ERROR -> high; `metadata.confidence`.
- safety: the CVSS v3 (else v2) base score of the advisory, FIRST's ratings;
  none -> unknown-severity.
- pip-audit: OSV results carry no severity -> unknown-severity.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ci_actions.scanners.base import ReportError, Scanner, ScanRequest, require_keys
from ci_actions.scanners.findings import Finding, cvss_severity, relative_path
from ci_actions.scanners.targets import DEFAULT_EXCLUDES

# semgrep configs that need the registry: they cannot work offline.
REGISTRY_CONFIG = re.compile(r"^(auto|(p|r|s|ruleset|tests?)/.*|https?://.*)$")
BUNDLED_RULES = Path(__file__).parent / "rules" / "python-security.yml"

_LEVELS = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high", "CRITICAL": "critical"}
_SEMGREP_LEVELS = {"INFO": "low", "WARNING": "medium", "ERROR": "high"}


def _level(value: object) -> str:
    return _LEVELS.get(str(value or "").upper(), "")


class _OneCommandLine:
    """A tool with one command line: it writes its report to a file, nothing to fall back to."""

    cli = ""
    report_on_stdout = False
    fallback: Scanner | None = None

    def cannot_run(self, code: int, stderr: str) -> str:
        return ""


class Bandit(_OneCommandLine):
    name = "bandit"
    executable = "bandit"
    ran_codes = frozenset({0, 1})  # 1 = issues found
    exit_meanings: Mapping[int, str] = MappingProxyType({})

    def command(self, exe: str, request: ScanRequest, report: Path) -> list[str]:
        """bandit on the files the gate picked (targets.py), its own `# nosec` ignored.

        The settings file is ours (an empty one) unless the workflow allows the
        repository's `.bandit`: bandit would otherwise read a `.bandit` from any
        folder it scans, `skips` included.
        """
        ini = request.work_dir / "bandit.ini"
        repo_ini = request.root / ".bandit"
        if request.repository_config and repo_ini.is_file():
            ini = repo_ini
        else:
            ini.write_text("[bandit]\n", encoding="utf-8")
        argv = [exe, "--ini", str(ini), "--ignore-nosec", "-f", "json", "-o", str(report), "-q"]
        return [*argv, "--", *request.python_files]

    def targets(self, request: ScanRequest) -> int | None:
        return len(request.python_files)

    def scanned(self, report: Any) -> int | None:
        metrics = report.get("metrics") if isinstance(report, dict) else None
        return len([k for k in metrics if k != "_totals"]) if isinstance(metrics, dict) else None

    def env(self, request: ScanRequest) -> dict[str, str]:
        return {}

    def parse(self, report: Any, request: ScanRequest) -> list[Finding]:
        data = require_keys(report, ("results", "errors"), "bandit")
        if data["errors"]:
            raise ReportError(
                "could not scan: "
                + "; ".join(f"{e.get('filename')}: {e.get('reason')}" for e in data["errors"])
                + _syntax_hint(data["errors"])
            )
        return [
            Finding(
                tool=self.name,
                rule_id=r["test_id"],
                severity=_level(r.get("issue_severity")),
                confidence=_level(r.get("issue_confidence")),
                message=r.get("issue_text", ""),
                file=relative_path(r["filename"], request.root),
                line=int(r.get("line_number") or 0),
                help_uri=r.get("more_info", ""),
                extra={"name": r.get("test_name", "")},
            )
            for r in data["results"]
        ]


class PySemgrep(_OneCommandLine):
    """semgrep's Python command line (pysemgrep: `semgrep --legacy scan`), the reference."""

    name = "semgrep"
    executable = "semgrep"
    cli = "pysemgrep"
    ran_codes = frozenset({0, 1})  # 1 = findings (--error)
    exit_meanings: Mapping[int, str] = MappingProxyType({})

    def command(self, exe: str, request: ScanRequest, report: Path) -> list[str]:
        return [exe, "--legacy", "scan", *self.options(request, report)]

    def options(self, request: ScanRequest, report: Path | None) -> list[str]:
        """`scan`'s options and targets: `nosemgrep` comments and `.semgrepignore` off.

        Without a `.semgrepignore` semgrep applies its own default one (tests/,
        build/, dist/ at any depth), so both are switched off together; the
        gate's anchored defaults are passed as root-anchored `--exclude`s when
        the root itself is scanned. No file is skipped for its size. The JSON
        report goes to `report`, or to standard output when it is None.
        semgrep's entry point looks for its own switches (`--legacy`,
        `--experimental`, `--pro`) anywhere in the command line, so a target
        that starts with `-` is passed as `./-...`.
        """
        configs = request.semgrep_configs or (BUNDLED_RULES,)
        argv = ["--metrics", "off", "--disable-version-check"]
        argv += ["--no-rewrite-rule-ids", "--strict", "--json", "--error", "--quiet"]
        argv += ["--disable-nosem", "--max-target-bytes", "0"]
        if report is not None:
            argv += ["--output", str(report)]
        if not request.repository_config:
            argv.append("--x-ignore-semgrepignore-files")
        for config in configs:
            argv += ["--config", str(config)]
        if request.semgrep_files is not None:  # picked (and excluded) by the gate already
            return [*argv, "--", *map(_not_a_switch, request.semgrep_files)]
        if any(relative_path(p, request.root) == "" for p in request.paths):
            argv += [f"--exclude=/{name}" for name in DEFAULT_EXCLUDES]
        # values from inputs in `--option=value` form: never an option of their own
        argv += [f"--exclude={pattern}" for pattern in request.exclude]
        return [*argv, "--", *map(_not_a_switch, request.paths)]

    def targets(self, request: ScanRequest) -> int | None:
        return None if request.semgrep_files is None else len(request.semgrep_files)

    def scanned(self, report: Any) -> int | None:
        paths = report.get("paths") if isinstance(report, dict) else None
        found = paths.get("scanned") if isinstance(paths, dict) else None
        return len(found) if isinstance(found, list) else None

    def env(self, request: ScanRequest) -> dict[str, str]:
        # keep semgrep's settings and logs out of the user's home and off the network
        home = request.work_dir / "semgrep-home"
        return {
            "SEMGREP_SEND_METRICS": "off",
            "SEMGREP_ENABLE_VERSION_CHECK": "0",
            "XDG_CONFIG_HOME": str(home),
        }

    def parse(self, report: Any, request: ScanRequest) -> list[Finding]:
        data = require_keys(report, ("results", "errors"), "semgrep")
        if data["errors"]:
            raise ReportError(
                "reported errors: "
                + "; ".join(str(e.get("message") or e.get("type")).strip() for e in data["errors"])
            )
        findings = []
        for r in data["results"]:
            extra = r.get("extra", {})
            meta = extra.get("metadata", {}) or {}
            severity = _level(meta.get("severity")) or _SEMGREP_LEVELS.get(
                str(extra.get("severity", "")).upper(), ""
            )
            refs = meta.get("references") or []
            findings.append(
                Finding(
                    tool=self.name,
                    rule_id=r["check_id"],
                    severity=severity,
                    confidence=_level(meta.get("confidence")),
                    message=" ".join(str(extra.get("message", "")).split()),
                    file=relative_path(r["path"], request.root),
                    line=int(r.get("start", {}).get("line") or 0),
                    help_uri=refs[0] if refs else "",
                )
            )
        return findings


# semgrep's entry point or its OCaml program saying it cannot run these arguments:
# the native program is missing, or an option is unknown to this version.
_OSEMGREP_REFUSED = re.compile(
    r"Failed to find semgrep-core[^\n]*|unknown option '?-[^\n]*|No such option:? -[^\n]*"
)


class OSemgrep(PySemgrep):
    """semgrep's OCaml command line (osemgrep: `semgrep scan --experimental`).

    The same arguments as the Python one, whose findings it matches on the
    gate's corpus (tests/scanners/test_semgrep_cli.py), without the Python
    start-up. It ignores `--output` (semgrep issue 11526), so the report is
    its standard output. When it cannot run here, the Python one does.
    """

    cli = "osemgrep"
    report_on_stdout = True
    fallback: Scanner | None = PySemgrep()

    def command(self, exe: str, request: ScanRequest, report: Path) -> list[str]:
        return [exe, "scan", "--experimental", *self.options(request, None)]

    def cannot_run(self, code: int, stderr: str) -> str:
        refused = _OSEMGREP_REFUSED.search(stderr) if code == 2 else None
        return refused.group(0).strip() if refused else ""


class Safety(_OneCommandLine):
    """`safety check --db DIR` offline, or `safety scan` with an API key."""

    name = "safety"
    executable = "safety"
    ran_codes = frozenset({0, 64})  # 64 = vulnerabilities found
    exit_meanings: Mapping[int, str] = MappingProxyType(
        {
            65: "the API key is invalid",
            66: "the service refused: too many requests",
            67: "the local database could not be loaded",
            68: "the vulnerability database could not be fetched (service unreachable?)",
            69: "the database is malformed",
        }
    )

    def command(self, exe: str, request: ScanRequest, report: Path) -> list[str]:
        reqs = [f"--file={r}" for r in request.requirements]
        if request.safety_db is not None:
            return [
                exe,
                "check",
                "--db",
                str(request.safety_db),
                *reqs,
                "--output",
                "json",
                "--save-json",
                str(report),
            ]
        return [
            exe,
            "--disable-optional-telemetry",
            "scan",
            "--target",
            str(request.root),
            "--output",
            "json",
            "--save-as",
            "json",
            str(report),
        ]

    def targets(self, request: ScanRequest) -> int | None:
        return None

    def scanned(self, report: Any) -> int | None:
        return None  # parse() refuses a run that found no package

    def env(self, request: ScanRequest) -> dict[str, str]:
        # the key reaches safety through its environment, never the command line
        return {"SAFETY_API_KEY": request.safety_api_key} if request.safety_api_key else {}

    def parse(self, report: Any, request: ScanRequest) -> list[Finding]:
        if isinstance(report, dict) and "scan_results" in report:
            return self._parse_scan(report, request)
        data = require_keys(report, ("report_meta", "vulnerabilities"), "safety")
        if not data["report_meta"].get("packages_found"):
            raise ReportError("found no packages to check in " + ", ".join(request.requirements))
        return [self._finding(v, request) for v in data["vulnerabilities"]]

    def _finding(self, v: dict[str, Any], request: ScanRequest) -> Finding:
        sev = v.get("severity") or {}
        score = next(
            (
                s["base_score"]
                for s in (sev.get("cvssv3"), sev.get("cvssv2"))
                if s and s.get("base_score") is not None
            ),
            None,
        )
        found = (v.get("analyzed_requirement") or {}).get("found") or ""
        return Finding(
            tool=self.name,
            rule_id=str(v["vulnerability_id"]),
            severity=cvss_severity(float(score)) if score is not None else "",
            kind="dependency",
            message=" ".join(str(v.get("advisory") or "").split()),
            file=relative_path(found, request.root) if found else "",
            package=v["package_name"],
            version=str(v.get("analyzed_version") or ""),
            fixed_version=", ".join(v.get("fixed_versions") or []),
            aliases=tuple(a for a in [v.get("CVE")] if a),
            help_uri=v.get("more_info_url") or "",
        )

    def _parse_scan(self, report: dict[str, Any], request: ScanRequest) -> list[Finding]:
        findings = []
        for project in report["scan_results"].get("projects", []):
            for file in project.get("files", []):
                for dep in file.get("results", {}).get("dependencies", []):
                    for spec in dep.get("specifications", []):
                        for v in spec.get("vulnerabilities", {}).get("known_vulnerabilities", []):
                            findings.append(
                                Finding(
                                    tool=self.name,
                                    rule_id=str(v.get("id")),
                                    severity="",
                                    kind="dependency",
                                    message=f"{dep.get('name')} {spec.get('raw', '')} is vulnerable",
                                    file=relative_path(file.get("location", ""), request.root),
                                    package=str(dep.get("name")),
                                    version=str(spec.get("raw", "")).partition("==")[2],
                                )
                            )
        return findings


class PipAudit(_OneCommandLine):
    name = "pip-audit"
    executable = "pip-audit"
    ran_codes = frozenset({0, 1})  # 1 = vulnerabilities found (or a failure: the report decides)
    exit_meanings: Mapping[int, str] = MappingProxyType({})

    def command(self, exe: str, request: ScanRequest, report: Path) -> list[str]:
        argv = [exe, "--strict", "--no-deps", "--disable-pip", "--vulnerability-service", "osv"]
        argv += ["--format", "json", "--output", str(report), "--progress-spinner", "off"]
        argv += ["--cache-dir", str(request.work_dir / "pip-audit-cache")]
        if request.osv_url:
            argv.append(f"--osv-url={request.osv_url}")
        return argv + [f"--requirement={r}" for r in request.requirements]

    def targets(self, request: ScanRequest) -> int | None:
        return None

    def scanned(self, report: Any) -> int | None:
        deps = report.get("dependencies") if isinstance(report, dict) else None
        return len(deps) if isinstance(deps, list) else None

    def env(self, request: ScanRequest) -> dict[str, str]:
        return {}

    def parse(self, report: Any, request: ScanRequest) -> list[Finding]:
        data = require_keys(report, ("dependencies",), "pip-audit")
        deps = data["dependencies"]
        skipped = [d for d in deps if d.get("skip_reason")]
        if skipped:
            raise ReportError(
                "could not audit: " + "; ".join(f"{d['name']}: {d['skip_reason']}" for d in skipped)
            )
        # no dependency at all is a scan of nothing: scanned() says 0 and the gate decides
        source = request.requirements[0] if len(request.requirements) == 1 else ""
        return [
            Finding(
                tool=self.name,
                rule_id=v["id"],
                severity="",
                kind="dependency",
                message=" ".join(str(v.get("description") or v["id"]).split()),
                file=source,
                package=d["name"],
                version=str(d.get("version", "")),
                fixed_version=", ".join(v.get("fix_versions") or []),
                aliases=tuple(v.get("aliases") or ()),
            )
            for d in deps
            for v in d.get("vulns", [])
        ]


def _not_a_switch(target: str) -> str:
    return f"./{target}" if target.startswith("-") else target


def _syntax_hint(errors: list[dict[str, Any]]) -> str:
    """bandit parses with the Python it runs on: say so when that is the likely cause."""
    if not any("syntax error" in str(e.get("reason", "")).lower() for e in errors):
        return ""
    running = ".".join(map(str, sys.version_info[:2]))
    return (
        f" (bandit runs on Python {running}: code written for a newer Python does not parse;"
        " run the gate with the project's Python: set it up before the gate, or set"
        " CI_ACTIONS_PYTHON to its interpreter)"
    )


SCANNERS: dict[str, Scanner] = {s.name: s for s in (Bandit(), OSemgrep(), Safety(), PipAudit())}
