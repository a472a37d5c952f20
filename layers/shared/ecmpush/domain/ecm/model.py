"""What ecmpush knows of Content Server: the value objects the ECM port returns (tasks, workflow
status, history, nodes, search hits). Only the fields ecmpush uses, plus the raw payload for
anything else, so a richer server answer never breaks parsing. Plain Python: services and their
fakes use these without an HTTP client."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecmpush.domain.ecm.errors import EcmStepNeedsAuthentication
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.replies.dispositions import ActionOption, DispositionKind


def integer_id(name: str, value: str | int) -> str:
    """Content Server ids are integers; accept 4711 or "4711", keep the string for the wire."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer id, got {value!r}")
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise ValueError(f"{name} must be an integer id, got {value!r}")
    return str(int(text))


@dataclass(frozen=True)
class TaskDetails:
    """The task form (`GET /api/v1/forms/processes/tasks/update`), reduced.

    `is_open` means the acting user can still act: the form offers at least one action or
    custom action. Content Server shows a finished step with nothing to do."""

    ref: TaskRef
    title: str
    instructions: str
    actions: tuple[ActionOption, ...]
    custom_actions: tuple[ActionOption, ...]
    comments_on: bool
    member_accept: bool
    authentication: bool
    message: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_open(self) -> bool:
        return bool(self.actions or self.custom_actions)

    def ensure_answerable_from_a_push(self) -> None:
        """Raise `EcmStepNeedsAuthentication` when sending this step on needs the holder to
        authenticate again (`authentication`), which no push reply can do."""
        if self.authentication:
            raise EcmStepNeedsAuthentication(
                f"task {self.ref} asks its holder to authenticate to send it on "
                "(authentication_info); answer it in Content Server"
            )


@dataclass(frozen=True)
class CompletionResult:
    """What `complete_task` sent, and as whom Content Server recorded it."""

    ref: TaskRef
    kind: DispositionKind
    key: str
    acted_as: str


@dataclass(frozen=True)
class Activity:
    """One entry of a workflow's history (`GET .../activities` → `results.data[]`).

    The real answer names no task: an entry is `{action, action_properties{label, event,
    user_id?}, comment, date, user_id}`, so a reply is recognised by its comment (unique per
    reply) and by who acted, never by a task id."""

    action: str
    comment: str
    date: str
    user_id: int | None = None
    label: str | None = None
    event: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Member:
    """A user as the workflow status lists assignees and the initiator."""

    user_id: int | None
    login: str

    def is_user(self, login_or_id: str) -> bool:
        return login_or_id.casefold() == self.login.casefold() or login_or_id == str(self.user_id)


@dataclass(frozen=True)
class WorkflowStep:
    """One step of `step_list.current|completed|next` in the workflow status."""

    ref: TaskRef
    name: str
    status: str
    assignees: tuple[Member, ...] = ()
    due_date: str = ""  # as Content Server writes it: "2024-10-03T15:21:23", often no zone, or ""

    def assigned_to(self, login_or_id: str) -> bool:
        return any(member.is_user(login_or_id) for member in self.assignees)


@dataclass(frozen=True)
class ActiveWorkflow:
    """One row of `GET /api/v2/workflows/status/active`: a running workflow (sub)process the
    caller manages."""

    process_id: str
    subprocess_id: str
    title: str
    map_id: int | None = None


@dataclass(frozen=True)
class WorkflowStatus:
    """`GET /api/v2/workflows/status/processes/{process_id}`: which steps are in progress, which
    are done, and who started the workflow. This, not the task form, says whether a step is still
    open: the form answers only the assignee, and answers a finished step with a 500."""

    process_id: str
    status: str
    initiator: Member | None
    current: tuple[WorkflowStep, ...]
    completed: tuple[WorkflowStep, ...] = ()

    def current_step(self, ref: TaskRef) -> WorkflowStep | None:
        return next((step for step in self.current if step.ref == ref), None)

    def is_open(self, ref: TaskRef) -> bool:
        return self.current_step(ref) is not None


@dataclass(frozen=True)
class SearchRow:
    """One search hit: its node properties, the shown regions and any category values."""

    id: int
    name: str
    type: int
    parent_id: int | None
    categories: Mapping[str, Any] = field(default_factory=dict)
    regions: Mapping[str, Any] = field(default_factory=dict)
    properties: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class MembersPage:
    """One page of a Content Server group's direct members of one type
    (`GET /api/v2/members/{id}/members?where_type=`): users by login, member groups by id."""

    users: tuple[str, ...]
    groups: tuple[int, ...]
    page: int
    limit: int
    total_count: int
    page_total: int


@dataclass(frozen=True)
class SearchPage:
    """One page of `POST /api/v2/search` results with `collection.paging`."""

    rows: tuple[SearchRow, ...]
    page: int
    limit: int
    total_count: int
    page_total: int

    @property
    def has_more(self) -> bool:
        return self.page < self.page_total


@dataclass(frozen=True)
class Assignment:
    """One workflow step in a user's own inbox (`GET /api/v2/members/assignments` →
    `results[].data[].assignments[]`, REST API 2.0.2 `members_V2PropertiesAssignments`).
    `from_user` is who sent it: an id, with the login and display name when the server
    expanded it (`expand=assignments{from_user_id}`)."""

    ref: TaskRef
    name: str
    date_due: str = ""  # as Content Server writes it: often no zone, or ""
    priority_name: str = ""
    instructions: str = ""
    from_user_id: int | None = None
    from_login: str | None = None
    from_name: str | None = None


@dataclass(frozen=True)
class NodeInfo:
    """A node's properties as the asking user sees them (`GET /api/v2/nodes/{id}`)."""

    id: int
    name: str
    type: int
    mime_type: str | None = None
    size: int | None = None
    modify_date: str | None = None


@dataclass(frozen=True)
class NodeContent:
    """A document's bytes (`GET /api/v2/nodes/{id}/content`), read whole: never more than the
    caller's cap."""

    node_id: int
    mime_type: str
    data: bytes
    file_name: str | None = None
