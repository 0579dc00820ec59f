"""A deliberately vulnerable module: the security gate must refuse a build that ships it.

It is not part of the service. `scripts/demo --seed-vulnerability` copies it
into services/api/api/ so the gate has something real to find.
"""

import hashlib
import pickle
import sqlite3
import subprocess


def lookup(conn: sqlite3.Connection, ip: str) -> list[tuple[str, str]]:
    # SQL built from a request value: injection.
    return conn.execute("SELECT ip, source FROM addresses WHERE ip = '" + ip + "'").fetchall()


def ping(host: str) -> str:
    # A shell command built from a request value: command injection.
    return subprocess.check_output("ping -c 1 " + host, shell=True, text=True)


def load_session(blob: bytes) -> object:
    # Untrusted bytes unpickled: code execution.
    return pickle.loads(blob)


def password_hash(password: str) -> str:
    # A fast, broken hash for passwords.
    return hashlib.md5(password.encode()).hexdigest()
