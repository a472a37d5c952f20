"""The reply as it travels to the write-back worker: everything needed to apply it to Content
Server without reading anything else, so a queued reply survives any change elsewhere."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from ecmpush.clock import audit_stamp
from ecmpush.domain.backoff import WRITE_BACK_RETRY
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.replies.reply_actions import ReplyAction


class Reply(BaseModel):
    """One reply, from `POST /responses` through the write-back queue to Content Server."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    response_id: str  # the reply's id under its wire name (contract §3), kept as the public API
    notification_id: str
    ecm_user: str
    task: TaskRef
    action: ReplyAction
    comment: str | None = None
    platform: str | None = None
    installation_id: str | None = None
    replied_at: datetime


# Standard step actions that route the step to someone and so need `assignee` (pyxecm sends it
# for Review and Delegate); "request info" becomes one of these, addressed to the initiator.
ROUTED_ACTIONS = frozenset({"SendForReview", "Review"})

# The step action that moves a step to another user's inbox ("Forward" in the ECM UI).
HANDOVER_ACTIONS: tuple[str, ...] = ("Delegate",)


def handover_comment(to_user: str, at: datetime) -> str:
    """The comment on the hand-over of a step to a supervisor or backup: system text only, so
    the audit trail says why the step moved and nobody's words are put in the assignee's name."""
    return f"Handed over to {to_user} after an SLA escalation — via ecmpush at {audit_stamp(at)}"


def backoff_seconds(receive_count: int, retry_after: float | None, *, rand: float = 1.0) -> int:
    """How long a reply waits after Content Server could not take it (`WRITE_BACK_RETRY`):
    15-30 s doubling per attempt to at most 15 minutes, never less than ECM's own Retry-After
    (the write-back queue's DLQ takes what never succeeds, after its redrive count)."""
    return int(WRITE_BACK_RETRY.seconds(receive_count, retry_after, rand=rand))
