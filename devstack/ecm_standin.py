"""A Content Server (Extended ECM) and OTDS REST stand-in speaking the real wire formats.

Shapes follow pyxecm (opentext/pyxecm 3.4.10, otcs.py and otds.py), OpenText's Content Server
REST API 2.0.2 OpenAPI document and the research notes; where public sources leave a detail
open it takes the strictest reading, and docs/ecm.md lists it as "to confirm on a real server".
This module assembles the app from one module per concern: sign-in (ecm_auth; OTDS's
authorization code flow in otds_sign_in), workflow steps
(ecm_workflows), nodes and search (ecm_nodes), group members (ecm_members) and the loopback-only
`/_inspect` control routes (ecm_inspect), over the state of ecm_state.
`create_ecm_standin()` returns the WSGI app; serve it with `devstack.http_server.BackgroundServer`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from devstack import ecm_auth, ecm_inspect, ecm_members, ecm_nodes, ecm_workflows, otds_sign_in
from devstack.ecm_inspect import LOOPBACK, InspectRoutes
from devstack.ecm_members import MemberRoutes
from devstack.ecm_nodes import NodeRoutes
from devstack.ecm_state import DEFAULT_TICKET_LIFETIME_S
from devstack.ecm_wire import Answer, error, json_response
from devstack.ecm_workflows import BOTH_ACTIONS_ERROR, NO_STATUS_ERROR, WorkflowRoutes
from devstack.otds_sign_in import OtdsSignInRoutes

__all__ = [
    "BOTH_ACTIONS_ERROR",
    "NO_STATUS_ERROR",
    "SEED_PATH",
    "EcmStandIn",
    "create_ecm_standin",
    "load_default_seed",
]

SEED_PATH = Path(__file__).with_name("ecm_seed.json")
_ROUTE_MODULES = (ecm_auth, otds_sign_in, ecm_workflows, ecm_nodes, ecm_members, ecm_inspect)


def load_default_seed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SEED_PATH.read_text(encoding="utf-8"))
    return data


class EcmStandIn(OtdsSignInRoutes, WorkflowRoutes, NodeRoutes, MemberRoutes, InspectRoutes):
    """The WSGI app plus in-process helpers. Thread-safe: the threaded server calls it
    concurrently, so all state changes happen under one lock. A route's endpoint `x` is
    answered by the method `_h_x` of the module that lists its rule."""

    def __init__(
        self,
        seed: Mapping[str, Any],
        *,
        ticket_lifetime_s: float = DEFAULT_TICKET_LIFETIME_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # A Rule binds to one Map: every app gets unbound copies of the modules' rules.
        self._urls = Map([rule.empty() for module in _ROUTE_MODULES for rule in module.ROUTES])
        super().__init__(seed, ticket_lifetime_s=ticket_lifetime_s, clock=clock, sleep=sleep)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self._urls.bind_to_environ(request.environ)
        inspect = request.path.startswith("/_inspect")
        entry: dict[str, Any] = {
            "seq": next(self._seq),
            "method": request.method,
            "path": request.path,
            "user": None,
            "status": None,
        }
        try:
            if inspect:
                if (request.remote_addr or "") not in LOOPBACK:
                    raise error(403, "inspection routes answer loopback clients only")
            else:
                with self._lock:
                    self._requests.append(entry)
                self._pre_faults(request)
            endpoint, args = adapter.match()
            handler = getattr(self, f"_h_{endpoint}")
            response: Response = handler(request, entry, **args)
        except Answer as answer:
            response = answer.response
        except HTTPException as exc:
            response = json_response({"error": exc.description or exc.name}, exc.code or 500)
        entry["status"] = response.status_code
        if entry.get("refresh") and "OTCSTicket" not in response.headers:
            response.headers["OTCSTicket"] = entry["refresh"]
        return response


def create_ecm_standin(
    seed: Mapping[str, Any] | None = None,
    *,
    ticket_lifetime_s: float = DEFAULT_TICKET_LIFETIME_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> EcmStandIn:
    """The stand-in loaded with `seed` (default: devstack/ecm_seed.json)."""
    return EcmStandIn(
        load_default_seed() if seed is None else seed,
        ticket_lifetime_s=ticket_lifetime_s,
        clock=clock,
        sleep=sleep,
    )
