"""A notification: what one ECM event (or sweep) tells a set of people, before it is rendered for
their devices. Its id is derived from its source, so a retried or re-enqueued event produces the
same notification and dispatch can tell which devices were already served."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from ecmpush.domain.delivery.routing_config import EcmGroupTeam
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.replies.reply_actions import ReplyAction

_NAMESPACE = uuid.UUID("5b7f8c9e-2f1d-4e57-9d0c-6a3e7f1c2b4d")


def notification_id(source: str, kind: str) -> str:
    """Stable id of the notification `kind` derived from `source` (an event id, a sweep key)."""
    return str(uuid.uuid5(_NAMESPACE, f"{source}|{kind}"))


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    type: str  # event type, or expiry.warning / sla.reminder / sla.escalation / response.confirmed
    category: str  # what a user mutes: approval, review, task, expiry, sla, field, ...
    source_id: str  # the event (or sweep key) this notification came from
    recipients: list[str] = []
    # Content Server groups whose members hear of it too, read page by page by Dispatch
    # (domain/delivery/group_walk.py) instead of being listed here.
    groups: list[EcmGroupTeam] = []
    template: str  # key into the message catalog (domain/delivery/templates.py)
    params: dict[str, str] = {}  # values the template fills in; never personal data beyond names
    deep_link: str
    actions: list[ReplyAction] = []
    apns_category: str
    due_at: datetime | None = None
    severity: str | None = None
    task: TaskRef | None = None
    created_at: datetime
    # Who it is for: internal ECM users (their own devices) or external stakeholders (devices
    # registered under their verified external id). Set by routing, never read from a recipient.
    audience: Literal["internal", "external"] = "internal"
    # Why a sweep sent it, when not the usual reason: "not_seen" for the reminder and early
    # escalation of a push nobody looked at (domain/sweeps/unseen.py). Sent as `data.reason`.
    reason: str | None = None

    @model_validator(mode="after")
    def _somebody_hears_it(self) -> Notification:
        if not self.recipients and not self.groups:
            raise ValueError("a notification needs recipients or member groups")
        return self

    @model_validator(mode="after")
    def _buttons_need_a_task(self) -> Notification:
        """Reply buttons are answered with an action token naming the task (contract §3/§4)."""
        if self.actions and self.task is None:
            raise ValueError("a notification with actions needs the task they act on")
        return self
