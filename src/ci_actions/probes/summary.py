"""The Markdown summary of a probe, from its report."""

from __future__ import annotations

from typing import Any

from ci_actions.probes.diagnose import Diagnostics, markdown


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0f} ms"


def render(report: dict[str, Any], diagnostics: list[Diagnostics]) -> str:
    healthy = report.get("healthy")
    title = "healthy" if healthy else f"unhealthy ({report.get('failure', '')})"
    lines = [f"### Health probe: {title}", ""]
    for reason in report.get("reasons", []):
        lines.append(f"- {_cell(reason)}")
    if report.get("reasons"):
        lines.append("")
    argo = report.get("argocd")
    if argo:
        verdict = "ok" if argo["healthy"] else argo["failure"]
        lines += ["#### Argo CD", "", f"`{argo['app']}`: {verdict}: {_cell(argo['message'])}", ""]
    rollouts = report.get("rollouts") or []
    if rollouts:
        lines += [
            "#### Rollouts",
            "",
            "| workload | namespace | verdict | seconds | status |",
            "|---|---|---|---|---|",
        ]
        for r in rollouts:
            verdict = "ok" if r["healthy"] else r["failure"]
            lines.append(
                f"| {r['workload']} | {r['namespace']} | {verdict} | {r['seconds']:.1f} | {_cell(r['message'])} |"
            )
        lines.append("")
    images = report.get("images")
    if images:
        lines += ["#### Images", ""]
        lines.append("Expected: " + ", ".join(f"`{e}`" for e in images["expected"]))
        for entry in images["workloads"]:
            mismatches = entry["mismatches"]
            if not mismatches and entry.get("wanted_pods") == 0:
                lines.append(
                    f"- {entry['workload']}: template matches; no pod wanted, none to check"
                )
            elif not mismatches:
                lines.append(
                    f"- {entry['workload']}: template and {len(entry['pods'])} pod(s) match"
                )
            for m in mismatches:
                lines.append(
                    f"- {entry['workload']}: **{_cell(m['where'])}** expected `{m['expected']}`, found `{m['actual'] or 'nothing'}`"
                )
        lines.append("")
    http = report.get("http")
    if http:
        latency = http["latency_ms"]
        lines += [
            "#### HTTP checks",
            "",
            f"Latency over {int(latency['count'] or 0)} answered attempt(s): p50 {_ms(latency['p50'])}, p95 {_ms(latency['p95'])}; "
            f"flaps (a success followed by a failure): {http.get('flaps', 0)}",
            "",
            "| check | verdict | attempts | flaps | reason |",
            "|---|---|---|---|---|",
        ]
        for c in http["checks"]:
            lines.append(
                f"| {_cell(c['check'])} | {'ok' if c['healthy'] else 'failed'} | {len(c['attempts'])} | {c.get('flaps', 0)} | {_cell(c['reason'])} |"
            )
        lines += [
            "",
            "<details><summary>Every attempt</summary>",
            "",
            "| check | t (s) | status | latency | result |",
            "|---|---|---|---|---|",
        ]
        for c in http["checks"]:
            for a in c["attempts"]:
                lines.append(
                    f"| {_cell(a['check'])} | {a['t']:.2f} | {a['status'] or '-'} | {_ms(a['latency_ms'])} | {'ok' if a['ok'] else _cell(a['reason'])} |"
                )
        lines += ["", "</details>", ""]
    for diag in diagnostics:
        lines.append(markdown(diag))
    rollback = report.get("rollback")
    if rollback:
        state = "done" if rollback.get("done") else "FAILED"
        lines += [f"#### Rollback ({rollback['mode']}): {state}", ""]
        for u in rollback.get("undone", []):
            lines.append(
                f"- {u['workload']}: revision {u['from_revision']} → {u['to_revision']} ({', '.join(u['images'])})"
            )
        for image in rollback.get("images", []):
            lines.append(f"- set `{image}`")
        sha = (rollback.get("kustomize-bump") or {}).get("commit-sha")
        if sha:
            lines.append(f"- GitOps commit `{sha}`")
        for error in rollback.get("errors", []) + (
            [rollback["error"]] if rollback.get("error") else []
        ):
            lines.append(f"- error: {_cell(error)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
