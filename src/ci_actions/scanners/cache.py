"""A result cache keyed by content: a file whose key is unchanged is not scanned again.

Code scanners (bandit, semgrep) are cached per file. The key is the cache
schema, the scanner, its installed version, a hash of its rules and settings
(bandit's ini, semgrep's rule files and flags), the file's path and the hash
of its bytes; the entry holds that file's findings. Which of semgrep's
command lines ran (osemgrep, or pysemgrep as the fallback) is not part of
the key: tests/scanners/test_semgrep_cli.py holds their findings equal.
Dependency scanners (safety, pip-audit) are cached per run: the key holds
the contents of every requirements file in order, the database (a hash of
safety-db) or the advisory service (osv-url, safety's API) and, for a
service, the UTC date, so advisories published since are seen the next day
at the latest.

An entry is trusted only when it is a regular file owned by this user and
not writable by group or others (the cache folder too), parses as JSON of
this schema and holds exactly the key asked for; anything else is ignored
and logged, and the file is scanned. Entries are written atomically (a temp
file renamed into place, mode 0600).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from ci_actions.fsutil import write_atomic_many
from ci_actions.scanners.base import Scanner, ScanRequest, ToolRun, run_scanner
from ci_actions.scanners.findings import Finding
from ci_actions.scanners.tools import BUNDLED_RULES

SCHEMA = 1
CODE = ("bandit", "semgrep")
_PACKAGES = {"bandit": "bandit", "semgrep": "semgrep", "safety": "safety", "pip-audit": "pip-audit"}
_STR_FIELDS = {f.name for f in dataclasses.fields(Finding) if f.type == "str"}
_INT_FIELDS = {"line"}


@dataclass
class ResultCache:
    folder: Path
    warn: Callable[[str], None]
    today: dt.date
    pending: list[tuple[Path, str]] = field(default_factory=list)
    hits: int = 0
    misses: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)  # scanners run in threads

    def usable(self) -> bool:
        """Whether the folder can be trusted (created 0700 when missing)."""
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            self.warn(f"result cache {self.folder} cannot be created ({exc}): not used")
            return False
        problem = _untrusted(self.folder, directory=True)
        if problem:
            self.warn(f"result cache {self.folder} {problem}: not used")
        return not problem

    def get(self, key: str, file: str | None) -> list[Finding] | None:
        path = self._path(key)
        try:
            problem = _untrusted(path, directory=False)
        except FileNotFoundError:
            self._count(hit=False)
            return None
        try:
            if problem:
                raise ValueError(problem)
            data = json.loads(path.read_text(encoding="utf-8"))
            found = _entry(data, key, file)
        except (OSError, ValueError, TypeError) as exc:
            self.warn(f"result cache entry {path.name} ignored: {exc}")
            self._count(hit=False)
            return None
        self._count(hit=True)
        return found

    def _count(self, *, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def put(self, key: str, findings: Iterable[Finding]) -> None:
        entry = {"schema": SCHEMA, "key": key, "findings": [_to_json(f) for f in findings]}
        with self._lock:
            self.pending.append((self._path(key), json.dumps(entry, sort_keys=True)))

    def save(self) -> None:
        """Write the new entries (each file atomically); a failure only warns."""
        try:
            write_atomic_many(self.pending, sync=False)
        except OSError as exc:
            self.warn(f"result cache {self.folder} not written: {exc}")
        self.pending = []

    def _path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


def _untrusted(path: Path, *, directory: bool) -> str:
    """Why `path` must not be trusted, "" when it may be (FileNotFoundError when absent)."""
    st = path.lstat()
    kind = stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)
    if not kind:
        return "is not a " + ("folder" if directory else "regular file")
    if st.st_uid != os.getuid():
        return f"is owned by uid {st.st_uid}, not this user ({os.getuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return ""


def _to_json(f: Finding) -> dict[str, Any]:
    data = dataclasses.asdict(f)
    data["aliases"] = list(f.aliases)
    return data


def _entry(data: Any, key: str, file: str | None) -> list[Finding]:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError("not an entry of this cache's schema")
    if data.get("key") != key:
        raise ValueError("its key does not match its name")
    items = data.get("findings")
    if not isinstance(items, list):
        raise ValueError("no findings list")
    found = [_finding(item) for item in items]
    if file is not None and any(f.file != file for f in found):
        raise ValueError(f"holds findings of another file than {file}")
    return found


def _finding(item: Any) -> Finding:
    if not isinstance(item, dict):
        raise ValueError("a finding is not an object")
    known = _STR_FIELDS | _INT_FIELDS | {"aliases", "extra"}
    if set(item) - known:
        raise ValueError(f"unknown finding fields {sorted(set(item) - known)}")
    for name in _STR_FIELDS & set(item):
        if not isinstance(item[name], str):
            raise ValueError(f"finding field {name} is not a string")
    if not isinstance(item.get("line", 0), int) or isinstance(item.get("line"), bool):
        raise ValueError("finding field line is not a number")
    aliases = item.get("aliases", [])
    extra = item.get("extra", {})
    if not (isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)):
        raise ValueError("finding field aliases is not a list of strings")
    if not (isinstance(extra, dict) and all(isinstance(v, str) for v in extra.values())):
        raise ValueError("finding field extra is not an object of strings")
    return Finding(**(item | {"aliases": tuple(aliases), "extra": dict(extra)}))


# --- keys ---------------------------------------------------------------------


def _version(tool: str) -> str:
    try:
        return metadata.version(_PACKAGES[tool])
    except metadata.PackageNotFoundError:
        return ""


def _hash_paths(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for top in paths:
        files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
        for p in files:
            digest.update(p.as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(p.read_bytes()).digest())
    return digest.hexdigest()


def settings_hash(tool: str, request: ScanRequest, today: dt.date) -> str:
    """What besides the scanned content decides a scanner's findings."""
    if tool == "bandit":
        ini = request.root / ".bandit"
        own = request.repository_config and ini.is_file()
        return hashlib.sha256(ini.read_bytes() if own else b"[bandit]\n").hexdigest()
    if tool == "semgrep":
        configs = request.semgrep_configs or (BUNDLED_RULES,)
        return _hash_paths(configs) + str(request.repository_config)
    service = f"{request.osv_url}|{today.isoformat()}"
    if tool == "safety":
        service = _hash_paths([request.safety_db]) if request.safety_db else f"api|{today}"
    return service


def _file_key(tool: str, version: str, settings: str, root: Path, rel: str) -> str:
    content = hashlib.sha256((root / rel).read_bytes()).hexdigest()
    return json.dumps([SCHEMA, tool, version, settings, rel, content])


def _deps_key(tool: str, version: str, settings: str, request: ScanRequest) -> str:
    contents = [
        hashlib.sha256((request.root / r).read_bytes()).hexdigest() for r in request.requirements
    ]
    # contents only: a lock file's converted list lives in a new scratch folder every run
    return json.dumps([SCHEMA, tool, version, settings, contents])


# --- running through the cache ------------------------------------------------


def run_cached(scanner: Scanner, request: ScanRequest, cache: ResultCache | None) -> ToolRun:
    """run_scanner, skipping what the cache already holds; the new results are put in it."""
    version = _version(scanner.name) if cache is not None else ""
    if cache is None or not version:
        return run_scanner(scanner, request)
    settings = settings_hash(scanner.name, request, cache.today)
    if scanner.name in CODE:
        return _run_per_file(scanner, request, cache, version, settings)
    key = _deps_key(scanner.name, version, settings, request)
    hit = cache.get(key, None)
    if hit is not None:
        return ToolRun(scanner.name, tuple(hit), command="(from the result cache)", scanned=None)
    run = run_scanner(scanner, request)
    if run.ok and run.scanned != 0:
        cache.put(key, run.findings)
    return run


def cached_run(scanner: Scanner, request: ScanRequest, cache: ResultCache | None) -> ToolRun | None:
    """A dependency scanner's result for these requirements from the cache, without running
    it; None when the cache does not hold one."""
    version = _version(scanner.name) if cache is not None else ""
    if cache is None or not version or scanner.name in CODE:
        return None
    settings = settings_hash(scanner.name, request, cache.today)
    hit = cache.get(_deps_key(scanner.name, version, settings, request), None)
    if hit is None:
        return None
    return ToolRun(scanner.name, tuple(hit), command="(from the result cache)", scanned=None)


def _files(tool: str, request: ScanRequest) -> Sequence[str]:
    return request.python_files if tool == "bandit" else (request.semgrep_files or ())


def _run_per_file(
    scanner: Scanner, request: ScanRequest, cache: ResultCache, version: str, settings: str
) -> ToolRun:
    files = _files(scanner.name, request)
    if scanner.name == "semgrep" and request.semgrep_files is None:
        return run_scanner(scanner, request)  # semgrep walks `paths` itself: nothing per file
    keys = {rel: _file_key(scanner.name, version, settings, request.root, rel) for rel in files}
    cached: list[Finding] = []
    missing: list[str] = []
    for rel, key in keys.items():
        hit = cache.get(key, rel)
        if hit is None:
            missing.append(rel)
        else:
            cached += hit
    if not missing:
        return ToolRun(
            scanner.name, tuple(cached), command="(from the result cache)", scanned=len(files)
        )
    todo = tuple(missing)
    narrowed = replace(
        request, python_files=todo if scanner.name == "bandit" else request.python_files
    )
    if scanner.name == "semgrep":
        narrowed = replace(narrowed, semgrep_files=todo)
    run = run_scanner(scanner, narrowed)
    if not run.ok:
        return run
    by_file: dict[str, list[Finding]] = {rel: [] for rel in todo}
    for f in run.findings:
        by_file.setdefault(f.file, []).append(f)
    for rel in todo:
        cache.put(keys[rel], by_file[rel])
    scanned = None if run.scanned is None else run.scanned + len(files) - len(todo)
    return replace(run, findings=(*cached, *run.findings), scanned=scanned)
