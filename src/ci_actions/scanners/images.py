"""Ingest container image scan reports (trivy, grype JSON) as findings.

Which tool wrote a report is read from its schema markers: trivy's
`SchemaVersion` + `Results`, grype's `matches` + `descriptor.name`.
Severities map as written (grype's Negligible -> low); Unknown -> unknown-severity.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ci_actions.errors import InputError
from ci_actions.fsutil import read_text_strict
from ci_actions.scanners.findings import Finding

_LEVELS = {
    "negligible": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}


def detect(report: Any) -> str:
    if isinstance(report, dict):
        if "SchemaVersion" in report and ("Results" in report or "ArtifactName" in report):
            return "trivy"
        if "matches" in report and (report.get("descriptor") or {}).get("name") == "grype":
            return "grype"
    return ""


def load_image_report(path: Path, shown: str) -> tuple[str, list[Finding]]:
    """(tool, findings) of one report; a missing, unreadable or unknown file is exit 2."""
    try:
        report = json.loads(read_text_strict(path, f"image report {shown} (image-reports)"))
    except FileNotFoundError:
        raise InputError("image-reports", f"{shown} does not exist") from None
    except (OSError, ValueError) as exc:
        raise InputError("image-reports", f"{shown} is not a JSON report: {exc}") from None
    tool = detect(report)
    read = {"trivy": _trivy, "grype": _grype}.get(tool)
    if read is not None:
        try:
            return tool, read(report, shown)
        except KeyError as exc:
            raise InputError(
                "image-reports", f"{shown} ({tool}) has an entry without the field {exc.args[0]!r}"
            ) from None
        except (TypeError, AttributeError, ValueError) as exc:
            raise InputError(
                "image-reports", f"{shown} ({tool}) has a field of the wrong type: {exc}"
            ) from None
    raise InputError(
        "image-reports",
        f"{shown} is neither a trivy nor a grype JSON report",
        hint="write it with `trivy image --format json` or `grype -o json`",
    )


def _trivy(report: dict[str, Any], shown: str) -> list[Finding]:
    image = str(report.get("ArtifactName", ""))
    return [
        Finding(
            tool="trivy",
            rule_id=v["VulnerabilityID"],
            severity=_LEVELS.get(str(v.get("Severity", "")).lower(), ""),
            kind="image",
            message=" ".join(str(v.get("Title") or v["VulnerabilityID"]).split()),
            file=shown,
            package=v.get("PkgName", ""),
            version=v.get("InstalledVersion", ""),
            fixed_version=v.get("FixedVersion", "") or "",
            help_uri=v.get("PrimaryURL", "") or "",
            extra={"target": str(result.get("Target", "")), "image": image},
        )
        for result in report.get("Results") or []
        for v in result.get("Vulnerabilities") or []
    ]


def _grype(report: dict[str, Any], shown: str) -> list[Finding]:
    findings = []
    for match in report["matches"]:
        vuln, artifact = match.get("vulnerability", {}), match.get("artifact", {})
        fix = vuln.get("fix") or {}
        fixed = fix.get("versions") or [] if fix.get("state") == "fixed" else []
        findings.append(
            Finding(
                tool="grype",
                rule_id=vuln["id"],
                severity=_LEVELS.get(str(vuln.get("severity", "")).lower(), ""),
                kind="image",
                message=" ".join(str(vuln.get("description") or vuln["id"]).split()),
                file=shown,
                package=artifact.get("name", ""),
                version=artifact.get("version", ""),
                fixed_version=", ".join(fixed),
                help_uri=vuln.get("dataSource", "") or "",
            )
        )
    return findings
