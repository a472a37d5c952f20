"""The reply as it travels to the write-back worker: everything needed to apply it to Content
Server without reading anything else, so a queued reply survives any change elsewhere."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from ecmpush.domain.events import TaskRef
from ecmpush.domain.notifications import ReplyAction


class WriteBack(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    response_id: str
    notification_id: str
    ecm_user: str
    task: TaskRef
    action: ReplyAction
    comment: str | None = None
    platform: str | None = None
    installation_id: str | None = None
    replied_at: datetime
