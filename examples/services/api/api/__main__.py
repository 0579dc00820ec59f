"""`python -m api`: serve on $HOST:$PORT (default 127.0.0.1:8541) until stopped."""

from __future__ import annotations

from api.web import DEFAULT_PORT, application
from blockstore.web import serve

if __name__ == "__main__":
    serve(application, DEFAULT_PORT)
