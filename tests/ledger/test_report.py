"""The HTML report: golden file over the fixture ledger, and a real browser opens it."""

from __future__ import annotations

import os
import shutil
import statistics
import struct
import subprocess
import zlib
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ci_actions.ledger import queries
from ci_actions.ledger.reader import Corrupt, ledger_files, read_ledger
from ci_actions.ledger.report import ReportData, render_report
from tests.support.golden import assert_golden
from tests.support.tools import require

TESTS = Path(__file__).resolve().parents[1]
FIXTURE = TESTS / "fixtures" / "release-ledger" / ".ci-ledger"
GENERATED = datetime(2026, 11, 22, 4, 0, tzinfo=timezone.utc)


def _render(files: list[str] | None = None) -> str:
    """The report of the fixture's ledger files (default: all of them, as the ledger lists them)."""
    corrupt: list[Corrupt] = []
    paths = ledger_files(FIXTURE) if files is None else [FIXTURE / f for f in files]
    ledgers = [read_ledger(p, p.relative_to(FIXTURE).as_posix(), corrupt) for p in paths]
    return render_report(
        ReportData(
            ledgers=ledgers,
            stats=[queries.stats(ledger) for ledger in ledgers],
            corrupt=len(corrupt),
            generated=GENERATED,
        )
    )


class _Headings(HTMLParser):
    """(tag, text) of every h2 and h3, in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._open = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h2", "h3"):
            self._open = tag
            self.found.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        self._open = "" if tag == self._open else self._open

    def handle_data(self, data: str) -> None:
        if self._open:
            tag, text = self.found[-1]
            self.found[-1] = (tag, text + data)


def _headings(html: str) -> list[tuple[str, str]]:
    parser = _Headings()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize(
    ("files", "headings"),
    [
        (
            # the fixture: api in dev and prod, worker in prod only
            ["dev/api.jsonl", "prod/api.jsonl", "prod/worker.jsonl"],
            [
                ("h2", "Success rate"),
                ("h2", "Service api"),
                ("h3", "api in dev"),
                ("h3", "api in prod"),
                ("h2", "Service worker"),
                ("h3", "worker in prod"),
            ],
        ),
        (
            # given in another order: the page is the same
            ["prod/worker.jsonl", "prod/api.jsonl", "dev/api.jsonl"],
            [
                ("h2", "Success rate"),
                ("h2", "Service api"),
                ("h3", "api in dev"),
                ("h3", "api in prod"),
                ("h2", "Service worker"),
                ("h3", "worker in prod"),
            ],
        ),
        (
            # one service: one section, its environments inside, no list of services
            ["prod/api.jsonl", "dev/api.jsonl"],
            [
                ("h2", "Success rate"),
                ("h2", "Service api"),
                ("h3", "api in dev"),
                ("h3", "api in prod"),
            ],
        ),
        ([], [("h2", "Success rate")]),
    ],
)
def test_a_section_per_service_and_an_environment_per_ledger_inside_it(
    files: list[str], headings: list[tuple[str, str]]
) -> None:
    html = _render(files)
    assert _headings(html) == headings
    assert ("Services: " in html) is (len({f.split("/")[1] for f in files}) > 1)
    if not files:
        assert "The ledger is empty." in html


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
    links = [str(attrs["href"]) for t, attrs in parser.tags if t == "a"]
    inside = [h for h in links if h.startswith("#")]  # the services' own sections
    assert inside == ["#service-api", "#service-worker"]
    ids = {attrs.get("id") for _, attrs in parser.tags}
    assert all(h[1:] in ids for h in inside)
    outside = [h for h in links if not h.startswith("#")]
    assert outside and all(h.startswith("https://github.com/acme/") for h in outside)
    bars = [attrs for t, attrs in parser.tags if t == "rect" and attrs.get("class") == "rate"]
    # by service: api in dev 100%, api in prod 2 of 4 judged = 50% of the 400 px axis,
    # worker in prod 100%.
    assert [b["width"] for b in bars] == ["400.0", "200.0", "400.0"]
    text = " ".join(parser.text)
    assert "2 corrupt line(s) skipped" in text  # prod/api:12 and dev/api:3
    assert "pods in CrashLoopBackOff" in text
    assert "2d 3h" in text  # prod/api mean time between failures: 183,900 s


def test_report_shows_the_four_keys_per_service() -> None:
    """Over the 30 days before GENERATED (2026-10-23T04:00Z to 2026-11-22T04:00Z), by hand:
    prod/api: 000001 healthy (a change); 000002 failed at 09:10, rolled back; 000003
    re-deploys 1.0.0 (same digest: not a change), healthy 09:20 -> restored in 10 min;
    000004 failed, nothing healthy after it. Frequency 1/30 a day (medium); failure rate
    2 of 3 judged = 66.7% (low); restore 10m (elite); no commit times: lead time empty.
    prod/worker and dev/api: one healthy change each (0% elite); dev/api 1.2.1 is pending."""
    parser = _Collector()
    parser.feed(_render())
    text = " ".join(" ".join(parser.text).split())
    assert "Delivery metrics (DORA) from 2026-10-23T04:00:00Z to 2026-11-22T04:00:00Z (UTC)" in text
    api, worker, dev = (
        text.split(f"{name} Deployment frequency")[1].split(" created status image")[0]
        for name in ("api in prod", "worker in prod", "api in dev")
    )
    assert "0.03/day medium 1 healthy deployment(s)" in api
    assert "Lead time for changes - " in api
    assert "66.7% low 2 of 3 judged" in api
    assert "10m elite median of 1; 1 not restored" in api
    assert "0.0% elite 0 of 1 judged" in worker
    assert "Pending (deployed, not yet judged): api-20261106T070000Z-0000d2" in dev
    # weekly bars (weeks from Monday): prod/api 10-26 healthy; 11-02 healthy, failed,
    # rolled-back; prod/worker 11-02 healthy; dev/api 11-02 healthy, pending
    weeks = [a for t, a in parser.tags if t == "rect" and a.get("class") == "week"]
    assert len(weeks) == 7
    assert "each bar is the week starting that Monday (UTC dates)" in text


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


def _png_pixels(data: bytes) -> list[int]:
    """The grey level of every pixel of an 8-bit RGB(A) PNG, as chromium writes it."""
    width, height = _png_size(data)
    depth, colour, interlace = data[24], data[25], data[28]
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    idat, at = b"", 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytearray] = []
    prior = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prior[i], prior[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        prior = line
    return [sum(row[x : x + 3]) // 3 for row in rows for x in range(0, stride, channels)]


def _chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
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
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize(
    "files", [None, ["dev/api.jsonl", "prod/api.jsonl"]], ids=["two-services", "one-service"]
)
def test_report_screenshot_is_not_blank_and_logs_no_console_error(
    tmp_path: Path, files: list[str] | None
) -> None:
    browser = require("chromium")
    page = tmp_path / "report.html"
    page.write_text(_render(files), encoding="utf-8")
    shot = tmp_path / "shot.png"
    proc = _chromium(
        browser, tmp_path / "p", "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri()
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    if os.environ.get("KEEP_REPORT_SHOT"):
        shutil.copy(shot, os.environ["KEEP_REPORT_SHOT"])
    grey = _png_pixels(shot.read_bytes())
    assert len(grey) == 1200 * 1400
    # a white page has no variance; text, cards and coloured bars give plenty
    assert statistics.pvariance(grey[::7]) > 100
    assert sum(1 for g in grey if g < 200) > 5000  # dark pixels: text and bars drawn
    log = proc.stderr
    assert "Uncaught" not in log and ":CONSOLE(" not in log, log[-2000:]


def test_a_script_error_would_be_seen(tmp_path: Path) -> None:
    """The console check can fail: a page that throws is caught by it."""
    browser = require("chromium")
    page = tmp_path / "bad.html"
    page.write_text("<p>x</p><script>undefinedFunction()</script>", encoding="utf-8")
    proc = _chromium(browser, tmp_path / "p", "--dump-dom", page.as_uri())
    assert "Uncaught" in proc.stderr or ":CONSOLE(" in proc.stderr, proc.stderr[-2000:]


def test_report_opens_in_headless_chromium(tmp_path: Path) -> None:
    browser = require("chromium")
    page = tmp_path / "report.html"
    page.write_text(_render(), encoding="utf-8")
    shot = tmp_path / "shot.png"
    proc = _chromium(
        browser,
        tmp_path / "profile",
        "--window-size=1200,900",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert _png_size(data) == (1200, 900)
    # Dump the DOM as the browser built it: the chart and the tables are there.
    dom = _chromium(browser, tmp_path / "profile2", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<rect class="rate"') == 3 and "<h3>worker in prod</h3>" in dom.stdout


def test_step_summary_rows_of_the_four_keys() -> None:
    """The same hand-worked numbers as the report (30 days before GENERATED), as the summary
    shows them; the set: 3 healthy changes / 30 days = 0.10/day, 2 of 5 judged failed."""
    from ci_actions.ledger import metrics
    from ci_actions.ledger.report import dora_summary

    ledgers = [read_ledger(p, "f", []) for p in ledger_files(FIXTURE)]
    window = metrics.parse_window("", "", GENERATED)
    each = metrics.per_ledger(ledgers, window)
    text = dora_summary(each, metrics.pooled(each, window))
    assert "Window 2026-10-23T04:00:00Z to 2026-11-22T04:00:00Z (UTC)" in text
    assert "the week of Monday 2026-10-19" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "/day" in line]
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| api", "dev"],
        ["| api", "prod"],
        ["| worker", "prod"],
        ["| **all**", ""],
    ]  # by service, then environment
    assert "| api | prod | 0.03/day 🟡 medium | - | 66.7% 🔴 low | 10m 🟢 elite | 0 |" in text
    assert "| api | dev | 0.03/day 🟡 medium | - | 0.0% 🟢 elite | - | 1 |" in text
    assert "| **all** |  | 0.10/day 🟡 medium | - | 40.0% 🔴 low | 10m 🟢 elite | 1 |" in text
