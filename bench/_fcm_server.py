"""The FCM stand-in in a process of its own, so the client under test does not share a GIL (or its
peak RSS) with the server. `python -m bench._fcm_server <state_dir> <server>` prints one JSON
line {"url", "pid"} and serves until its stdin closes. <server> is

- `werkzeug`: `devstack.fcm_standin.start_fcm_standin`, exactly as the local stack and the
  tests serve it. Werkzeug's development server answers every request with
  `Connection: close` (serving.py: "Always close the connection"), so each push costs a new
  TCP connection and a new server thread, and its listen backlog is 128.
- `keepalive`: the same `FcmStandIn` WSGI app behind a minimal HTTP/1.1 server that keeps
  connections open, as fcm.googleapis.com does, so the SDK's connection pool is actually reused.
  Only the transport differs; every answer comes from the stand-in's own code."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import bench  # noqa: F401  (puts the layer on sys.path)
from devstack.fcm_standin import create_fcm_standin, start_fcm_standin
from devstack.identity import LocalIdentity

WsgiApp = Callable[[dict[str, Any], Any], Any]


def _handler_for(app: WsgiApp) -> type[BaseHTTPRequestHandler]:
    class KeepAliveHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # persistent unless the client asks to close
        # Headers and body leave in two writes; with Nagle on, the body waits for the delayed
        # ACK of the headers (40 ms on Linux) on a reused connection. Google's servers don't.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            server = self.server
            assert isinstance(server, KeepAliveServer)
            host, port = server.server_name, server.server_port
            environ: dict[str, Any] = {
                "REQUEST_METHOD": self.command,
                "SCRIPT_NAME": "",
                "PATH_INFO": unquote(url.path),
                "QUERY_STRING": url.query,
                "SERVER_NAME": str(host),
                "SERVER_PORT": str(port),
                "SERVER_PROTOCOL": self.request_version,
                "REMOTE_ADDR": self.client_address[0],
                "CONTENT_LENGTH": str(length),
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "wsgi.version": (1, 0),
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr,
                "wsgi.multithread": True,
                "wsgi.multiprocess": False,
                "wsgi.run_once": False,
            }
            for key, value in self.headers.items():
                name = key.upper().replace("-", "_")
                if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                    environ[f"HTTP_{name}"] = value
            started: list[Any] = []

            def start_response(
                status: str, headers: list[tuple[str, str]], exc_info: Any = None
            ) -> Any:
                started[:] = [status, headers]
                return lambda data: None

            result = app(environ, start_response)
            try:
                payload = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            status, headers = started
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            for key, value in headers:
                if key.lower() not in ("content-length", "connection", "date", "server"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _serve

    return KeepAliveHandler


class KeepAliveServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a chunk of 500 connects at once


def serve_keepalive(identity: LocalIdentity) -> tuple[str, Callable[[], None]]:
    server = KeepAliveServer(("127.0.0.1", 0), _handler_for(create_fcm_standin(identity)))
    threading.Thread(target=server.serve_forever, name="fcm-keepalive", daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}", stop


def main() -> int:
    state_dir, kind = Path(sys.argv[1]), sys.argv[2]
    identity = LocalIdentity.load_or_create(state_dir)
    if kind == "werkzeug":
        # As the local stack does: werkzeug otherwise logs a line per request (server CPU).
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        running = start_fcm_standin(identity)
        url, stop = running.url, running.stop
    elif kind == "keepalive":
        url, stop = serve_keepalive(identity)
    else:
        raise SystemExit(f"unknown server {kind!r}: werkzeug or keepalive")
    print(json.dumps({"url": url, "pid": os.getpid()}), flush=True)
    try:
        sys.stdin.read()
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
