"""The HTML report: golden file over the fixture ledger, and a real browser opens it."""

from __future__ import annotations

import struct
import subprocess
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

from ci_actions.ledger import queries
from ci_actions.ledger.reader import Corrupt, ledger_files, read_ledger
from ci_actions.ledger.report import ReportData, render_report
from tests.support.golden import assert_golden
from tests.support.tools import require

TESTS = Path(__file__).resolve().parents[1]
FIXTURE = TESTS / "fixtures" / "release-ledger" / ".ci-ledger"
GENERATED = datetime(2026, 11, 22, 4, 0, tzinfo=timezone.utc)


def _render() -> str:
    corrupt: list[Corrupt] = []
    ledgers = [
        read_ledger(p, p.relative_to(FIXTURE).as_posix(), corrupt) for p in ledger_files(FIXTURE)
    ]
    return render_report(
        ReportData(
            ledgers=ledgers,
            stats=[queries.stats(ledger) for ledger in ledgers],
            corrupt=len(corrupt),
            generated=GENERATED,
        )
    )


def test_report_matches_golden() -> None:
    assert_golden("release-ledger/report.html", _render())


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_is_self_contained_and_says_what_the_ledger_says() -> None:
    parser = _Collector()
    parser.feed(_render())
    names = [t for t, _ in parser.tags]
    assert "script" not in names and "link" not in names and "img" not in names
    assert all("src" not in attrs for _, attrs in parser.tags)
    links = [attrs["href"] for t, attrs in parser.tags if t == "a"]
    assert links and all(str(h).startswith("https://github.com/acme/") for h in links)
    bars = [attrs for t, attrs in parser.tags if t == "rect"]
    # prod/api 2 of 4 judged = 50% of the 400 px axis; dev/api and prod/worker 100%.
    assert [b["width"] for b in bars] == ["400.0", "200.0", "400.0"]
    text = " ".join(parser.text)
    assert "2 corrupt line(s) skipped" in text  # prod/api:12 and dev/api:3
    assert "pods in CrashLoopBackOff" in text
    assert "2d 3h" in text  # prod/api mean time between failures: 183,900 s


def test_ledger_text_is_escaped(tmp_path: Path) -> None:
    ledger_dir = tmp_path / "prod"
    ledger_dir.mkdir()
    line = (FIXTURE / "prod" / "worker.jsonl").read_text().splitlines()[1]
    source = (FIXTURE / "prod" / "worker.jsonl").read_text()
    evil = line.replace('"reason":""', '"reason":"<script>alert(1)</script>"').replace(
        '"healthy"', '"failed"'
    )
    (ledger_dir / "worker.jsonl").write_text(source.splitlines()[0] + "\n" + evil + "\n")
    ledger = read_ledger(ledger_dir / "worker.jsonl", "x", [])
    html = render_report(ReportData([ledger], [queries.stats(ledger)], 0, GENERATED))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_opens_in_headless_chromium(tmp_path: Path) -> None:
    browser = require("chromium")
    page = tmp_path / "report.html"
    page.write_text(_render(), encoding="utf-8")
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            # no network: without these, chromium keeps trying to reach Google's hosts
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,900",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert _png_size(data) == (1200, 900)
    # Dump the DOM as the browser built it: the chart and the tables are there.
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            # no network: without these, chromium keeps trying to reach Google's hosts
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile2'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<rect") == 3 and "Environment prod" in dom.stdout
