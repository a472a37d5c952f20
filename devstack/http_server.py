"""A WSGI app served from a daemon thread, so the local stack and the tests can start and stop
stand-ins in-process without Docker or a second interpreter."""

from __future__ import annotations

import json
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Response


class BackgroundServer:
    """Serves `app` on host:port (port 0 picks a free one) until `stop()`."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.host = host
        self.port: int = self._server.server_port
        # stop() waits for the serving loop to look up: every 50 ms, not socketserver's 0.5 s
        # (the tests start and stop stand-ins per test).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"http-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON answer, as every local stand-in route gives them."""
    return Response(json.dumps(body), status=status, mimetype="application/json")
