"""The listener's HTTP server (`python -m senders.relay forward`): the standard library's WSGI
server, one daemon thread per connection, and a socket timeout on every connection.

Content Server calls `POST /steps` from inside a step's Ready event, so the listener must answer
whatever else is connected: `wsgiref.make_server` alone serves one connection at a time and
waits on a silent client forever (issue 20, finding 3). Here an idle or slow client holds only
its own thread, and only until `timeout` seconds pass without a byte from it; then the server
closes its connection (a body that stops half-way is answered 408 by `forward`)."""

from __future__ import annotations

import logging
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

log = logging.getLogger(__name__)
CONNECTION_TIMEOUT_S = 10.0  # a WebReport or event script sends its few hundred bytes at once


class _Handler(WSGIRequestHandler):
    """wsgiref's handler with the server's socket timeout, logging through `logging`."""

    server: RelayServer

    def setup(self) -> None:
        self.request.settimeout(self.server.connection_timeout)  # each read and write
        super().setup()

    def handle(self) -> None:
        try:
            super().handle()
        except TimeoutError:
            # Nothing (or not a whole request line) within the timeout: close, no traceback.
            self.close_connection = True
            log.info("closed an idle connection from %s", self.client_address[0])

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.client_address[0], format % args)


class RelayServer(ThreadingMixIn, WSGIServer):
    """Serves `app` on (host, port) (port 0: a free one), each connection in a daemon thread."""

    daemon_threads = True  # a hung connection never keeps the process from exiting

    def __init__(
        self, host: str, port: int, app: Any, *, timeout: float = CONNECTION_TIMEOUT_S
    ) -> None:
        self.connection_timeout = timeout
        super().__init__((host, port), _Handler)
        self.set_app(app)
