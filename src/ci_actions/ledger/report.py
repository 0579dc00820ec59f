"""The static HTML report: one self-contained file, no external assets.

Version timeline per environment and a success-rate chart drawn as inline
SVG, rendered with Jinja2 (autoescaped: ledger text is data, never markup).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from ci_actions.ledger.queries import Stats, current
from ci_actions.ledger.reader import LedgerFile
from ci_actions.ledger.schema import EntryLine, format_time, scan_summary

TEMPLATE = "report.html.j2"  # beside this module, shipped as package data
ROWS_PER_SERVICE = 50
CHART_LEFT, CHART_WIDTH, BAR_STEP, CHART_TOP = 180, 400, 26, 10


@dataclass(frozen=True)
class ReportData:
    ledgers: Sequence[LedgerFile]
    stats: Sequence[Stats]
    corrupt: int
    generated: datetime
    title: str = "Release ledger"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{int(seconds)}s"


def _short_reference(image: str, tag: str, digest: str) -> str:
    """NAME:TAG@sha256:<12 hex>: the full digest is in the cell's title."""
    algorithm, _, hexdigits = digest.partition(":")
    return image + (f":{tag}" if tag else "") + (f"@{algorithm}:{hexdigits[:12]}" if digest else "")


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _bar_color(rate: float) -> str:
    if rate >= 0.9:
        return "#1a7f37"
    return "#9a6700" if rate >= 0.7 else "#cf222e"


def _chart(stats: Sequence[Stats]) -> dict[str, Any]:
    judged = [s for s in stats if s.success_rate is not None]
    bars = []
    for i, item in enumerate(judged):
        rate = item.success_rate or 0.0
        bars.append(
            {
                "label": f"{item.environment}/{item.service}",
                "y": CHART_TOP + i * BAR_STEP,
                "width": round(rate * CHART_WIDTH, 1),
                "color": _bar_color(rate),
                "text": f"{_rate(rate)} of {item.succeeded + item.failed}",
            }
        )
    bottom = CHART_TOP + len(bars) * BAR_STEP
    ticks = [
        {"x": CHART_LEFT + CHART_WIDTH * pct // 100, "label": f"{pct}%"}
        for pct in range(0, 101, 25)
    ]
    return {
        "bars": bars,
        "ticks": ticks,
        "left": CHART_LEFT,
        "top": CHART_TOP,
        "bottom": bottom,
        "width": CHART_LEFT + CHART_WIDTH + 110,
        "height": bottom + 24,
    }


def _services(ledgers: Sequence[LedgerFile]) -> list[dict[str, Any]]:
    by_env: dict[str, list[dict[str, Any]]] = {}
    for ledger in ledgers:
        now = current(ledger)
        newest = list(reversed(ledger.releases))
        rows = [
            {
                "created": r.entry.created,
                "status": r.status,
                "reference": r.entry.reference,
                "short": _short_reference(r.entry.image, r.entry.tag, r.entry.digest),
                "commit": r.entry.git_commit[:12],
                "branch": r.entry.git_branch,
                "scan": scan_cell(r.entry),
                "reason": r.reason,
                "id": r.entry.id,
                "run": r.entry.workflow_run if r.entry.workflow_run.startswith("https://") else "",
                "current": r is now,
            }
            for r in newest[:ROWS_PER_SERVICE]
        ]
        by_env.setdefault(ledger.environment, []).append(
            {"name": ledger.service, "rows": rows, "more": max(0, len(newest) - ROWS_PER_SERVICE)}
        )
    return [{"name": env, "services": by_env[env]} for env in sorted(by_env)]


def scan_cell(entry: EntryLine) -> str:
    """What the security gate decided for this release: verdict, findings by severity, new."""
    if entry.scan is None:
        return "" if entry.vulnerabilities is None else f"{entry.vulnerabilities} findings"
    summary = scan_summary(entry.scan)
    verdict = {True: "passed", False: "failed", None: ""}[summary["passed"]]
    total = sum(summary["severity"].values())
    shown = ", ".join(f"{n} {sev}" for sev, n in summary["severity"].items() if n)
    noun = "finding" if total == 1 else "findings"
    parts = [verdict, f"{total} {noun}" + (f" ({shown})" if shown else "")]
    if summary["new"] is not None:
        parts.append(f"{summary['new']} new")
    return " · ".join(p for p in parts if p)


def render_report(data: ReportData) -> str:
    import jinja2

    env = jinja2.Environment(
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    stats_rows = [
        {
            "environment": s.environment,
            "service": s.service,
            "deployments": s.deployments,
            "succeeded": s.succeeded,
            "failed": s.failed,
            "pending": s.pending,
            "rate": _rate(s.success_rate),
            "mtbf": _duration(s.mtbf_seconds),
            "last_failure": (
                f"{s.last_failure['at']} ({s.last_failure['status']})" if s.last_failure else "-"
            ),
        }
        for s in data.stats
    ]
    template = env.from_string(resources.files(__package__).joinpath(TEMPLATE).read_text("utf-8"))
    return template.render(
        title=data.title,
        generated=format_time(data.generated),
        files=len(data.ledgers),
        entries=sum(len(ledger.releases) for ledger in data.ledgers),
        corrupt=data.corrupt,
        chart=_chart(data.stats),
        stats=stats_rows,
        environments=_services(data.ledgers),
    )
