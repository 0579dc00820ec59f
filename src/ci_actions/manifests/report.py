"""What a validation run reports: annotations, a summary table and a JSON report."""

from __future__ import annotations

from collections.abc import Sequence

from ci_actions.manifests.model import Manifest, Problem
from ci_actions.result import Annotation

SUMMARY_ROWS = 200  # GitHub caps a step summary at 1 MiB; the JSON report has them all


def count(problems: Sequence[Problem], severity: str) -> int:
    return sum(1 for p in problems if p.severity == severity)


def to_annotations(problems: Sequence[Problem]) -> list[Annotation]:
    return [
        Annotation(
            message=f"{p.resource}: {p.message}" + (f" (at {p.field})" if p.field else ""),
            level=p.severity,
            file=p.file,
            line=p.line,
            title=f"validate-manifests: {p.check}",
        )
        for p in problems
    ]


def json_report(
    manifests: Sequence[Manifest], problems: Sequence[Problem], kubernetes_version: str
) -> dict[str, object]:
    return {
        "valid": count(problems, "error") == 0,
        "kubernetes-version": kubernetes_version,
        "objects": len(manifests),
        "errors": count(problems, "error"),
        "warnings": count(problems, "warning"),
        "problems": [p.as_dict() for p in problems],
    }


def summary(
    manifests: Sequence[Manifest], problems: Sequence[Problem], kubernetes_version: str
) -> str:
    errors, warnings = count(problems, "error"), count(problems, "warning")
    verdict = "valid" if errors == 0 else "invalid"
    lines = [
        "### Manifest validation",
        "",
        f"{len(manifests)} object(s) checked against Kubernetes {kubernetes_version}: "
        f"**{verdict}**, {errors} error(s), {warnings} warning(s)",
    ]
    if problems:
        lines += ["", "| severity | check | object | location | problem |", "|---|---|---|---|---|"]
        for p in problems[:SUMMARY_ROWS]:
            where = f"{p.file}:{p.line}" if p.line else p.file
            message = p.message + (f" (at `{p.field}`)" if p.field else "")
            lines.append(
                f"| {p.severity} | {p.check} | {_cell(p.resource)} | `{where}` | {_cell(message)} |"
            )
        if len(problems) > SUMMARY_ROWS:
            lines += ["", f"… and {len(problems) - SUMMARY_ROWS} more in the JSON report."]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
