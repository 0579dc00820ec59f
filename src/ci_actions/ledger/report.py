"""The static HTML report: one self-contained file, no external assets.

A section per service, and in it per environment: the delivery metrics (DORA)
with a weekly chart and the version timeline; over them all, a success-rate
chart. Charts are inline SVG, rendered with Jinja2 (autoescaped: ledger text
is data, never markup).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from ci_actions.ledger import metrics
from ci_actions.ledger.queries import Stats, by_service, current
from ci_actions.ledger.reader import LedgerFile, Release
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
    window: metrics.Window | None = (
        None  # delivery metrics over this; default: 30 days to `generated`
    )


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


def _ordered(stats: Sequence[Stats]) -> list[Stats]:
    return sorted(stats, key=lambda s: (s.service, s.environment))


def _chart(stats: Sequence[Stats]) -> dict[str, Any]:
    judged = [s for s in _ordered(stats) if s.success_rate is not None]
    bars = []
    for i, item in enumerate(judged):
        rate = item.success_rate or 0.0
        bars.append(
            {
                "label": f"{item.service} in {item.environment}",
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


def _rows(ledger: LedgerFile) -> dict[str, Any]:
    """One environment of one service: its newest releases, what runs now marked."""
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
    return {
        "name": ledger.environment,
        "rows": rows,
        "more": max(0, len(newest) - ROWS_PER_SERVICE),
        "now": _now(now),
    }


def _now(release: Release | None) -> dict[str, str]:
    """What runs now, shortened as in the table (the full reference is its title)."""
    if release is None:
        return {}
    entry = release.entry
    short = _short_reference(entry.image, entry.tag, entry.digest)
    return {"short": short, "reference": entry.reference, "status": release.status}


def _services(ledgers: Sequence[LedgerFile], window: metrics.Window) -> list[dict[str, Any]]:
    """A section per service, an environment per ledger file inside it: releases and keys."""
    services = []
    for service, files in by_service(ledgers):
        environments = [
            _rows(ledger) | {"dora": dora_card(dora)}
            for ledger, dora in zip(files, metrics.per_ledger(files, window), strict=True)
        ]
        services.append({"name": service, "environments": environments})
    return services


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
        for s in _ordered(data.stats)
    ]
    template = env.from_string(resources.files(__package__).joinpath(TEMPLATE).read_text("utf-8"))
    window = data.window or metrics.parse_window("", "", data.generated)
    return template.render(
        window=dict(zip(("since", "until"), window.bounds, strict=True)),
        title=data.title,
        generated=format_time(data.generated),
        files=len(data.ledgers),
        entries=sum(len(ledger.releases) for ledger in data.ledgers),
        corrupt=data.corrupt,
        chart=_chart(data.stats),
        stats=stats_rows,
        services=_services(data.ledgers, window),
    )


# -- delivery metrics (DORA) ----------------------------------------------------
OUTCOMES = (  # stacking order, bottom up, and colours of the weekly chart
    ("healthy", "#1a7f37"),
    ("pending", "#0969da"),
    ("failed", "#cf222e"),
    ("rolled-back", "#9a6700"),
)
BAND_COLORS = {"elite": "#1a7f37", "high": "#2da44e", "medium": "#9a6700", "low": "#cf222e"}
BAND_MARKS = {"elite": "🟢", "high": "🟢", "medium": "🟡", "low": "🔴"}
WEEK_LEFT, WEEK_PLOT_W, WEEK_PLOT_H, WEEK_TOP = 40, 520, 120, 10


def dora_numbers(item: metrics.Dora) -> list[dict[str, str]]:
    """The four keys as text: name, value, band ("" when empty), detail."""
    data = item.as_json()
    freq, lead = data["deployment-frequency"], data["lead-time"]
    rate, restore = data["change-failure-rate"], data["time-to-restore"]
    per_day = freq["per-day"]
    judged, restored = rate["judged"], restore["restored"]
    keys = [
        ("Deployment frequency", "-" if per_day is None else f"{per_day:.2f}/day", freq),
        ("Lead time for changes", _duration(lead["median-seconds"]), lead),
        ("Change failure rate", _rate(rate["rate"]), rate),
        ("Time to restore", _duration(restore["median-seconds"]), restore),
    ]
    details = [
        "" if freq["count"] is None else f"{freq['count']} healthy deployment(s)",
        "" if lead["median-seconds"] is None else f"median; p90 {_duration(lead['p90-seconds'])}",
        "" if judged is None else f"{rate['failed']} of {judged} judged",
        "" if restored is None else f"median of {restored}; {restore['unrestored']} not restored",
    ]
    return [
        {"name": name, "value": value, "band": key["band"] or "", "detail": detail}
        for (name, value, key), detail in zip(keys, details, strict=True)
    ]


def weekly_chart(item: metrics.Dora) -> dict[str, Any]:
    """Stacked bars, one per week (weeks start on Monday, UTC), of the deployments made in it."""
    weeks = item.window.weeks()
    most = max([sum(item.samples.weeks.get(w, {}).values()) for w in weeks] + [1])
    step = WEEK_PLOT_W / max(len(weeks), 1)
    label_every = max(1, math.ceil(len(weeks) / 6))
    bars = []
    for i, week in enumerate(weeks):
        counts = item.samples.weeks.get(week, {})
        base: float = WEEK_TOP + WEEK_PLOT_H
        x = round(WEEK_LEFT + i * step + step * 0.15, 1)
        for outcome, color in OUTCOMES:
            n = counts.get(outcome, 0)
            if not n:
                continue
            height = round(n / most * WEEK_PLOT_H, 1)
            base = round(base - height, 1)
            bars.append(
                {
                    "x": x,
                    "y": base,
                    "w": round(step * 0.7, 1),
                    "h": height,
                    "color": color,
                    "title": f"week of {week}: {n} {outcome}",
                }
            )
    labels = [
        {"x": round(WEEK_LEFT + (i + 0.5) * step, 1), "text": week}
        for i, week in enumerate(weeks)
        if i % label_every == 0
    ]
    return {
        "bars": bars,
        "labels": labels,
        "most": most,
        "left": WEEK_LEFT,
        "top": WEEK_TOP,
        "bottom": WEEK_TOP + WEEK_PLOT_H,
        "right": WEEK_LEFT + WEEK_PLOT_W,
        "width": WEEK_LEFT + WEEK_PLOT_W + 10,
        "height": WEEK_TOP + WEEK_PLOT_H + 56,
        "legend": [
            {"x": WEEK_LEFT + i * 110, "color": color, "text": outcome}
            for i, (outcome, color) in enumerate(OUTCOMES)
        ],
    }


def dora_card(item: metrics.Dora) -> dict[str, Any]:
    return {
        "environment": item.environment,
        "service": item.service,
        "numbers": [
            dict(n, color=BAND_COLORS.get(n["band"], "#6e7781")) for n in dora_numbers(item)
        ],
        "chart": weekly_chart(item),
        "pending": item.samples.pending,
    }


def dora_summary(items: Sequence[metrics.Dora], whole: metrics.Dora) -> str:
    """The step summary's section: a table of the four keys with bands, and weekly bars."""
    since, until = whole.window.bounds
    lines = [
        "#### Delivery metrics (DORA)",
        "",
        f"Window {since} to {until} (UTC); bands from the 2023 State of DevOps report;"
        f" one bar a week, the first the week of Monday {whole.window.weeks()[0]}.",
        "",
    ]
    if not items:
        return "\n".join([*lines, "No ledger matches."]) + "\n"
    lines += [
        "| service | environment | deployment frequency | lead time | change failure rate | time to restore | pending | deployments per week |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(items, key=lambda item: (item.service, item.environment))
    for item in [*ordered, whole] if len(items) > 1 else ordered:
        cells = [_band_cell(n) for n in dora_numbers(item)]
        where = [item.service, item.environment] if item.service else ["**all**", ""]
        lines.append(
            f"| {' | '.join(where)} | {' | '.join(cells)} | {len(item.samples.pending)} | {_sparkline(item)} |"
        )
    return "\n".join(lines) + "\n"


def _band_cell(number: dict[str, str]) -> str:
    if not number["band"]:
        return "-"
    return f"{number['value']} {BAND_MARKS[number['band']]} {number['band']}"


def _sparkline(item: metrics.Dora) -> str:
    blocks = " ▁▂▃▄▅▆▇█"
    counts = [sum(item.samples.weeks.get(week, {}).values()) for week in item.window.weeks()]
    top = max([*counts, 1])
    return "`" + "".join(blocks[math.ceil(n / top * 8)] for n in counts) + "`"
