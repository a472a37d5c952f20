"""A Content Server (Extended ECM) and OTDS REST stand-in speaking the real wire formats.

Shapes follow pyxecm (opentext/pyxecm 3.4.10, otcs.py and otds.py), OpenText's Content Server
REST API 2.0.2 OpenAPI document and the research notes: form bodies in (or pyxecm's single
`body=<json>` field), `{"error": ...}` bodies out, tickets in the `OTCSTicket` header (a refreshed
one comes back on every authenticated answer), OTDS OAuth tokens exchanged for a ticket by
`GET /api/v1/auth`. Where public sources leave a detail open it takes the strictest reading, and
docs/ecm.md lists it as "to confirm on a real server".

Strict where the real server is: only the user whose inbox holds a step (its assignee, or a
member of its group) may open its form or send it on — nobody else, the service account
included; a finished or invisible step's form answers 500 "Could not get a workflow for p, s, t";
the workflow status and history answer workflow managers (`workflow_manager` in the seed: "see
details" rights), the initiator and the step's assignees; Review/SendForReview/Delegate need an
`assignee`, which only pyxecm's `body=<json>` can carry (the document's separate fields have
none, so a flat `assignee` is refused); a step with `authentication` is not sent on without
`authentication_info`; a group step must be accepted before it is sent on; search answers a
`regions` section only for the regions `select` names. Errors use the document's statuses and
texts: an unknown process is 400 "Could not access task status", an unknown group 500 "Could
not get a member for {id}". Search understands a small LQL subset
(devstack/ecm_lql.py).

Local-only control routes (contract §5) live under `/_inspect` and answer only loopback clients.
`create_ecm_standin()` returns the WSGI app; serve it with `devstack.http_server.BackgroundServer`.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.ecm_groups import Group, MembersRequestError, listing, members_answer, where_type
from devstack.ecm_lql import LqlError, matches, parse_lql, region_values
from devstack.ecm_model import Faults, Node, OAuthClient, Task, User
from devstack.ecm_paging import page_bounds, paging

SEED_PATH = Path(__file__).with_name("ecm_seed.json")
DEFAULT_TICKET_LIFETIME_S = 30 * 60
OTDS_TOKEN_LIFETIME_S = 3600
DEFAULT_PARTITION = "Content Server Members"
CLIENT_CREDENTIALS = "client_credentials"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
USER_ID_TOKEN_TYPE = "urn:opentext.com:oauth:string:user_id"
ISSUED_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
BOTH_ACTIONS_ERROR = "It is not allowed to execute an action and a custom action"
CLOSED_TASK_ERROR = "The task is not available. It may have been completed by another user."
NO_WORKFLOW_ERROR = "Could not get a workflow for {p}, {s}, {t}"  # REST API 2.0.2, task form 500
NO_STATUS_ERROR = "Could not access task status"  # REST API 2.0.2, status/accept 400
NO_MEMBER_ERROR = "Could not get a member for {id}"  # REST API 2.0.2, members 500
INVALID_GROUP_ERROR = "Invalid group {id}"  # REST API 2.0.2, members 500
NO_NODE_ERROR = "Could not get a node for {id}"  # REST API 2.0.2, GET /api/v2/nodes/{id} 400
BAD_LOGIN_ERROR = "Invalid username/password specified"  # REST API 2.0.2, send-on 400
ROUTED_ACTIONS = frozenset({"SendForReview", "Review", "Delegate"})
# The send-on's form fields as the REST API 2.0.2 document lists them (`sendProcess`), and the
# keys pyxecm's `update_process_task` puts into its single `body=<json>` field.
SEND_ON_FIELDS = frozenset({"action", "custom_action", "comment", "authentication_info"})
SEND_ON_BODY_KEYS = SEND_ON_FIELDS | {"assignee", "values"}
_SELECT = re.compile(r"^\{\s*'[A-Za-z][A-Za-z0-9_]*'(\s*,\s*'[A-Za-z][A-Za-z0-9_]*')*\s*\}$")
RESTART_HTML = (
    "<!DOCTYPE html><html><head><title>Content Server</title></head>"
    "<body><h1>Content Server is starting</h1><p>Please try again shortly.</p></body></html>"
)
OUTAGE_HTML = "<html><body><h1>503 Service Unavailable</h1></body></html>"
LOST_RESPONSE_HTML = "<html><body><h1>504 Gateway Time-out</h1></body></html>"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
# Which status a closed task's update gets; 500 by default (see docs/ecm.md), 400 selectable.
CLOSED_TASK_STATUSES = frozenset({400, 500})


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def load_default_seed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SEED_PATH.read_text(encoding="utf-8"))
    return data


class _Answer(Exception):
    """Raised inside a handler to answer with `response` (keeps handlers linear)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, mimetype="application/json", headers=dict(headers or {})
    )


def _error(status: int, message: str, **extra: Any) -> _Answer:
    """Content Server's error shape: `{"error": text, "errorDetail": ""}`."""
    return _Answer(_json({"error": message, "errorDetail": "", **extra}, status))


def _oauth_error(status: int, code: str, description: str) -> _Answer:
    return _Answer(_json({"error": code, "error_description": description}, status))


def _self_link(href: str, method: str) -> dict[str, Any]:
    return {
        "data": {
            "self": {"body": "", "content_type": "", "href": href, "method": method, "name": ""}
        }
    }


# ------------------------------------------------------------------------------ the app ---


class EcmStandIn:
    """The WSGI app plus in-process helpers. Thread-safe: the threaded server calls it
    concurrently, so all state changes happen under one lock."""

    def __init__(
        self,
        seed: Mapping[str, Any],
        *,
        ticket_lifetime_s: float = DEFAULT_TICKET_LIFETIME_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._initial_seed = copy.deepcopy(dict(seed))
        self._default_ticket_lifetime_s = ticket_lifetime_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self._urls = Map(
            [
                Rule("/api/v1/ping", endpoint="ping", methods=["GET"]),
                Rule("/api/v1/auth", endpoint="auth_post", methods=["POST"]),
                Rule("/api/v1/auth", endpoint="auth_get", methods=["GET"]),
                Rule("/api/v1/forms/processes/tasks/update", endpoint="task_form", methods=["GET"]),
                Rule(
                    "/api/v2/processes/<int(signed=True):p>/subprocesses/<int(signed=True):s>"
                    "/tasks/<int(signed=True):t>",
                    endpoint="task_update",
                    methods=["PUT"],
                ),
                Rule(
                    "/api/v2/processes/<int(signed=True):p>/subprocesses/<int(signed=True):s>"
                    "/activities",
                    endpoint="activities",
                    methods=["GET"],
                ),
                Rule(
                    "/api/v2/workflows/status/active", endpoint="active_workflows", methods=["GET"]
                ),
                Rule(
                    "/api/v2/workflows/status/processes/<int(signed=True):p>",
                    endpoint="workflow_status",
                    methods=["GET"],
                ),
                Rule(
                    "/api/v2/mobilegroupassignment/accept/taskid/<int(signed=True):t>"
                    "/processid/<int(signed=True):p>/subprocessid/<int(signed=True):s>",
                    endpoint="accept",
                    methods=["POST"],
                ),
                Rule("/api/v2/nodes/<int(signed=True):node_id>", endpoint="node", methods=["GET"]),
                Rule(
                    "/api/v2/members/<int(signed=True):member_id>/members",
                    endpoint="group_members",
                    methods=["GET"],
                ),
                Rule("/api/v2/search", endpoint="search", methods=["POST"]),
                Rule("/otdsws/oauth2/token", endpoint="otds_token", methods=["POST"]),
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
        )
        self.reset()

    # -- in-process helpers ---------------------------------------------------------------

    def reset(self) -> None:
        """Back to the initial seed: tasks, nodes, users; no tickets, faults or request log."""
        with self._lock:
            self.partition = DEFAULT_PARTITION
            self.users: dict[str, User] = {}
            self.groups: dict[int, Group] = {}
            # Sorted member listings per (group, where_type), until the next seed changes them.
            self._listings: dict[tuple[int, str | None], list[Mapping[str, Any]]] = {}
            self.clients: dict[str, OAuthClient] = {}
            self.tasks: dict[tuple[int, int, int], Task] = {}
            self.nodes: dict[int, Node] = {}
            self.category_names: dict[str, str] = {}
            self._tickets: dict[str, tuple[str, float]] = {}  # ticket → (login, expires)
            self._tokens: dict[str, tuple[str, float]] = {}  # OTDS token → (login, expires)
            self._requests: list[dict[str, Any]] = []
            self._logins: list[dict[str, Any]] = []
            self.faults = Faults()
            self.ticket_lifetime_s = self._default_ticket_lifetime_s
            self._load(self._initial_seed)

    def seed(self, data: Mapping[str, Any]) -> dict[str, int]:
        """Add or replace users, OAuth clients, nodes (records) and tasks by their ids."""
        with self._lock:
            return self._load(data)

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

    # -- WSGI ---------------------------------------------------------------------------

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
                    raise _error(403, "inspection routes answer loopback clients only")
            else:
                with self._lock:
                    self._requests.append(entry)
                self._pre_faults(request)
            endpoint, args = adapter.match()
            handler = getattr(self, f"_h_{endpoint}")
            response: Response = handler(request, entry, **args)
        except _Answer as answer:
            response = answer.response
        except HTTPException as exc:
            response = _json({"error": exc.description or exc.name}, exc.code or 500)
        entry["status"] = response.status_code
        if entry.get("refresh") and "OTCSTicket" not in response.headers:
            response.headers["OTCSTicket"] = entry["refresh"]
        return response

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
                raise _Answer(
                    Response(OUTAGE_HTML, status=503, mimetype="text/html", headers=headers)
                )
            if self.faults.html_200 > 0:
                self.faults.html_200 -= 1
                raise _Answer(Response(RESTART_HTML, status=200, mimetype="text/html"))

    # -- seed loading ---------------------------------------------------------------------

    def _load(self, data: Mapping[str, Any]) -> dict[str, int]:
        self._listings = {}
        if data.get("partition"):
            self.partition = str(data["partition"])
        for raw in data.get("users", []):
            user = User.from_seed(raw)
            self.users[user.login] = user
        for raw in data.get("groups", []):
            group = Group.from_seed(raw)
            self.groups[group.id] = group
        for raw in data.get("oauth_clients", []):
            client = OAuthClient(
                client_id=str(raw["client_id"]),
                client_secret=str(raw["client_secret"]),
                user=str(raw["user"]),
                may_impersonate=bool(raw.get("may_impersonate", False)),
            )
            self.clients[client.client_id] = client
        for raw in data.get("categories", []):
            self.category_names[str(raw["id"])] = str(raw.get("name", ""))
        for raw in [*data.get("nodes", []), *data.get("records", [])]:
            node = Node.from_seed(raw)
            self.nodes[node.id] = node
        for raw in data.get("tasks", []):
            task = Task.from_seed(raw)
            self.tasks[task.key] = task
        return {
            "users": len(self.users),
            "groups": len(self.groups),
            "nodes": len(self.nodes),
            "tasks": len(self.tasks),
        }

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
            raise _error(400, f"unknown fault keys: {unknown}")
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
                    raise _error(400, "closed_task_status must be 400 or 500")
                self.faults.closed_task_status = status
            if "outage_seconds" in settings:
                retry = settings.get("retry_after")
                self.outage(
                    float(settings["outage_seconds"]), None if retry is None else int(retry)
                )
        except (TypeError, ValueError) as exc:
            raise _error(400, f"bad fault value: {exc}") from None
        if settings.get("expire_tickets"):
            self._tickets.clear()
        return self.faults.view(self._clock()) | {"ticket_lifetime_s": self.ticket_lifetime_s}

    # -- authentication -------------------------------------------------------------------

    def _issue_ticket(self, login: str, via: str) -> str:
        ticket = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            if len(self._tickets) > 1000:  # every answer refreshes: drop the expired ones
                self._tickets = {t: v for t, v in self._tickets.items() if v[1] > now}
            self._tickets[ticket] = (login, now + self.ticket_lifetime_s)
            if via != "refresh":
                self._logins.append({"via": via, "user": login, "at": _utc_now()})
        return ticket

    def _ticket_user(self, request: Request, entry: dict[str, Any]) -> User:
        ticket = request.headers.get("OTCSTicket")
        if not ticket:
            raise _error(401, "Authentication required: no OTCSTicket header.")
        with self._lock:
            found = self._tickets.get(ticket)
            if found is None or self._clock() >= found[1]:
                self._tickets.pop(ticket, None)
                raise _error(401, "Session has expired or the ticket is invalid.")
            user = self.users[found[0]]
        entry["user"] = user.login
        # Content Server slides the session and answers a refreshed ticket in the header.
        entry["refresh"] = self._issue_ticket(user.login, "refresh")
        return user

    def _h_ping(self, request: Request, entry: dict[str, Any]) -> Response:
        return _json({"rest_api": [{"build": 2, "href": "api/v1", "version": 1}]})

    def _h_auth_post(self, request: Request, entry: dict[str, Any]) -> Response:
        login = request.form.get("username", "")
        password = request.form.get("password", "")
        with self._lock:
            user = self.users.get(login)
        if user is None or not password or not secrets.compare_digest(user.password, password):
            raise _error(401, "Invalid username/password specified.")
        entry["user"] = login
        return _json({"ticket": self._issue_ticket(login, "password")})

    def _h_auth_get(self, request: Request, entry: dict[str, Any]) -> Response:
        authorization = request.headers.get("Authorization", "")
        if authorization.lower().startswith("bearer "):
            token = authorization[len("bearer ") :].strip()
            with self._lock:
                found = self._tokens.get(token)
                valid = found is not None and self._clock() < found[1]
                user = self.users.get(found[0]) if found and valid else None
            if user is None:
                raise _error(401, "The OTDS token is invalid or has expired.")
            entry["user"] = user.login
            ticket = self._issue_ticket(user.login, "bearer")
            return _json({"data": user.as_member()}, headers={"OTCSTicket": ticket})
        user = self._ticket_user(request, entry)
        return _json({"data": user.as_member()})

    def _h_otds_token(self, request: Request, entry: dict[str, Any]) -> Response:
        form = request.form
        client_id = form.get("client_id") or (
            request.authorization.username if request.authorization else None
        )
        client_secret = form.get("client_secret") or (
            request.authorization.password if request.authorization else None
        )
        with self._lock:
            client = self.clients.get(client_id or "")
        if (
            client is None
            or not client_secret
            or not secrets.compare_digest(client.client_secret, client_secret)
        ):
            raise _oauth_error(401, "invalid_client", "Client authentication failed.")
        grant = form.get("grant_type", "")
        body: dict[str, Any] = {"token_type": "Bearer", "expires_in": OTDS_TOKEN_LIFETIME_S}
        if grant == CLIENT_CREDENTIALS:
            login = client.user
        elif grant == TOKEN_EXCHANGE:
            if form.get("subject_token_type") != USER_ID_TOKEN_TYPE:
                raise _oauth_error(400, "invalid_request", "Unsupported subject_token_type.")
            if not client.may_impersonate:
                raise _oauth_error(
                    400, "unauthorized_client", "The client may not impersonate users."
                )
            login, _, partition = form.get("subject_token", "").rpartition("@")
            with self._lock:
                known = login in self.users
            if partition != self.partition or not known:
                raise _oauth_error(400, "invalid_grant", "Unknown user or partition.")
            body["issued_token_type"] = ISSUED_ACCESS_TOKEN
        else:
            raise _oauth_error(400, "unsupported_grant_type", f"Unsupported grant {grant!r}.")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (login, self._clock() + OTDS_TOKEN_LIFETIME_S)
        entry["user"] = login
        return _json({"access_token": token, **body})

    # -- workflow -------------------------------------------------------------------------

    def _find_task(self, p: Any, s: Any, t: Any, *, unknown: tuple[int, str] | None = None) -> Task:
        """The step, or the route's answer for one that does not exist: `unknown` (status,
        text) where the REST API 2.0.2 document names one, else 404."""
        try:
            key = (int(p), int(s), int(t))
        except (TypeError, ValueError):
            raise _error(400, "process_id, subprocess_id and task_id must be integers") from None
        with self._lock:
            task = self.tasks.get(key)
        if task is None:
            if unknown is not None:
                raise _error(unknown[0], unknown[1].format(p=key[0], s=key[1], t=key[2]))
            raise _error(404, f"Could not find the workflow task {key[0]}/{key[1]}/{key[2]}.")
        return task

    @staticmethod
    def _holds(user: User, task: Task) -> bool:
        """Only the user whose inbox holds an open step may open or send it on."""
        return task.is_open and user.login in task.holders()

    def _may_see(self, user: User, process_id: int) -> bool:
        """Status and history: workflow managers ("see details"), the initiator, and whoever a
        step of the workflow is or was assigned to."""
        if user.workflow_manager:
            return True
        steps = [t for key, t in self.tasks.items() if key[0] == process_id]
        return any(
            user.login in (t.initiator, t.assignee, t.acted_by) or user.login in t.group
            for t in steps
        )

    def _h_task_form(self, request: Request, entry: dict[str, Any]) -> Response:
        user = self._ticket_user(request, entry)
        args = request.args
        task = self._find_task(
            args.get("process_id"),
            args.get("subprocess_id"),
            args.get("task_id"),
            unknown=(500, NO_WORKFLOW_ERROR),
        )
        with self._lock:
            if not self._holds(user, task):
                # Finished, or not in this user's inbox: the real server cannot load it.
                raise _error(
                    500,
                    NO_WORKFLOW_ERROR.format(
                        p=task.process_id, s=task.subprocess_id, t=task.task_id
                    ),
                )
            data = {
                "actions": copy.deepcopy(task.actions),
                "custom_actions": copy.deepcopy(task.custom_actions),
                "attachments_on": True,
                "authentication": task.authentication,
                "comments_on": task.comments_on,
                "member_accept": task.member_accept,
                "data_packages": [
                    {
                        "data": {"attachment_folder_id": 90000 + task.process_id},
                        "sub_type": 1,
                        "type": 1,
                    }
                ],
                "instructions": task.instructions,
                "message": None,
                "process_id": task.process_id,
                "subprocess_id": task.subprocess_id,
                "task_id": task.task_id,
                "title": task.title,
                "task": {},  # pyxecm elides it; nothing of it is relied upon
            }
        return _json({"data": data, "forms": [{"data": {}, "options": {}, "schema": {}}]})

    @staticmethod
    def _update_fields(request: Request) -> dict[str, str]:
        """The REST API 2.0.2 document's separate form fields (`action`, `custom_action`,
        `comment`, `authentication_info`), or pyxecm's single field `body=<json>`, which alone
        carries `assignee` and `values`. Neither source knows a flat `assignee` (a real server
        would ignore it and send the step nowhere): refused, like any field of neither, and a
        `body` mixed with separate fields."""
        names = set(request.form)
        if "body" in names:
            if names != {"body"}:
                extra = ", ".join(sorted(names - {"body"}))
                raise _error(
                    400, f"Send either body=<json> or separate fields, not both ({extra})."
                )
            try:
                parsed = json.loads(request.form["body"])
            except ValueError:
                raise _error(400, "The body parameter is not valid JSON.") from None
            if not isinstance(parsed, dict):
                raise _error(400, "The body parameter must be a JSON object.")
            unknown = sorted(set(parsed) - SEND_ON_BODY_KEYS)
            if unknown:
                raise _error(400, f"Unknown parameter(s) in body: {', '.join(unknown)}.")
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in parsed.items()}
        unknown = sorted(names - SEND_ON_FIELDS)
        if unknown:
            raise _error(
                400,
                f"Unknown parameter(s): {', '.join(unknown)}. The form fields are "
                f"{', '.join(sorted(SEND_ON_FIELDS))}; an assignee goes inside body=<json>.",
            )
        return {k: request.form[k] for k in request.form}

    def _h_task_update(
        self, request: Request, entry: dict[str, Any], p: int, s: int, t: int
    ) -> Response:
        user = self._ticket_user(request, entry)
        task = self._find_task(p, s, t)
        fields = self._update_fields(request)
        action = fields.get("action") or None
        custom = fields.get("custom_action") or None
        if action and custom:
            raise _error(400, BOTH_ACTIONS_ERROR)
        if not action and not custom:
            raise _error(400, "An action or a custom action is required.")
        with self._lock:
            if not task.is_open:
                raise _error(self.faults.closed_task_status, CLOSED_TASK_ERROR)
            if not self._holds(user, task):
                raise _error(
                    500,
                    NO_WORKFLOW_ERROR.format(
                        p=task.process_id, s=task.subprocess_id, t=task.task_id
                    ),
                )
            if task.member_accept and task.group:
                raise _error(400, "This group assignment must be accepted before it is sent on.")
            if action != "formUpdate" and task.authentication:
                self._check_authentication(user, fields.get("authentication_info"))
            if action == "formUpdate":
                values = json.loads(fields.get("values", "{}") or "{}")
                task.form_values.update(values if isinstance(values, dict) else {})
                return self._update_ok(p, s, t)
            offered = task.custom_actions if custom else task.actions
            key = custom or action or ""
            option = next((o for o in offered if o["key"] == key), None)
            if option is None:
                kind = "custom action" if custom else "action"
                raise _error(400, f"The {kind} '{key}' is not available for this task.")
            self._apply(task, user, "custom_action" if custom else "action", option, fields)
            if self.faults.lose_response > 0:
                self.faults.lose_response -= 1
                raise _Answer(Response(LOST_RESPONSE_HTML, status=504, mimetype="text/html"))
        return self._update_ok(p, s, t)

    def _apply(
        self, task: Task, user: User, kind: str, option: dict[str, str], fields: dict[str, str]
    ) -> None:
        now = _utc_now()
        key = option["key"]
        target: str | None = None
        if kind == "action" and key in ROUTED_ACTIONS:
            target = self._user_ref(fields.get("assignee") or None)
            if target is None:
                raise _error(400, f"The action '{key}' needs an assignee that is a known user.")
        if kind == "action" and key == "Delegate":
            task.assignee = target or task.assignee
        elif kind == "action" and key in ROUTED_ACTIONS:
            task.status = "sent_for_review"
            task.review_assignee = target
        else:
            task.status = "completed"
        if task.status != "open":
            task.completed_at = now
        task.disposition = {"kind": kind, "key": key, "label": option.get("label", key)}
        task.acted_by = user.login
        comment = fields.get("comment", "") if task.comments_on else ""
        task.comments.append(
            {
                "user": user.login,
                "action": key,
                "kind": kind,
                "label": option.get("label", key),
                "target": target,
                "comment": comment,
                "date": now,
            }
        )

    @staticmethod
    def _check_authentication(user: User, info: str | None) -> None:
        """A step with `authentication` is sent on only with `authentication_info` naming the
        acting user's credentials; without it a real server answers 400 (REST API 2.0.2 lists
        "Invalid username/password specified"). Its format is undocumented: the stand-in takes
        a JSON object `{"username", "password"}` (to confirm on a real server)."""
        try:
            given = json.loads(info or "")
        except ValueError:
            given = None
        if not (
            isinstance(given, dict)
            and given.get("username") == user.login
            and isinstance(given.get("password"), str)
            and secrets.compare_digest(given["password"], user.password)
        ):
            raise _error(400, BAD_LOGIN_ERROR)

    def _user_ref(self, value: str | None) -> str | None:
        """An assignee given as login or numeric user id, as a login."""
        if not value:
            return None
        if value in self.users:
            return value
        return next((u.login for u in self.users.values() if str(u.id) == value), None)

    @staticmethod
    def _update_ok(p: int, s: int, t: int) -> Response:
        href = f"/api/v2/processes/{p}/subprocesses/{s}/tasks/{t}"
        return _json({"links": _self_link(href, "PUT"), "results": {}})

    def _h_activities(self, request: Request, entry: dict[str, Any], p: int, s: int) -> Response:
        """`results.data[]` of `{action, action_properties{label, event, user_id}, comment,
        date, user_id}` (REST API 2.0.2 `processes_WorkflowActivitiesInfo`): no task id."""
        user = self._ticket_user(request, entry)
        with self._lock:
            tasks = [task for key, task in sorted(self.tasks.items()) if key[:2] == (p, s)]
            if not tasks or not self._may_see(user, p):  # as the workflow status
                raise _error(400, NO_STATUS_ERROR)
            rows = []
            for task in tasks:
                for c in task.comments:
                    actor = self.users.get(c["user"])
                    target = self.users.get(c.get("target") or "")
                    props: dict[str, Any] = {
                        "label": c.get("label", c["action"]),
                        "event": "disposition" if c.get("kind") == "custom_action" else "action",
                    }
                    if target is not None:
                        props["user_id"] = target.id
                    rows.append(
                        {
                            "action": c["action"],
                            "action_properties": props,
                            "comment": c["comment"],
                            "date": c["date"],
                            "user_id": actor.id if actor else None,
                        }
                    )
        rows.sort(key=lambda r: r["date"])
        href = f"/api/v2/processes/{p}/subprocesses/{s}/activities"
        return _json({"links": _self_link(href, "GET"), "results": {"data": rows}})

    def _user_record(self, login: str) -> dict[str, Any] | None:
        """A user as the members routes list it, or None for an unknown login."""
        user = self.users.get(login)
        return user.as_member() if user else None

    def _member(self, login: str) -> dict[str, Any]:
        user = self.users.get(login)
        return {
            "userId": user.id if user else None,
            "loginName": login,
            "firstName": user.first_name if user else "",
            "lastName": user.last_name if user else "",
            "emailAddress": user.email if user else "",
            "phone": "",
        }

    def _step(self, task: Task) -> dict[str, Any]:
        holders = task.holders() if task.is_open else [task.acted_by or task.assignee]
        return {
            "process_id": task.process_id,
            "subprocess_id": task.subprocess_id,
            "task_id": task.task_id,
            "task_name": task.title,
            "task_due_date": task.due_date or "",
            "task_start_date": "2026-11-20T09:00:00",
            "task_status": "ontime" if task.is_open else "completed",
            "task_assignees": {
                "assignee": [self._member(login) for login in holders],
                "assigneeCount": len(holders),
                "currentAssignee": " ",
            },
        }

    def _h_workflow_status(self, request: Request, entry: dict[str, Any], p: int) -> Response:
        """The shape of pyxecm's `get_workflow_status` example (REST API 2.0.2
        `workflow_Process_TaskListInfo`)."""
        user = self._ticket_user(request, entry)
        with self._lock:
            tasks = [task for key, task in sorted(self.tasks.items()) if key[0] == p]
            if not tasks or not self._may_see(user, p):
                # REST API 2.0.2: no such process and no right to see it answer alike.
                raise _error(400, NO_STATUS_ERROR)
            first = tasks[0]
            any_open = any(t.is_open for t in tasks)
            body = {
                "attachments": {"attachment_folder_id": 90000 + p},
                "data_packages": [
                    {"TYPE": 1, "SUBTYPE": 1, "USERDATA": 90000 + p, "DESCRIPTION": ""}
                ],
                "permissions": dict.fromkeys(
                    (
                        "Archive",
                        "ChangeAttr",
                        "ChangeRoute",
                        "Delete",
                        "ManagerPerms",
                        "SeeDetail",
                        "Stop",
                        "Suspend",
                    ),
                    user.workflow_manager,
                ),
                "step_list": {
                    "completed": [self._step(t) for t in tasks if not t.is_open],
                    "current": [self._step(t) for t in tasks if t.is_open],
                    "next": [],
                },
                "wf_details": {
                    "date_initiated": "2026-11-20T09:00:00",
                    "due_date": "",
                    "initiator": {
                        k: v
                        for k, v in self._member(first.initiator).items()
                        if k in ("firstName", "lastName", "loginName", "userId")
                    },
                    "status": "ontime" if any_open else "completed",
                    "wf_name": first.title,
                    "work_workID": p,
                },
            }
        href = f"/api/v2/workflows/status/processes/{p}"
        return _json({"links": _self_link(href, "GET"), "results": body})

    def _h_active_workflows(self, request: Request, entry: dict[str, Any]) -> Response:
        """Running (sub)processes with an open step, for workflow managers (others manage none
        here), optionally of one map (`mapObjId`)."""
        user = self._ticket_user(request, entry)
        wanted = request.args.get("mapObjId")
        if wanted is not None and not wanted.lstrip("-").isdigit():
            raise _error(400, "Invalid datatype specified for argument 'mapObjId'")
        rows: dict[tuple[int, int], dict[str, Any]] = {}
        with self._lock:
            for task in sorted(self.tasks.values(), key=lambda t: t.key):
                if not (user.workflow_manager and task.is_open):
                    continue
                if wanted is not None and task.map_id != int(wanted):
                    continue
                rows.setdefault(
                    (task.process_id, task.subprocess_id),
                    {
                        "Work_WorkID": task.process_id,
                        "Work_Status": 0,
                        "Work_OwnerID": 1000,
                        "Work_ManagerID": 1000,
                        "Work_DateDue_Max": task.due_date or "",
                        "SubWork_SubWorkID": task.subprocess_id,
                        "SubWork_DateInitiated": "2026-11-20T09:00:00",
                        "SubWork_DateDue_Max": task.due_date or "",
                        "SubWork_Title": task.title,
                        "SubWork_Status": 0,
                        "Map_MapID": task.map_id,
                        "Map_MapObjID": task.map_id,
                        "comments_on": int(task.comments_on),
                    },
                )
        return _json({"links": [], "results": list(rows.values())})

    def _h_accept(
        self, request: Request, entry: dict[str, Any], t: int, p: int, s: int
    ) -> Response:
        """Accept a group step into the caller's own inbox (`member_accept`). The answer is
        REST API 2.0.2 `mobile_workflows_AcceptTask`, `{"results": {"accept": bool}}`: false for
        a member of the group when another member took the step first (the stand-in's reading,
        to confirm on a real server); 400 "Could not access task status" for anyone else."""
        user = self._ticket_user(request, entry)
        task = self._find_task(p, s, t, unknown=(400, NO_STATUS_ERROR))
        with self._lock:
            if task.is_open and user.login in task.group and not task.member_accept:
                # Already accepted: by this member (a repeat) or by another one first.
                return _json({"results": {"accept": task.assignee == user.login}})
            if not task.is_open or user.login not in task.holders():
                raise _error(400, NO_STATUS_ERROR)
            if not (task.member_accept and task.group):
                raise _error(400, "This task is not a group assignment.")
            task.assignee = user.login
            task.member_accept = False
        return _json({"results": {"accept": True}})

    # -- nodes and search -----------------------------------------------------------------

    def _h_node(self, request: Request, entry: dict[str, Any], node_id: int) -> Response:
        self._ticket_user(request, entry)
        with self._lock:
            node = self.nodes.get(node_id)
        if node is None:
            raise _error(400, NO_NODE_ERROR.format(id=node_id))
        fields = ",".join(request.args.getlist("fields")) or "properties"
        data: dict[str, Any] = {"properties": node.properties()}
        if "categories" in fields:
            data["categories"] = node.category_blocks()
        href = f"/api/v2/nodes/{node_id}"
        return _json({"links": _self_link(href, "GET"), "results": {"data": data}})

    def _h_group_members(self, request: Request, entry: dict[str, Any], member_id: int) -> Response:
        self._ticket_user(request, entry)
        with self._lock:
            group = self.groups.get(member_id)
            if group is None:  # REST API 2.0.2: a user's id, or no member at all, is a 500
                if any(u.id == member_id for u in self.users.values()):
                    raise _error(500, INVALID_GROUP_ERROR.format(id=member_id))
                raise _error(500, NO_MEMBER_ERROR.format(id=member_id))
            try:
                kind = where_type(request.args)
                members = self._listings.get((member_id, kind))
                if members is None:
                    members = listing(
                        group, kind, user=self._user_record, group_by_id=self.groups.get
                    )
                    self._listings[(member_id, kind)] = members
                body = members_answer(group, members, request.args)
            except MembersRequestError as exc:
                raise _error(400, str(exc)) from None
        return _json(body)

    def _ancestors(self, node: Node) -> list[int]:
        chain: list[int] = []
        current = self.nodes.get(node.parent_id)
        while current is not None and current.id not in chain:
            chain.append(current.id)
            current = self.nodes.get(current.parent_id)
        return chain

    def _h_search(self, request: Request, entry: dict[str, Any]) -> Response:
        self._ticket_user(request, entry)
        form = request.form
        try:
            clauses = parse_lql(form.get("where", ""))
            page = int(form.get("page", "1"))
            limit = int(form.get("limit", "10"))
            locations = [
                int(v) for k, v in form.items() if re.fullmatch(r"location_id\d+", k) and v
            ]
        except LqlError as exc:
            raise _error(400, f"Invalid search query: {exc}") from None
        except ValueError:
            raise _error(400, "page, limit and location ids must be integers") from None
        if page < 1 or limit < 1:
            raise _error(400, "page and limit must be positive")
        select = form.get("select")
        if select is not None and not _SELECT.match(select):
            raise _error(400, "Invalid datatype specified for argument 'select'")
        wanted = re.findall(r"'([A-Za-z][A-Za-z0-9_]*)'", select or "")
        hits: list[tuple[Node, list[int]]] = []
        with self._lock:
            for node in sorted(self.nodes.values(), key=lambda n: n.id):
                ancestors = self._ancestors(node)
                if locations and not any(loc in ancestors for loc in locations):
                    continue
                try:
                    if all(matches(c, region_values(node, c.region, ancestors)) for c in clauses):
                        hits.append((node, ancestors))
                except LqlError as exc:
                    raise _error(400, f"Invalid search query: {exc}") from None
        start, end = page_bounds(len(hits), page, limit)
        results = [self._search_row(node, ancestors, wanted) for node, ancestors in hits[start:end]]
        block = paging(len(hits), page, limit, href="/api/v2/search", method="POST")
        return _json(
            {
                "collection": {
                    "paging": block,
                    "searching": {"result_title": "Search results"},
                    "sorting": {"sort": ["asc_OTObjectID"]},
                },
                "links": _self_link("/api/v2/search", "POST"),
                "results": results,
            }
        )

    def _search_row(self, node: Node, ancestors: list[int], select: list[str]) -> dict[str, Any]:
        """A hit; a `regions` section only for the regions `select` named (REST API 2.0.2: "Adding
        a value in the above list will add a 'regions' section"), an unknown one as null."""
        data: dict[str, Any] = {"properties": node.properties()}
        if select:
            regions: dict[str, Any] = {}
            for region in select:
                try:
                    values = region_values(node, region, ancestors)
                except LqlError:
                    values = []
                if region.casefold() == "otlocation":
                    values = [" ".join(str(a) for a in [*reversed(ancestors), node.id])]
                regions[region] = values[0] if values else None
            data["regions"] = regions
        return {
            "data": data,
            "links": {"parent": {"href": f"api/v1/nodes/{node.parent_id}"}},
            "search_result_metadata": {
                "current_version": True,
                "object_id": f"DataId={node.id}&Version=1",
                "result_type": "264",
            },
        }

    # -- inspection ----------------------------------------------------------------------

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if not request.get_data():
            return {}
        try:
            body = json.loads(request.get_data())
        except ValueError:
            raise _error(400, "body must be JSON") from None
        if not isinstance(body, dict):
            raise _error(400, "body must be a JSON object")
        return body

    def _h_inspect_summary(self, request: Request, entry: dict[str, Any]) -> Response:
        with self._lock:
            now = self._clock()
            return _json(
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
        return _json({"status": "reset"})

    def _h_inspect_tasks(self, request: Request, entry: dict[str, Any]) -> Response:
        with self._lock:
            return _json({"tasks": [t.inspect() for _, t in sorted(self.tasks.items())]})

    def _h_inspect_task(
        self, request: Request, entry: dict[str, Any], p: int, s: int, t: int
    ) -> Response:
        try:
            return _json(self.task(p, s, t))
        except KeyError:
            raise _error(404, f"no task {p}/{s}/{t}") from None

    def _h_inspect_requests(self, request: Request, entry: dict[str, Any]) -> Response:
        return _json({"requests": self.requests(request.args.get("path", ""))})

    def _h_inspect_outage(self, request: Request, entry: dict[str, Any]) -> Response:
        body = self._body(request)
        try:
            seconds = float(body.get("seconds", 0))
            retry = body.get("retry_after")
            retry_after = None if retry is None else int(retry)
        except (TypeError, ValueError):
            raise _error(400, "seconds and retry_after must be numbers") from None
        self.outage(seconds, retry_after)
        with self._lock:
            return _json(self.faults.view(self._clock()))

    def _h_inspect_faults(self, request: Request, entry: dict[str, Any]) -> Response:
        body = self._body(request)
        with self._lock:
            return _json(self._apply_faults(body))

    def _h_inspect_seed(self, request: Request, entry: dict[str, Any]) -> Response:
        body = self._body(request)
        try:
            counts = self.seed(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise _error(400, f"bad seed: {exc!r}") from None
        return _json(counts)


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
