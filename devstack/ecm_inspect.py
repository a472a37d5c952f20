"""The Content Server stand-in's local-only control surface (contract §5): `/_inspect` routes,
answered only to loopback clients, and the same helpers in process (`task`, `seed`, `reset`,
`expire_tickets`, `outage`, `set_faults`, `requests`, `logins`); the faults they set (outage,
latency, an HTML 200 while "restarting", a lost response, a closed step's status) and
`_pre_faults`, which applies them before any other route runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from devstack.ecm_state import EcmState
from devstack.ecm_wire import Answer, error, json_response

RESTART_HTML = (
    "<!DOCTYPE html><html><head><title>Content Server</title></head>"
    "<body><h1>Content Server is starting</h1><p>Please try again shortly.</p></body></html>"
)
OUTAGE_HTML = "<html><body><h1>503 Service Unavailable</h1></body></html>"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
# Which status a closed task's update gets; 500 by default (see docs/ecm.md), 400 selectable.
CLOSED_TASK_STATUSES = frozenset({400, 500})

ROUTES = [
    Rule("/_inspect", endpoint="inspect_summary", methods=["GET"]),
    Rule("/_inspect", endpoint="inspect_reset", methods=["DELETE"]),
    Rule("/_inspect/tasks", endpoint="inspect_tasks", methods=["GET"]),
    Rule(
        "/_inspect/tasks/<int(signed=True):p>/<int(signed=True):s>/<int(signed=True):t>",
        endpoint="inspect_task",
        methods=["GET"],
    ),
    Rule("/_inspect/requests", endpoint="inspect_requests", methods=["GET"]),
    Rule("/_inspect/outage", endpoint="inspect_outage", methods=["POST"]),
    Rule("/_inspect/faults", endpoint="inspect_faults", methods=["POST"]),
    Rule("/_inspect/seed", endpoint="inspect_seed", methods=["POST"]),
]


class InspectRoutes(EcmState):
    """`/_inspect/*` and their in-process twins, for tests and the local stack."""

    def task(self, process_id: int, subprocess_id: int, task_id: int) -> dict[str, Any]:
        """Recorded state of one task (status, disposition, acted_by, comments)."""
        with self._lock:
            found = self.tasks.get((int(process_id), int(subprocess_id), int(task_id)))
            if found is None:
                raise KeyError(f"no task {process_id}/{subprocess_id}/{task_id}")
            return found.inspect()

    def expire_tickets(self) -> None:
        """Every ticket issued so far answers 401 from now on."""
        with self._lock:
            self._tickets.clear()

    def outage(self, seconds: float, retry_after: int | None = None) -> None:
        """Answer every non-inspect request 503 for `seconds`."""
        with self._lock:
            self.faults.outage_until = self._clock() + max(0.0, seconds)
            self.faults.outage_retry_after = retry_after

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Same keys as `POST /_inspect/faults`."""
        with self._lock:
            return self._apply_faults(settings)

    def requests(self, path_prefix: str = "") -> list[dict[str, Any]]:
        """Every non-inspect request seen, oldest first: method, path, user, status."""
        with self._lock:
            return [dict(r) for r in self._requests if r["path"].startswith(path_prefix)]

    def logins(self) -> list[dict[str, Any]]:
        """Every ticket issued, oldest first: `via` password or bearer, and the user."""
        with self._lock:
            return [dict(r) for r in self._logins]

    def _pre_faults(self, request: Request) -> None:
        with self._lock:
            latency = self.faults.latency_ms
        if latency > 0:
            self._sleep(latency / 1000)
        with self._lock:
            if self._clock() < self.faults.outage_until:
                headers = {}
                if self.faults.outage_retry_after is not None:
                    headers["Retry-After"] = str(self.faults.outage_retry_after)
                raise Answer(
                    Response(OUTAGE_HTML, status=503, mimetype="text/html", headers=headers)
                )
            if self.faults.html_200 > 0:
                self.faults.html_200 -= 1
                raise Answer(Response(RESTART_HTML, status=200, mimetype="text/html"))

    def _apply_faults(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        known = {
            "html_200",
            "latency_ms",
            "expire_tickets",
            "ticket_lifetime_s",
            "lose_response",
            "closed_task_status",
            "outage_seconds",
            "retry_after",
        }
        unknown = sorted(set(settings) - known)
        if unknown:
            raise error(400, f"unknown fault keys: {unknown}")
        try:
            if "html_200" in settings:
                self.faults.html_200 = max(0, int(settings["html_200"]))
            if "latency_ms" in settings:
                self.faults.latency_ms = max(0, int(settings["latency_ms"]))
            if "lose_response" in settings:
                self.faults.lose_response = max(0, int(settings["lose_response"]))
            if "ticket_lifetime_s" in settings:
                self.ticket_lifetime_s = float(settings["ticket_lifetime_s"])
            if "closed_task_status" in settings:
                status = int(settings["closed_task_status"])
                if status not in CLOSED_TASK_STATUSES:
                    raise error(400, "closed_task_status must be 400 or 500")
                self.faults.closed_task_status = status
            if "outage_seconds" in settings:
                retry = settings.get("retry_after")
                self.outage(
                    float(settings["outage_seconds"]), None if retry is None else int(retry)
                )
        except (TypeError, ValueError) as exc:
            raise error(400, f"bad fault value: {exc}") from None
        if settings.get("expire_tickets"):
            self._tickets.clear()
        return self.faults.view(self._clock()) | {"ticket_lifetime_s": self.ticket_lifetime_s}

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if not request.get_data():
            return {}
        try:
            body = json.loads(request.get_data())
        except ValueError:
            raise error(400, "body must be JSON") from None
        if not isinstance(body, dict):
            raise error(400, "body must be a JSON object")
        return body

    def _h_inspect_summary(self, request: Request, entry: dict[str, Any]) -> Response:
        with self._lock:
            now = self._clock()
            return json_response(
                {
                    "faults": self.faults.view(now),
                    "ticket_lifetime_s": self.ticket_lifetime_s,
                    "tickets_active": sum(1 for _, exp in self._tickets.values() if exp > now),
                    "logins": len(self._logins),
                    "requests": len(self._requests),
                    "tasks": len(self.tasks),
                    "nodes": len(self.nodes),
                }
            )

    def _h_inspect_reset(self, request: Request, entry: dict[str, Any]) -> Response:
        self.reset()
        return json_response({"status": "reset"})

    def _h_inspect_tasks(self, request: Request, entry: dict[str, Any]) -> Response:
        with self._lock:
            return json_response({"tasks": [t.inspect() for _, t in sorted(self.tasks.items())]})

    def _h_inspect_task(
        self, request: Request, entry: dict[str, Any], p: int, s: int, t: int
    ) -> Response:
        try:
            return json_response(self.task(p, s, t))
        except KeyError:
            raise error(404, f"no task {p}/{s}/{t}") from None

    def _h_inspect_requests(self, request: Request, entry: dict[str, Any]) -> Response:
        return json_response({"requests": self.requests(request.args.get("path", ""))})

    def _h_inspect_outage(self, request: Request, entry: dict[str, Any]) -> Response:
        body = self._body(request)
        try:
            seconds = float(body.get("seconds", 0))
            retry = body.get("retry_after")
            retry_after = None if retry is None else int(retry)
        except (TypeError, ValueError):
            raise error(400, "seconds and retry_after must be numbers") from None
        self.outage(seconds, retry_after)
        with self._lock:
            return json_response(self.faults.view(self._clock()))

    def _h_inspect_faults(self, request: Request, entry: dict[str, Any]) -> Response:
        body = self._body(request)
        with self._lock:
            return json_response(self._apply_faults(body))

    def _h_inspect_seed(self, request: Request, entry: dict[str, Any]) -> Response:
        body = self._body(request)
        try:
            counts = self.seed(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise error(400, f"bad seed: {exc!r}") from None
        return json_response(counts)
