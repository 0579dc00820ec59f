"""The API's HTTP interface (blockstore.web adds /health and /version).

GET /api/stats  200 {"total": n, "sources": {...}}, 500 when the database cannot be opened
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from blockstore import settings, store
from blockstore.web import Service

DEFAULT_PORT = 8541
# Relative to the working directory the service is started in; the deployment
# creates `instance/` (the image does not ship a database).
DEFAULT_DATABASE = "instance/blocklist.db"


def stats(database: Path) -> tuple[int, dict[str, object]]:
    return 200, store.stats(database)


application = Service(
    name="blocklist",
    version=partial(settings.version, Path(__file__).parent),
    database=partial(settings.database_path, "BLOCKLIST_DATABASE", DEFAULT_DATABASE),
    routes={"/api/stats": stats},
)
