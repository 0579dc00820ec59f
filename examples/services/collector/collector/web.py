"""The collector's HTTP interface (blockstore.web adds /health and /version).

GET /api/stats  200 {"total": n, "sources": {...}}: what the collector holds
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from blockstore import settings, store
from blockstore.web import Service

DEFAULT_PORT = 8542
# Relative to the working directory; the deployment creates `instance/`.
DEFAULT_DATABASE = "instance/collector.db"
FEEDS = Path(__file__).with_name("feeds")


def stats(database: Path) -> tuple[int, dict[str, object]]:
    return 200, store.stats(database)


application = Service(
    name="collector",
    version=partial(settings.version, Path(__file__).parent),
    database=partial(settings.database_path, "COLLECTOR_DATABASE", DEFAULT_DATABASE),
    routes={"/api/stats": stats},
)
