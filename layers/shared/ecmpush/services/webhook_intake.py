"""Webhook intake use case: store the event, then hand it to dispatch through the queue.

Runs inside Powertools idempotency keyed on the event id: a retried webhook after a crash between
the two steps re-runs both (the put is an overwrite of the same event, and dispatch claims each
device before sending), so an event is never lost and never pushed twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ecmpush.domain.events import EcmEvent
from ecmpush.domain.messages import EventMessage
from ecmpush.ports import EventStore, Publisher


class WebhookIntakeService:
    def __init__(self, events: EventStore, publisher: Publisher, clock: Callable[[], datetime]):
        self._events = events
        self._publisher = publisher
        self._clock = clock

    def accept(self, event: EcmEvent) -> dict[str, str]:
        self._events.save(event, self._clock())
        self._publisher.publish(EventMessage(event=event))
        return {"id": event.id, "status": "accepted"}
