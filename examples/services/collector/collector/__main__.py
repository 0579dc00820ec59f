"""`python -m collector`: load the feeds, then serve on $HOST:$PORT (default 127.0.0.1:8542).

A database that cannot be opened is logged and left to /health to report (503), as the
API does: the process stays up so that the probe, not a crash loop, tells what is wrong.
"""

from __future__ import annotations

from blockstore.store import StoreUnavailable
from blockstore.web import serve, setup_logging
from collector.collect import collect
from collector.web import DEFAULT_PORT, FEEDS, application

if __name__ == "__main__":
    setup_logging()
    try:
        application.log.info("collected %s", collect(FEEDS, application.database()))
    except StoreUnavailable as exc:
        application.log.error("cannot collect: %s", exc)
    serve(application, DEFAULT_PORT)
