"""Value objects the ECM client returns: only the fields ecmpush uses, plus the raw payload for
anything else, so a richer server answer never breaks parsing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecmpush.domain.dispositions import ActionOption, DispositionKind


def integer_id(name: str, value: str | int) -> str:
    """Content Server ids are integers; accept 4711 or "4711", keep the string for the wire."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer id, got {value!r}")
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise ValueError(f"{name} must be an integer id, got {value!r}")
    return str(int(text))


@dataclass(frozen=True)
class TaskRef:
    """A workflow step: process (workflow instance), subprocess and task id."""

    process_id: str
    subprocess_id: str
    task_id: str

    def __init__(self, process_id: str | int, subprocess_id: str | int, task_id: str | int) -> None:
        object.__setattr__(self, "process_id", integer_id("process_id", process_id))
        object.__setattr__(self, "subprocess_id", integer_id("subprocess_id", subprocess_id))
        object.__setattr__(self, "task_id", integer_id("task_id", task_id))

    def __str__(self) -> str:
        return f"{self.process_id}/{self.subprocess_id}/{self.task_id}"


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

    def offers(self, kind: DispositionKind, key: str) -> bool:
        options = self.custom_actions if kind is DispositionKind.CUSTOM_ACTION else self.actions
        return any(o.key == key for o in options)


@dataclass(frozen=True)
class CompletionResult:
    """What `complete_task` did. `already_applied` is True when the server reported the task
    closed but its history already holds this very comment: a retried or re-delivered reply
    whose first attempt went through, so nothing was sent twice."""

    ref: TaskRef
    kind: DispositionKind
    key: str
    acted_as: str
    already_applied: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Activity:
    """One entry of a process's comment/audit history."""

    action: str
    user: str
    date: str
    comment: str
    task_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Node:
    """A node (`GET /api/v2/nodes/{id}`); `categories` flattened to `{"<cat>_<attr>": value}`."""

    id: int
    name: str
    type: int
    type_name: str | None
    parent_id: int | None
    categories: Mapping[str, Any] = field(default_factory=dict)
    properties: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


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
