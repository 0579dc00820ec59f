"""Helpers for the manifests tests: the fixtures and the line a fixture marks."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "manifests"
MARKER = "# <- expected"


def marked_line(file: Path) -> int:
    """The 1-based line that carries the `# <- expected` marker in a fixture."""
    lines = [i for i, text in enumerate(file.read_text().splitlines(), 1) if MARKER in text]
    assert len(lines) == 1, f"{file} must mark exactly one line"
    return lines[0]
