"""What the Content Server stand-in holds: users, OAuth clients, workflow steps, nodes, and the
faults it is told to inject. Plain data with the few rules of Content Server that belong to the
things themselves (who holds a step, a node's properties as `GET /api/v2/nodes` shows them);
the routes are in the modules devstack/ecm_standin.py assembles."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONTENT_DIR = Path(__file__).with_name("ecm_content")


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
    redirect_urls: tuple[str, ...] = ()  # where /otdsws/oauth2/auth may send a code


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
    group: list[str] = field(default_factory=list)  # members of the group the step is assigned to
    map_id: int = 30000  # the workflow map the process runs
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

    def holders(self) -> list[str]:
        """Whose inbox holds the step: its group's members until one accepts it, else the
        assignee."""
        return list(self.group) if self.member_accept and self.group else [self.assignee]

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
            "group": list(self.group),
            "member_accept": self.member_accept,
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
    # The document's bytes: a file under devstack/ecm_content/ (documents only).
    content_file: str | None = None
    # Content Server's permissions, reduced to the two a reader needs: who may see the node
    # ("See") and who may open its content ("See Contents", which implies See). Entries are
    # logins or group ids. None: Public Access, everyone may do both.
    see: list[str | int] | None = None
    see_contents: list[str | int] | None = None

    @classmethod
    def from_seed(cls, raw: Mapping[str, Any]) -> Node:
        permissions = raw.get("permissions")
        return cls(
            id=int(raw["id"]),
            name=str(raw["name"]),
            type=int(raw.get("type", 144)),
            type_name=str(raw.get("type_name", "Document")),
            parent_id=int(raw.get("parent_id", -1)),
            mime_type=raw.get("mime_type"),
            description=str(raw.get("description", "")),
            categories=copy.deepcopy(dict(raw.get("categories", {}))),
            content_file=raw.get("content_file"),
            see=None if permissions is None else list(permissions.get("see", [])),
            see_contents=None if permissions is None else list(permissions.get("see_contents", [])),
        )

    def may_see(self, principals: set[str | int]) -> bool:
        """`principals`: a user's login and the ids of the groups it is in."""
        if self.see is None:
            return True
        return bool(principals & {*self.see, *(self.see_contents or [])})

    def may_open(self, principals: set[str | int]) -> bool:
        if self.see_contents is None:
            return True
        return bool(principals & set(self.see_contents))

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
            "size": self.size,
            "container_size": 0,
            "create_date": "2026-01-05T09:00:00Z",
            "modify_date": "2026-11-02T16:30:00Z",
            "create_user_id": 1000,
            "modify_user_id": 1000,
            "owner": "Admin",
            "owner_group_id": 999,
            "owner_user_id": 1000,
            "external_create_date": None,
            "external_identity": "",
            "external_identity_type": "",
            "external_modify_date": None,
            "external_source": "",
            "icon": "/cssupport/webdoc/folder.gif"
            if self.type != 144
            else "/cssupport/webdoc/doc.gif",
            "icon_large": "/cssupport/webdoc/folder_large.gif"
            if self.type != 144
            else "/cssupport/webdoc/doc_large.gif",
            "permissions_model": "advanced",
            "hidden": False,
            "reserved": False,
            "reserved_date": None,
            "reserved_shared_collaboration": False,
            "favorite": False,
        }

    @property
    def size(self) -> int | None:
        """The document's size in bytes (Content Server's `size` property), None without one."""
        content = self.content()
        return None if content is None else len(content)

    def content(self) -> bytes | None:
        if self.type != 144 or not self.content_file:
            return None
        path = (CONTENT_DIR / self.content_file).resolve()
        if CONTENT_DIR.resolve() not in path.parents:
            raise ValueError(f"content_file outside {CONTENT_DIR}: {self.content_file!r}")
        return path.read_bytes()

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
