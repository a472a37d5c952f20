"""Serves the built web client (`clients/web/dist`) at `/app/` and Swagger UI over
`docs/openapi.json` at `/docs/` on the API's origin, as a CDN or S3 site would in production.

The client reads its runtime configuration from `config.json` beside `index.html`; locally that
document points Firebase Auth at the auth stand-in and push delivery at the local channel. In
production a deployment serves its own `config.json` (the web app's Firebase config and a VAPID
key) and the same build runs unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Request, Response

from devstack.template import REPO_ROOT

WEB_DIR = REPO_ROOT / "clients" / "web"
DIST_DIR = WEB_DIR / "dist"
SWAGGER_DIR = WEB_DIR / "node_modules" / "swagger-ui-dist"
OPENAPI_FILE = REPO_ROOT / "docs" / "openapi.json"
SWAGGER_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})
_NOT_BUILT = "the web client is not built: run `make web` (npm ci + vite build)"

_SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ecmpush API</title>
<link rel="icon" href="favicon-32x32.png"><link rel="stylesheet" href="swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>
"""


def local_client_config(fcm_url: str, project_id: str, api_key: str) -> dict[str, Any]:
    """`config.json` for the local stack (see the module docstring)."""
    return {
        "apiBase": "",
        # The typed-name shortcut: local only, a deployment's config.json has no signInUrl.
        "signInUrl": "/_devstack/sign-in",
        # The OTDS sign-in bridge (POST {apiBase}/sign-in/otds/...), as in production.
        "otdsSignIn": True,
        "firebase": {
            "apiKey": api_key,
            "authDomain": f"{project_id}.firebaseapp.com",
            "projectId": project_id,
            "messagingSenderId": "000000000000",
            "appId": "1:000000000000:web:0000000000000000",
        },
        "authEmulatorUrl": fcm_url,
        "localPushUrl": f"{fcm_url}/_webpush",
        "vapidKey": None,
    }


class _Static:
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if not request.path.startswith("/"):  # mounted at /app or /docs without the slash
            response: Response = redirect(request.script_root + "/", 308)
        else:
            try:
                response = self.answer(request, request.path.lstrip("/"), environ)
            except NotFound:
                response = Response('{"message":"Not Found"}', 404, mimetype="application/json")
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def answer(self, request: Request, path: str, environ: dict[str, Any]) -> Response:
        raise NotImplementedError


class WebClientApp(_Static):
    """`/app/`: the PWA's files and its `config.json`."""

    def __init__(self, config: dict[str, Any], dist: Path = DIST_DIR) -> None:
        self._config = json.dumps(config)
        self._dist = dist

    def answer(self, request: Request, path: str, environ: dict[str, Any]) -> Response:
        if path == "config.json":
            return Response(self._config, mimetype="application/json")
        if not (self._dist / "index.html").exists():
            return Response(json.dumps({"message": _NOT_BUILT}), 503, mimetype="application/json")
        response = send_from_directory(self._dist, path or "index.html", environ)
        if path.endswith(".webmanifest"):
            response.mimetype = "application/manifest+json"
        if path in ("", "index.html", "firebase-messaging-sw.js"):
            response.headers["Cache-Control"] = "no-cache"  # hashed assets may be cached
        return response


class ApiDocsApp(_Static):
    """`/docs/`: Swagger UI (from the swagger-ui-dist npm package, no CDN) over openapi.json."""

    def __init__(self, openapi: Path = OPENAPI_FILE, swagger: Path = SWAGGER_DIR) -> None:
        self._openapi = openapi
        self._swagger = swagger

    def answer(self, request: Request, path: str, environ: dict[str, Any]) -> Response:
        if path == "":
            return Response(_SWAGGER_PAGE, mimetype="text/html")
        if path == "openapi.json":
            return send_from_directory(self._openapi.parent, self._openapi.name, environ)
        if path in SWAGGER_ASSETS:
            if not self._swagger.is_dir():
                return Response(_NOT_BUILT, 503, mimetype="text/plain")
            return send_from_directory(self._swagger, path, environ)
        raise NotFound
