"""What travels on the dispatch queue: an accepted ECM event to route, or a notification a sweep
or a reply already decided on. One discriminated union keeps the consumer's parse strict."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ecmpush.domain.events import EcmEvent
from ecmpush.domain.notifications import Notification


class EventMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["event"] = "event"
    event: EcmEvent


class NotificationMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["notification"] = "notification"
    notification: Notification
    not_before: datetime | None = None  # deferred by quiet hours: deliver from then on


DispatchMessage = Annotated[EventMessage | NotificationMessage, Field(discriminator="kind")]
# Built on the first validate call, like the event models (domain/events.py).
dispatch_message_adapter: TypeAdapter[DispatchMessage] = TypeAdapter(
    DispatchMessage, config=ConfigDict(defer_build=True)
)
