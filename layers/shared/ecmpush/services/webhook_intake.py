"""`POST /ecm/events` once a request is verified and parsed (entrypoints/webhook_body.py): accept
each event exactly once, and say per event what happened.
Why: docs/design/webhook-intake.md."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ecmpush.domain.delivery.messages import EventMessage
from ecmpush.domain.intake.acceptance import EventNotAccepted
from ecmpush.domain.intake.events import EcmEvent
from ecmpush.ports import EventsPort, Publisher

log = logging.getLogger(__name__)


class EventAcceptor:
    """Store the event, then queue it for Dispatch (what runs once per event id)."""

    def __init__(self, events: EventsPort, publisher: Publisher, clock: Callable[[], datetime]):
        self._events = events
        self._publisher = publisher
        self._clock = clock

    def accept(self, event: EcmEvent) -> dict[str, str]:
        self._events.save(event, self._clock())
        self._publisher.publish(EventMessage(event=event))
        return {"id": event.id, "status": "accepted"}


class WebhookIntakeService:
    def __init__(self, accept_once: Callable[[], Callable[[EcmEvent], dict[str, str]]]) -> None:
        self._accept_once = accept_once  # built lazily: the idempotency layer loads boto3

    def accept(self, event: EcmEvent) -> dict[str, Any]:
        """One verified event's answer: id, status, and errors or a message when not accepted."""
        try:
            return self._accept_once()(event)
        except EventNotAccepted as exc:
            if exc.status == "unavailable":
                log.error("event %s not accepted", event.id, exc_info=exc)
            answer: dict[str, Any] = {"id": event.id, "status": exc.status}
            if exc.status == "conflict":
                answer["errors"] = [{"path": "id", "message": str(exc)}]
            elif exc.status == "unavailable":
                answer["message"] = "temporarily unavailable; retry"
            return answer
