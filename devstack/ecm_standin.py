"""A Content Server (Extended ECM) and OTDS REST stand-in speaking the real wire formats.

Shapes follow pyxecm (opentext/pyxecm 3.4.10, otcs.py and otds.py) and the research notes: form
bodies in, `{"error": ...}` bodies out, tickets in the `OTCSTicket` header, OTDS OAuth tokens
exchanged for a ticket by `GET /api/v1/auth`. Where the real server's answer could not be checked
(the activities list, the body of a successful task update, the closed-task error, search regions)
the choice is documented in docs/ecm.md and kept small.

Deliberate simplifications: a ticket lives a fixed time from issue (the real server slides it and
returns refreshed tickets); search understands a small LQL subset (see `parse_lql`); the service
account (`workflow_manager` in the seed) may act on any task, other users only on their own.

Local-only control routes (contract §5) live under `/_inspect` and answer only loopback clients.
`create_ecm_standin()` returns the WSGI app; serve it with `devstack.http_server.BackgroundServer`.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

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


# --------------------------------------------------------------------------------- model ---


@dataclass
class User:
    login: str
    id: int
    password: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    workflow_manager: bool = False

    @classmethod
    def from_seed(cls, raw: Mapping[str, Any]) -> User:
        return cls(
            login=str(raw["login"]),
            id=int(raw["id"]),
            password=str(raw.get("password", "")),
            first_name=str(raw.get("first_name", "")),
            last_name=str(raw.get("last_name", "")),
            email=str(raw.get("email", "")),
            workflow_manager=bool(raw.get("workflow_manager", False)),
        )

    def as_member(self) -> dict[str, Any]:
        """The member record `GET /api/v1/auth` answers under `data`."""
        return {
            "id": self.id,
            "name": self.login,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "name_formatted": f"{self.first_name} {self.last_name}".strip() or self.login,
            "business_email": self.email,
            "type": 0,
            "type_name": "User",
            "deleted": False,
            "group_id": 1001,
        }


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    user: str
    may_impersonate: bool = False


@dataclass
class Task:
    process_id: int
    subprocess_id: int
    task_id: int
    title: str
    assignee: str
    initiator: str
    instructions: str = ""
    stage: str = "task"
    actions: list[dict[str, str]] = field(default_factory=list)
    custom_actions: list[dict[str, str]] = field(default_factory=list)
    document_node_id: int | None = None
    due_date: str | None = None
    priority: str | None = None
    comments_on: bool = True
    member_accept: bool = False
    authentication: bool = False
    status: str = "open"
    disposition: dict[str, str] | None = None
    acted_by: str | None = None
    review_assignee: str | None = None
    completed_at: str | None = None
    comments: list[dict[str, Any]] = field(default_factory=list)
    form_values: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.process_id, self.subprocess_id, self.task_id)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @classmethod
    def from_seed(cls, raw: Mapping[str, Any]) -> Task:
        names = set(cls.__dataclass_fields__)
        values = {k: copy.deepcopy(v) for k, v in raw.items() if k in names}
        for key in ("process_id", "subprocess_id", "task_id"):
            values[key] = int(raw[key])
        return cls(**values)

    def inspect(self) -> dict[str, Any]:
        return {
            "process_id": self.process_id,
            "subprocess_id": self.subprocess_id,
            "task_id": self.task_id,
            "title": self.title,
            "stage": self.stage,
            "assignee": self.assignee,
            "initiator": self.initiator,
            "status": self.status,
            "disposition": self.disposition,
            "disposition_taken": self.disposition["key"] if self.disposition else None,
            "acted_by": self.acted_by,
            "review_assignee": self.review_assignee,
            "completed_at": self.completed_at,
            "comments": copy.deepcopy(self.comments),
            "form_values": copy.deepcopy(self.form_values),
        }


@dataclass
class Node:
    id: int
    name: str
    type: int
    type_name: str
    parent_id: int
    mime_type: str | None = None
    description: str = ""
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_seed(cls, raw: Mapping[str, Any]) -> Node:
        return cls(
            id=int(raw["id"]),
            name=str(raw["name"]),
            type=int(raw.get("type", 144)),
            type_name=str(raw.get("type_name", "Document")),
            parent_id=int(raw.get("parent_id", -1)),
            mime_type=raw.get("mime_type"),
            description=str(raw.get("description", "")),
            categories=copy.deepcopy(dict(raw.get("categories", {}))),
        )

    def properties(self) -> dict[str, Any]:
        """`results.data.properties` as pyxecm's get_node example shows it (a subset)."""
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "type_name": self.type_name,
            "parent_id": self.parent_id,
            "volume_id": -2000,
            "description": self.description,
            "container": self.type != 144,
            "mime_type": self.mime_type,
            "create_date": "2026-01-05T09:00:00Z",
            "modify_date": "2026-11-02T16:30:00Z",
            "create_user_id": 1000,
            "owner_user_id": 1000,
            "hidden": False,
            "reserved": False,
            "favorite": False,
        }

    def category_blocks(self) -> list[dict[str, Any]]:
        return [dict(values) for _, values in sorted(self.categories.items())]

    def attribute(self, key: str) -> Any:
        """A category value by `<catId>_<attrId>`."""
        cat_id = key.split("_", 1)[0]
        return self.categories.get(cat_id, {}).get(key)


@dataclass
class Faults:
    html_200: int = 0  # answer this many /api and /otdsws requests 200 + HTML (restart)
    latency_ms: int = 0  # delay every /api and /otdsws answer
    lose_response: int = 0  # apply this many task updates, then answer 504 (response lost)
    outage_until: float = 0.0  # monotonic time until which every request answers 503
    outage_retry_after: int | None = None
    closed_task_status: int = 500

    def view(self, now: float) -> dict[str, Any]:
        return {
            "html_200": self.html_200,
            "latency_ms": self.latency_ms,
            "lose_response": self.lose_response,
            "outage_remaining_s": round(max(0.0, self.outage_until - now), 3),
            "outage_retry_after": self.outage_retry_after,
            "closed_task_status": self.closed_task_status,
        }


# ---------------------------------------------------------------------------------- LQL ---

_CLAUSE = re.compile(
    r"\s*(?P<region>[A-Za-z][A-Za-z0-9_]*)\s*:\s*(?P<op>>=|<=|!=|>|<|=)?\s*"
    r"(?P<value>\"[^\"]*\"|[^\s\"()]+)"
)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_COMPACT_DATE = re.compile(r"^\d{8}$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


@dataclass(frozen=True)
class Clause:
    region: str
    op: str
    value: str


class LqlError(ValueError):
    pass


def parse_lql(where: str) -> list[Clause]:
    """The subset: `Region:value` clauses joined by `and`. Operators after the colon: none or
    `=` (case-insensitive equality; a trailing `*` makes it a prefix match), `!=`, `>`, `>=`, `<`,
    `<=`. Values are bare words or "quoted". Anything else (or, not, parentheses, full text
    terms) is refused with 400 so a test never passes on a query the stand-in silently ignored."""
    text = where.strip()
    if not text:
        raise LqlError("empty query")
    clauses: list[Clause] = []
    pos = 0
    while True:
        match = _CLAUSE.match(text, pos)
        if match is None:
            raise LqlError(f"expected Region:value at position {pos}: {text[pos:][:40]!r}")
        value = match["value"]
        if value.startswith('"'):
            value = value[1:-1]
        clauses.append(Clause(match["region"], match["op"] or "=", value))
        pos = match.end()
        if pos >= len(text.rstrip()):
            return clauses
        joiner = _AND.match(text, pos)
        if joiner is None:
            raise LqlError(f"only 'and' may join clauses (position {pos}: {text[pos:][:20]!r})")
        pos = joiner.end()


def _normal(value: Any) -> tuple[int, Any]:
    """Comparable form: (0, number), (1, ISO date-time) or (2, casefolded text)."""
    text = str(value).strip()
    if _COMPACT_DATE.match(text):
        return (1, f"{text[:4]}-{text[4:6]}-{text[6:]}T00:00:00")
    if _ISO_DAY.match(text):
        return (1, f"{text}T00:00:00")
    if _ISO_TIME.match(text):
        return (1, text)
    try:
        return (0, float(text))
    except ValueError:
        return (2, text.casefold())


def _region_values(node: Node, region: str, ancestors: list[int]) -> list[Any]:
    name = region.casefold()
    if name == "otname":
        return [node.name]
    if name == "otsubtype":
        return [node.type]
    if name == "otparentid":
        return [node.parent_id]
    if name in ("otobject", "otdataid"):
        return [node.id]
    if name == "otlocation":
        return ancestors
    if name == "otmimetype":
        return [node.mime_type] if node.mime_type else []
    if name.startswith("attr_"):
        value = node.attribute(region[len("attr_") :])
        return [] if value is None else [value]
    raise LqlError(f"unknown region {region!r}")


def _matches(clause: Clause, values: Iterable[Any]) -> bool:
    wanted = _normal(clause.value)
    for value in values:
        got = _normal(value)
        if clause.op == "=":
            if clause.value.endswith("*"):
                prefix = clause.value[:-1].casefold()
                if str(value).casefold().startswith(prefix):
                    return True
            elif got == wanted:
                return True
            continue
        if clause.op == "!=":
            if got != wanted:
                return True
            continue
        if got[0] != wanted[0]:
            continue
        less = got[1] < wanted[1]
        equal = got[1] == wanted[1]
        if (
            (clause.op == "<" and less)
            or (clause.op == "<=" and (less or equal))
            or (clause.op == ">" and not less and not equal)
            or (clause.op == ">=" and not less)
        ):
            return True
    return False


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
                Rule("/api/v2/nodes/<int(signed=True):node_id>", endpoint="node", methods=["GET"]),
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
        if data.get("partition"):
            self.partition = str(data["partition"])
        for raw in data.get("users", []):
            user = User.from_seed(raw)
            self.users[user.login] = user
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
            self._tickets[ticket] = (login, self._clock() + self.ticket_lifetime_s)
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

    def _find_task(self, p: Any, s: Any, t: Any) -> Task:
        try:
            key = (int(p), int(s), int(t))
        except (TypeError, ValueError):
            raise _error(400, "process_id, subprocess_id and task_id must be integers") from None
        with self._lock:
            task = self.tasks.get(key)
        if task is None:
            raise _error(404, f"Could not find the workflow task {key[0]}/{key[1]}/{key[2]}.")
        return task

    @staticmethod
    def _may_act(user: User, task: Task) -> bool:
        return user.workflow_manager or user.login == task.assignee

    def _h_task_form(self, request: Request, entry: dict[str, Any]) -> Response:
        user = self._ticket_user(request, entry)
        args = request.args
        task = self._find_task(
            args.get("process_id"), args.get("subprocess_id"), args.get("task_id")
        )
        if not self._may_act(user, task):
            raise _error(403, "You do not have permission to access this task.")
        with self._lock:
            open_ = task.is_open
            data = {
                "actions": copy.deepcopy(task.actions) if open_ else [],
                "custom_actions": copy.deepcopy(task.custom_actions) if open_ else [],
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
                "message": None if open_ else "This task has already been completed.",
                "process_id": task.process_id,
                "subprocess_id": task.subprocess_id,
                "task_id": task.task_id,
                "title": task.title,
                # Not checked against a live server (pyxecm elides `task`); informational only.
                "task": {
                    "status": task.status,
                    "due_date": task.due_date,
                    "priority": task.priority,
                    "assignee": task.assignee,
                    "initiator": task.initiator,
                },
            }
        return _json({"data": data, "forms": [{"data": {}, "options": {}, "schema": {}}]})

    @staticmethod
    def _update_fields(request: Request) -> dict[str, str]:
        """Form fields, or pyxecm's single field `body=<json>`."""
        if "body" in request.form:
            try:
                parsed = json.loads(request.form["body"])
            except ValueError:
                raise _error(400, "The body parameter is not valid JSON.") from None
            if not isinstance(parsed, dict):
                raise _error(400, "The body parameter must be a JSON object.")
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in parsed.items()}
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
        if not self._may_act(user, task):
            raise _error(403, "You do not have permission to act on this task.")
        with self._lock:
            if not task.is_open:
                raise _error(self.faults.closed_task_status, CLOSED_TASK_ERROR)
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
        assignee = fields.get("assignee") or None
        if kind == "action" and key == "Delegate":
            target = self._user_ref(assignee)
            if target is None:
                raise _error(400, "Delegate needs an assignee that is a known user.")
            task.assignee = target
        elif kind == "action" and key in ("SendForReview", "Review"):
            task.status = "sent_for_review"
            task.review_assignee = self._user_ref(assignee) or task.initiator
        else:
            task.status = "completed"
        if task.status != "open":
            task.completed_at = now
        task.disposition = {"kind": kind, "key": key, "label": option.get("label", key)}
        task.acted_by = user.login
        comment = fields.get("comment", "") if task.comments_on else ""
        task.comments.append({"user": user.login, "action": key, "comment": comment, "date": now})

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
        self._ticket_user(request, entry)
        with self._lock:
            tasks = [task for key, task in sorted(self.tasks.items()) if key[:2] == (p, s)]
            if not tasks:
                raise _error(404, f"Could not find the process {p}/{s}.")
            rows = []
            for task in tasks:
                for c in task.comments:
                    user = self.users.get(c["user"])
                    rows.append(
                        {
                            "data": {
                                "action": c["action"],
                                "comment": c["comment"],
                                "date": c["date"],
                                "user_id": user.id if user else None,
                                "user_name": c["user"],
                                "task_id": task.task_id,
                                "task_title": task.title,
                            }
                        }
                    )
        rows.sort(key=lambda r: r["data"]["date"])
        href = f"/api/v2/processes/{p}/subprocesses/{s}/activities"
        return _json({"links": _self_link(href, "GET"), "results": rows})

    # -- nodes and search -----------------------------------------------------------------

    def _h_node(self, request: Request, entry: dict[str, Any], node_id: int) -> Response:
        self._ticket_user(request, entry)
        with self._lock:
            node = self.nodes.get(node_id)
        if node is None:
            raise _error(404, "Could not process object, invalid ID specified.")
        fields = ",".join(request.args.getlist("fields")) or "properties"
        data: dict[str, Any] = {"properties": node.properties()}
        if "categories" in fields:
            data["categories"] = node.category_blocks()
        href = f"/api/v2/nodes/{node_id}"
        return _json({"links": _self_link(href, "GET"), "results": {"data": data}})

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
        hits: list[tuple[Node, list[int]]] = []
        with self._lock:
            for node in sorted(self.nodes.values(), key=lambda n: n.id):
                ancestors = self._ancestors(node)
                if locations and not any(loc in ancestors for loc in locations):
                    continue
                try:
                    if all(_matches(c, _region_values(node, c.region, ancestors)) for c in clauses):
                        hits.append((node, ancestors))
                except LqlError as exc:
                    raise _error(400, f"Invalid search query: {exc}") from None
        total = len(hits)
        page_total = math.ceil(total / limit) if total else 0
        chunk = hits[(page - 1) * limit : page * limit]
        regions_wanted = sorted({c.region for c in clauses if c.region.lower().startswith("attr_")})
        results = [self._search_row(node, ancestors, regions_wanted) for node, ancestors in chunk]
        range_min = (page - 1) * limit + 1 if chunk else 0
        range_max = range_min + len(chunk) - 1 if chunk else 0
        paging: dict[str, Any] = {
            "limit": limit,
            "page": page,
            "page_total": page_total,
            "range_min": range_min,
            "range_max": range_max,
            "result_header_string": f"Results {range_min} to {range_max} of {total}",
            "total_count": total,
            "links": {},
        }
        if page < page_total:
            paging["links"]["next"] = {
                "body": "",
                "href": "/api/v2/search",
                "method": "POST",
                "name": "Next",
            }
        if page > 1:
            paging["links"]["previous"] = {
                "body": "",
                "href": "/api/v2/search",
                "method": "POST",
                "name": "Previous",
            }
        return _json(
            {
                "collection": {
                    "paging": paging,
                    "searching": {"result_title": "Search results"},
                    "sorting": {"sort": ["asc_OTObjectID"]},
                },
                "links": _self_link("/api/v2/search", "POST"),
                "results": results,
            }
        )

    def _search_row(self, node: Node, ancestors: list[int], attrs: list[str]) -> dict[str, Any]:
        regions: dict[str, Any] = {
            "OTName": node.name,
            "OTSubType": node.type,
            "OTLocation": " ".join(str(a) for a in [*reversed(ancestors), node.id]),
        }
        for block in node.categories.values():
            for key, value in block.items():
                regions[f"Attr_{key}"] = value
        for region in attrs:  # asked-for attributes appear even when empty
            regions.setdefault(region, None)
        return {
            "data": {"properties": node.properties(), "regions": regions},
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
