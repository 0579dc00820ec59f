"""A small OSV-compatible server on 127.0.0.1 (the `/v1/query` and `/v1/querybatch` API).

Advisories are OSV records (https://ossf.github.io/osv-schema/); a query for a
PyPI package and version answers every record whose ECOSYSTEM ranges contain
that version, as api.osv.dev does. `fail_with` makes every query answer that
HTTP status (an outage).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version


def _affects(record: dict[str, Any], name: str, version: Version) -> bool:
    for affected in record.get("affected", []):
        pkg = affected.get("package", {})
        if pkg.get("ecosystem") != "PyPI" or canonicalize_name(pkg.get("name", "")) != name:
            continue
        if str(version) in affected.get("versions", []):
            return True
        for rng in affected.get("ranges", []):
            if rng.get("type") != "ECOSYSTEM":
                continue
            inside = False
            for event in sorted(rng["events"], key=_event_version):
                if _event_version(event) > version:
                    break
                if "introduced" in event:
                    inside = True
                elif "fixed" in event:
                    inside = False
            if inside:
                return True
    return False


def _event_version(event: dict[str, str]) -> Version:
    value = next(iter(event.values()))
    return Version("0") if value == "0" else Version(value)


@dataclass
class FakeOsv:
    records: list[dict[str, Any]]
    fail_with: int | None = None
    queries: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def answer(self, query: dict[str, Any]) -> dict[str, Any]:
        self.queries.append(query)
        pkg = query.get("package", {})
        name = canonicalize_name(pkg.get("name", ""))
        version = Version(query["version"])
        vulns = [r for r in self.records if _affects(r, name, version)]
        return {"vulns": vulns} if vulns else {}


def _handler(osv: FakeOsv) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if osv.fail_with:
                self._send(osv.fail_with, {"error": "unavailable"})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            if self.path == "/v1/query":
                self._send(200, osv.answer(body))
            elif self.path == "/v1/querybatch":
                results = [osv.answer(q) for q in body.get("queries", [])]
                self._send(200, {"results": [{"vulns": r.get("vulns", [])} for r in results]})
            else:
                self._send(404, {"code": 5, "message": "Not Found"})

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve_osv(records: list[dict[str, Any]], fail_with: int | None = None) -> Iterator[FakeOsv]:
    osv = FakeOsv(records, fail_with)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(osv))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    osv.url = f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    try:
        yield osv
    finally:
        server.shutdown()
        server.server_close()
