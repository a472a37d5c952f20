"""Local-only control routes under `/_devstack` on the API port: run a scheduled function now,
optionally as of another time (the demo's clock override; nothing like it exists in AWS),
`GET /_devstack/status`, the dashboard's figures (devstack/status.py), and
`GET /_devstack/timeline/<notification_id>`, a notification's evidence timeline
(ecmpush_ops/timeline.py, what `python -m ecmpush_ops timeline` shows for a deployed stack)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.lambda_runtime import LocalFunction
from devstack.schedules import invoke_scheduled

SWEEPS = {
    "expiry": "ExpirySweepFunction",
    "sla": "SlaSweepFunction",
    "devices": "DevicePruneFunction",
    "relay": "RelayPollFunction",  # only when started with --relay (EnableRelay)
}


class ControlApp:
    def __init__(
        self,
        functions: dict[str, LocalFunction],
        status: Callable[[], dict[str, Any]] | None = None,
        timeline: Callable[[str], list[dict[str, str]]] | None = None,
    ) -> None:
        self._functions = functions
        self._status = status
        self._timeline = timeline

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._dispatch(Request(environ))(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/status" and self._status is not None:
            return _json(self._status())
        if request.method == "GET" and request.path.startswith("/timeline/") and self._timeline:
            return _json(self._timeline(request.path.removeprefix("/timeline/")))
        name = request.path.rstrip("/").rpartition("/")[2]
        if request.method != "POST" or not request.path.startswith("/sweeps/"):
            return _json({"message": "POST /_devstack/sweeps/<expiry|sla>"}, 404)
        function = self._functions.get(SWEEPS.get(name, ""))
        if function is None:
            return _json({"message": f"no sweep {name!r}; known: {sorted(SWEEPS)}"}, 404)
        body = request.get_json(silent=True) or {}
        try:
            at = datetime.fromisoformat(body["at"]) if body.get("at") else datetime.now(UTC)
        except (TypeError, ValueError):
            return _json({"message": "at must be an RFC 3339 time"}, 400)
        if at.tzinfo is None:
            return _json({"message": "at must carry an offset"}, 400)
        return _json(
            {"sweep": name, "at": at.isoformat(), "result": invoke_scheduled(function, at)}
        )


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status, content_type="application/json")
