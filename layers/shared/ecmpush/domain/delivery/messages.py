"""What travels on the dispatch queue: an accepted ECM event to route, a notification a sweep
or a reply already decided on, one page of a Content Server group whose members a
notification is for, or the withdrawal of a decided task's pushes. One discriminated union
keeps the consumer's parse strict."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.withdrawal import Decision, WithdrawalReason
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.intake.events import EcmEvent


class EventMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["event"] = "event"
    event: EcmEvent


class NotificationMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["notification"] = "notification"
    notification: Notification
    not_before: datetime | None = None  # deferred by quiet hours: deliver from then on


MemberType = Literal["users", "groups"]  # Content Server's where_type 0 and 1


class GroupPageMessage(BaseModel):
    """Page `page` of the `member_type` members of `notification.groups[0]`. `via` holds the
    groups this one was reached through (member groups of member groups), so a cycle in
    Content Server's groups ends instead of paging forever."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["group_page"] = "group_page"
    notification: Notification
    member_type: MemberType = "users"
    page: Annotated[int, Field(ge=1)] = 1
    via: Annotated[tuple[Annotated[int, Field(ge=1)], ...], Field(max_length=16)] = ()

    @model_validator(mode="after")
    def _one_group(self) -> GroupPageMessage:
        if len(self.notification.groups) != 1 or self.notification.recipients:
            raise ValueError("a group page names exactly one group and no other recipients")
        return self

    @property
    def group_id(self) -> int:
        return self.notification.groups[0].ecm_group


_Names = Annotated[
    tuple[Annotated[str, Field(min_length=1, max_length=256)], ...], Field(max_length=100)
]


class WithdrawalMessage(BaseModel):
    """Withdraw the pushes about `task` still on devices (domain/delivery/withdrawal.py), except
    those of `keep_owners` and `keep_notifications`. With `ask_holders`
    (a reassignment, where a group step's members arrive as one assignment each), whoever
    Content Server still lists as the step's holder keeps theirs too: only Content Server says
    who may act."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["withdrawal"] = "withdrawal"
    task: TaskRef
    reason: WithdrawalReason
    decision: Decision
    keep_owners: _Names = ()
    keep_notifications: _Names = ()
    # The device the reply came from: its push is marked withdrawn without a withdrawal push,
    # as the reply's confirmation replaces it there.
    confirmed_on: _Names = ()
    ask_holders: bool = False


DispatchMessage = Annotated[
    EventMessage | NotificationMessage | GroupPageMessage | WithdrawalMessage,
    Field(discriminator="kind"),
]
# Built on the first validate call, like the event models (domain/intake/events.py).
dispatch_message_adapter: TypeAdapter[DispatchMessage] = TypeAdapter(
    DispatchMessage, config=ConfigDict(defer_build=True)
)
