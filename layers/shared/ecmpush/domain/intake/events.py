"""The webhook events of contract §1 as pydantic models: one discriminated union on `type`, so a
bad or unknown event is refused with the exact field path at the door instead of deep in a worker.

Models are strict about shape (unknown fields are refused, strings are bounded) because the
sender is another system: a typo in an ECM event script should fail loudly, not be half-read."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
)

from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.user_ids import ExternalId, InternalUserId

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
Text = Annotated[str, StringConstraints(max_length=4000)]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://\S+$")]


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    """pydantic alone would also read unix numbers (and guess seconds vs milliseconds)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("timestamp must carry a UTC offset")
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("timestamp must be RFC 3339 with an offset, e.g. 2026-11-28T10:00:00Z")
    return value


# Contract §1: an accepted event is always deliverable. Python's datetimes end at years 1 and
# 9999, so `9999-12-31T23:59:59Z` cannot be shown in any zone east of UTC (OverflowError in
# Dispatch, issue 20 finding 6); no ECM date worth a push lies outside these years.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    """Compared in UTC, so no offset can carry a time over either edge."""
    if not EARLIEST <= value <= LATEST:
        raise ValueError("timestamp must lie in the years 2000 to 2100 (UTC)")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_in_range)]
"""Every event time (`occurred_at`, `due_at`, `expires_at`): RFC 3339 with an offset, within
`EARLIEST`..`LATEST`."""


class Model(BaseModel):
    # defer_build: a model's validator is built on its first use, not when the class is made.
    # Most handlers import these models only as field types of their own (a reply, a
    # notification) and never validate the union; only intake and Dispatch pay for all six.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class UserRef(Model):
    """An ECM user; never an external stakeholder (see `domain/user_ids.py`)."""

    user_id: InternalUserId


class Task(TaskRef):
    title: Name
    stage: Literal["approval", "review", "task"]
    instructions: Text | None = None
    due_at: Timestamp | None = None
    priority: Literal["low", "normal", "high"] = "normal"


class DocumentRef(Model):
    node_id: Id
    name: Name
    url: Url | None = None


class Record(Model):
    node_id: Id
    name: Name
    kind: Literal["contract", "licence", "certificate", "policy", "retention"]
    expires_at: Timestamp
    url: Url | None = None


class TaskAssignedData(Model):
    task: Task
    document: DocumentRef | None = None
    assignee: UserRef
    supervisor: UserRef | None = None
    backup: UserRef | None = None


class TaskCompletedData(Model):
    task: TaskRef
    outcome: Name | None = None
    completed_by: UserRef | None = None


class RecordExpiryScheduledData(Model):
    record: Record
    owners: Annotated[list[UserRef], Field(min_length=1, max_length=100)]
    notify_roles: Annotated[
        list[Literal["legal", "account_manager", "records_manager"]], Field(max_length=3)
    ] = []


class Audience(Model):
    teams: Annotated[list[Id], Field(max_length=100)] = []
    users: Annotated[list[UserRef], Field(max_length=1000)] = []


class DocumentAvailableData(Model):
    document: DocumentRef
    category: Literal["job_instruction", "safety_form", "incident_report", "document"]
    audience: Audience


class ExternalAudience(Model):
    """External ids in their one spelling (`domain/user_ids.py`): no `#`, nothing invisible."""

    external_ids: Annotated[list[ExternalId], Field(min_length=1, max_length=1000)]


class DocumentPublishedData(Model):
    document: DocumentRef
    kind: Literal["statement", "onboarding_packet", "deliverable", "service_report", "other"]
    audience: ExternalAudience


class GovernanceAlertData(Model):
    kind: Literal[
        "metadata_validation_failed",
        "unauthorized_access",
        "missing_approval",
        "retention_exception",
    ]
    severity: Literal["info", "warning", "critical"]
    summary: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    node: DocumentRef | None = None
    actor: UserRef | None = None
    details: Annotated[dict[Id, Text], Field(max_length=50)] = {}


class _Envelope(Model):
    id: Id
    occurred_at: Timestamp
    tenant: Id


class TaskAssigned(_Envelope):
    type: Literal["task.assigned"]
    data: TaskAssignedData


class TaskCompleted(_Envelope):
    type: Literal["task.completed"]
    data: TaskCompletedData


class RecordExpiryScheduled(_Envelope):
    type: Literal["record.expiry_scheduled"]
    data: RecordExpiryScheduledData


class DocumentAvailable(_Envelope):
    type: Literal["document.available"]
    data: DocumentAvailableData


class DocumentPublished(_Envelope):
    type: Literal["document.published"]
    data: DocumentPublishedData


class GovernanceAlert(_Envelope):
    type: Literal["governance.alert"]
    data: GovernanceAlertData


EcmEvent = Annotated[
    TaskAssigned
    | TaskCompleted
    | RecordExpiryScheduled
    | DocumentAvailable
    | DocumentPublished
    | GovernanceAlert,
    Field(discriminator="type"),
]

EVENT_TYPES: tuple[str, ...] = (
    "task.assigned",
    "task.completed",
    "record.expiry_scheduled",
    "document.available",
    "document.published",
    "governance.alert",
)

# Built on the first validate call (see Model): importing this module builds no schema.
event_adapter: TypeAdapter[EcmEvent] = TypeAdapter(EcmEvent, config=ConfigDict(defer_build=True))
