"""`python -m app`: serve on 0.0.0.0:$PORT (default 8541) until stopped."""

from __future__ import annotations

import logging
from wsgiref.simple_server import WSGIRequestHandler, make_server

from app import settings
from app.web import application

log = logging.getLogger("blocklist")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        logging.getLogger("blocklist.access").info(format, *args)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with make_server("0.0.0.0", settings.port(), application, handler_class=QuietHandler) as server:
        log.info("blocklist %s listening on :%d", settings.version(), settings.port())
        server.serve_forever()


if __name__ == "__main__":
    main()
