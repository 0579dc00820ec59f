"""One interface for every scanner, and the one judge of whether a scanner ran.

A run counts only when the exit code is in the tool's "ran" set AND its report
exists and parses AND the tool's own error list is empty AND it printed no
traceback or error line. Anything else is a tool error (exit 3), never a pass:
each of these tools can exit 0 without having scanned. How many files a run
scanned is kept (`ToolRun.scanned`): the gate refuses a scan of nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ci_actions import proc
from ci_actions.errors import ToolNotFound
from ci_actions.fsutil import utf8_problem
from ci_actions.scanners.findings import Finding

INSTALL_HINT = (
    "install the scanners with `pip install 'ci-actions[scanners]'` (the action does this itself)"
)


class ReportError(Exception):
    """The report is missing, does not parse, or lists errors of the tool itself."""


@dataclass(frozen=True)
class ScanRequest:
    root: Path  # the workspace; findings' paths are relative to it
    work_dir: Path  # scratch space for reports
    paths: tuple[str, ...] = (".",)
    exclude: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    semgrep_configs: tuple[Path, ...] = ()
    safety_db: Path | None = None
    safety_api_key: str = ""
    osv_url: str = ""
    timeout: float = 600.0
    python_files: tuple[str, ...] = ()  # root-relative, picked by targets.python_files
    semgrep_files: tuple[str, ...] | None = (
        None  # files for semgrep instead of `paths` (diff-aware)
    )
    repository_config: bool = False  # read the repository's .bandit / .semgrepignore
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class ToolRun:
    """What one scanner produced: findings, or an error that fails the gate closed."""

    tool: str
    findings: tuple[Finding, ...] = ()
    error: str = ""
    stderr: str = ""
    command: str = ""
    seconds: float = 0.0
    version: str = ""
    scanned: int | None = None  # files (or packages) looked at; None = the tool does not say
    missing: bool = False  # the executable is not installed
    cli: str = ""  # which of the tool's command lines ran (semgrep: osemgrep or pysemgrep)
    note: str = ""  # why another command line than the first choice ran

    @property
    def ok(self) -> bool:
        return not self.error


class Scanner(Protocol):
    name: str
    executable: str
    ran_codes: frozenset[int]
    exit_meanings: Mapping[int, str]  # what the tool's own error codes say
    cli: str  # the command line's name when the tool has more than one, else ""
    report_on_stdout: bool  # the report is what the tool prints, not a file it writes
    fallback: Scanner | None  # what runs instead when this command line cannot run here

    def cannot_run(self, code: int, stderr: str) -> str:
        """Why this command line cannot run here (so `fallback` runs), else "".

        Only for a refusal before any scan (the program is missing, an option
        is unknown): every other failure is judged, and fails the gate.
        """
        ...

    def command(self, exe: str, request: ScanRequest, report: Path) -> list[str]: ...

    def parse(self, report: Any, request: ScanRequest) -> list[Finding]:
        """Findings from the parsed JSON report; ReportError when it lists tool errors."""
        ...

    def env(self, request: ScanRequest) -> dict[str, str]: ...

    def targets(self, request: ScanRequest) -> int | None:
        """How many files the tool will be given, when the gate picks them (0 = do not run)."""
        ...

    def scanned(self, report: Any) -> int | None:
        """How many files the report says were scanned, when it says."""
        ...


def search_path(environ: Mapping[str, str]) -> str:
    """PATH, then the bin folder of the interpreter we run in (the action's venv)."""
    return os.pathsep.join(
        p for p in (environ.get("PATH", ""), str(Path(sys.executable).parent)) if p
    )


def find_executable(name: str, path: str) -> str:
    found = shutil.which(name, path=path)
    if found is None:
        raise ToolNotFound(f"{name} is not installed", hint=INSTALL_HINT)
    return found


def run_scanner(scanner: Scanner, request: ScanRequest, path: str | None = None) -> ToolRun:
    """Run one scanner and judge its run; never raises for a tool failure.

    When the scanner's command line says it cannot run here (`cannot_run`),
    its fallback runs instead and is judged by the same rules; the run says
    which command line ran and why.
    """
    run, refused = _run_once(scanner, request, path)
    if refused and scanner.fallback is not None:
        other = run_scanner(scanner.fallback, request, path)
        why = f"{scanner.cli} could not run ({refused}); {other.cli} ran instead"
        return replace(other, note="; ".join(n for n in (why, other.note) if n))
    return run


def _run_once(scanner: Scanner, request: ScanRequest, path: str | None) -> tuple[ToolRun, str]:
    """(the judged run, why the command line could not run here or "")."""
    report = request.work_dir / f"{scanner.name}-report.json"
    report.unlink(missing_ok=True)  # a stale report must never read as this run's
    started = time.monotonic()
    try:
        exe = find_executable(scanner.executable, path or search_path(request.environ))
    except ToolNotFound as exc:
        return ToolRun(scanner.name, error=str(exc), missing=True), ""
    if scanner.targets(request) == 0:
        return ToolRun(scanner.name, scanned=0, command="(not run: no file to scan)"), ""
    argv = scanner.command(exe, request, report)
    ran = ToolRun(scanner.name, command=" ".join(argv), cli=scanner.cli)
    try:
        done = proc.run(
            argv,
            cwd=request.root,
            env=dict(request.environ) | scanner.env(request),
            timeout=request.timeout,
            ok_codes=None,
            stdout_file=report if scanner.report_on_stdout else None,
        )
    except proc.ProcessTimeout as exc:
        error = f"timed out after {request.timeout:g}s and was killed"
        seconds = time.monotonic() - started
        return replace(ran, error=error, stderr=exc.stderr, seconds=seconds), ""
    except ToolNotFound as exc:
        return replace(ran, error=str(exc), missing=True), ""
    ran = replace(ran, seconds=time.monotonic() - started)
    return _judge(scanner, request, report, done, ran), scanner.cannot_run(
        done.returncode, done.stderr
    )


def _judge(
    scanner: Scanner, request: ScanRequest, report: Path, done: proc.Completed, ran: ToolRun
) -> ToolRun:
    """The run as the exit code, the printed output and the report say it went."""
    stderr = done.stderr.strip() or done.stdout.strip()
    ran = replace(ran, stderr=stderr)
    if done.returncode not in scanner.ran_codes:
        error = _exit_description(done.returncode, scanner.exit_meanings)
        said = _report_errors(scanner, request, report)
        return replace(ran, error=f"{error} ({said})" if said else error)
    complaint = error_output(done.stderr + "\n" + done.stdout)
    if complaint:
        error = f"printed an error although it exited {done.returncode}: {complaint}"
        return replace(ran, error=error)
    try:
        data = _load_report(report)
        findings = parse_report(scanner, data, request, report)
    except ReportError as exc:
        return replace(ran, error=str(exc))
    return replace(ran, findings=tuple(findings), scanned=scanner.scanned(data))


def _report_errors(scanner: Scanner, request: ScanRequest, report: Path) -> str:
    """The errors a failed run's report lists, when it wrote one (else "")."""
    try:
        parse_report(scanner, _load_report(report), request, report)
    except ReportError as exc:
        return "" if "wrote no report" in str(exc) else str(exc)
    return ""


# A Python traceback, or a line whose level word says the tool failed
# (`ERROR: ...`, `[main]\tERROR\t...`, `CRITICAL ...`, `error: ...`).
_ERROR_LINE = re.compile(
    r"^(Traceback \(most recent call last\):"
    r"|(\[[^\]]*\]\s*)*\[?(\d[\d:.,\s-]*\s)?(ERROR|CRITICAL|FATAL)\b.*"
    r"|(error|fatal):\s.*)$",
    re.MULTILINE,
)


def error_output(text: str) -> str:
    """The first traceback or error line a tool printed, else ""."""
    match = _ERROR_LINE.search(text)
    return match.group(0).strip() if match else ""


def parse_report(scanner: Scanner, data: Any, request: ScanRequest, report: Path) -> list[Finding]:
    """The scanner's findings; a report without a field we need names that field."""
    try:
        return scanner.parse(data, request)
    except KeyError as exc:
        raise ReportError(
            f"wrote a report ({report.name}) without the field {exc.args[0]!r}"
        ) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ReportError(
            f"wrote a report ({report.name}) with a field of the wrong type: {exc}"
        ) from None


def _exit_description(code: int, meanings: Mapping[int, str]) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    meaning = meanings.get(code, "it did not complete its scan")
    return f"exited with code {code}: {meaning}"


def _load_report(report: Path) -> Any:
    try:
        data = report.read_bytes()
    except FileNotFoundError:
        raise ReportError("wrote no report") from None
    problem = utf8_problem(data)
    if problem:
        raise ReportError(f"wrote a report that is not UTF-8 text: {problem}")
    text = data.decode("utf-8")
    if not text.strip():
        raise ReportError("wrote an empty report")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"wrote a report that is not valid JSON (truncated?): {exc}") from None


def require_keys(report: Any, keys: Sequence[str], tool: str) -> dict[str, Any]:
    if not isinstance(report, dict) or any(k not in report for k in keys):
        raise ReportError(f"report is not a {tool} JSON report (expected keys: {', '.join(keys)})")
    return report
