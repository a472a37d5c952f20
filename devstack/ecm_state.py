"""What the Content Server stand-in holds, shared by its route modules (devstack/ecm_auth.py,
ecm_workflows.py, ecm_nodes.py, ecm_members.py, ecm_inspect.py): the seed's users, groups, OAuth
clients, nodes and steps, the tickets and tokens issued, the request log and the faults. Every
change happens under the one lock: the threaded server calls the app concurrently."""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from devstack.ecm_groups import Group
from devstack.ecm_model import Faults, Node, OAuthClient, Task, User

DEFAULT_TICKET_LIFETIME_S = 30 * 60
DEFAULT_PARTITION = "Content Server Members"


class EcmState:
    """The stand-in's data, loaded from a seed and back to it on `reset()`."""

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
        self.reset()

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
            # OTDS users without a Content Server account (devstack/otds_sign_in.py).
            self.otds_only_users: dict[str, dict[str, Any]] = {}
            self._codes: dict[str, Any] = {}  # authorization code → otds_sign_in.IssuedCode
            self._requests: list[dict[str, Any]] = []
            self._logins: list[dict[str, Any]] = []
            self.faults = Faults()
            self.ticket_lifetime_s = self._default_ticket_lifetime_s
            self._load(self._initial_seed)

    def seed(self, data: Mapping[str, Any]) -> dict[str, int]:
        """Add or replace users, OAuth clients, nodes (records) and tasks by their ids."""
        with self._lock:
            return self._load(data)

    def _load(self, data: Mapping[str, Any]) -> dict[str, int]:
        self._listings = {}
        if data.get("partition"):
            self.partition = str(data["partition"])
        for raw in data.get("users", []):
            user = User.from_seed(raw)
            self.users[user.login] = user
        for raw in data.get("otds_users", []):
            self.otds_only_users[str(raw["name"])] = dict(raw)
        for raw in data.get("groups", []):
            group = Group.from_seed(raw)
            self.groups[group.id] = group
        for raw in data.get("oauth_clients", []):
            client = OAuthClient(
                client_id=str(raw["client_id"]),
                client_secret=str(raw["client_secret"]),
                user=str(raw["user"]),
                may_impersonate=bool(raw.get("may_impersonate", False)),
                redirect_urls=tuple(str(url) for url in raw.get("redirect_urls", [])),
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
