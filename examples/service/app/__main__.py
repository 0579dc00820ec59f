"""`python -m app`: serve on $HOST:$PORT (default 127.0.0.1:8541) until stopped."""

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
    host, port = settings.host(), settings.port()
    with make_server(host, port, application, handler_class=QuietHandler) as server:
        log.info("blocklist %s listening on %s:%d", settings.version(), host, port)
        server.serve_forever()


if __name__ == "__main__":
    main()
