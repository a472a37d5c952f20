"""A user's answer to a push (contract §3): the request, who may give it, and the audit comment
it leaves in the Content Server workflow."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from ecmpush.domain.action_token import ActionClaims
from ecmpush.domain.devices import INSTALLATION_ID_PATTERN
from ecmpush.domain.notifications import ReplyAction


class ReplyRequest(BaseModel):
    """Body of `POST /responses`. `installation_id` is an optional addition to the contract: it
    ties the reply to the delivery it answers and names the platform in the audit comment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    action: ReplyAction
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    installation_id: Annotated[str, StringConstraints(pattern=INSTALLATION_ID_PATTERN)] | None = (
        None
    )


class ReplyRefused(Exception):
    """The reply cannot be accepted; `status` is the HTTP answer (403, 409)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ReplyStatus(StrEnum):
    QUEUED = "queued"  # accepted, waiting for Content Server
    APPLIED = "applied"  # the workflow step was sent on with the user's disposition
    TASK_CLOSED = "task_closed"  # someone else finished the step first: nothing was changed


def authorize(claims: ActionClaims, ecm_user: str | None, action: str) -> None:
    """The token names one recipient and the buttons it was sent with; nobody else, nothing else."""
    if ecm_user is None or claims.ecm_user != ecm_user:
        raise ReplyRefused(403, "this action token belongs to another user")
    if action not in claims.actions:
        raise ReplyRefused(403, f"action {action!r} was not offered for this task")


def new_response_id() -> str:
    return f"r-{uuid.uuid4()}"


def audit_comment(
    comment: str | None, *, prefix: str, platform: str | None, replied_at: datetime
) -> str:
    """What lands in the step's comment (the workflow audit trail): the user's words, then how
    and when they were given. The timestamp also makes each reply's comment unique, which is how
    the ECM client recognises a retry whose first attempt already went through."""
    stamp = replied_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    trailer = f"via ecmpush from {platform or 'app'} at {stamp}"
    body = (comment or "").strip()
    return f"{prefix}{body} — {trailer}" if body else f"{prefix}{trailer}"
