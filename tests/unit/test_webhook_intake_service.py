"""WebhookIntakeService with fakes: the event is stored before it is queued, so a crash between
the two is repaired by the webhook's retry (same event, same id), and a queue failure is the
caller's to see (the webhook answers 5xx and ECM retries), never an accepted event left
unqueued."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecmpush.domain.events import EcmEvent, event_adapter
from ecmpush.domain.messages import DispatchMessage, EventMessage
from ecmpush.services.webhook_intake import WebhookIntakeService
from tests.conftest import sample_event
from tests.fakes import Queue

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Events:
    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.saved: list[tuple[EcmEvent, datetime]] = []

    def save(self, event: EcmEvent, received_at: datetime) -> None:
        self.steps.append("save")
        self.saved.append((event, received_at))


class OrderedQueue(Queue[DispatchMessage]):
    def __init__(self, steps: list[str]) -> None:
        super().__init__()
        self.steps = steps

    def publish(self, message: DispatchMessage) -> str:
        self.steps.append("publish")
        return super().publish(message)


def test_an_event_is_stored_then_queued_and_answered_accepted() -> None:
    steps: list[str] = []
    events, queue = Events(steps), OrderedQueue(steps)
    event = event_adapter.validate_python(sample_event("task_assigned"))
    answer = WebhookIntakeService(events, queue, lambda: NOW).accept(event)
    assert answer == {"id": event.id, "status": "accepted"}
    assert steps == ["save", "publish"]
    assert events.saved == [(event, NOW)]
    assert queue.published == [EventMessage(event=event)]


def test_a_queue_failure_reaches_the_caller() -> None:
    steps: list[str] = []
    queue = OrderedQueue(steps)
    queue.fail = RuntimeError("SQS unreachable")
    event = event_adapter.validate_python(sample_event("task_assigned"))
    with pytest.raises(RuntimeError):
        WebhookIntakeService(Events(steps), queue, lambda: NOW).accept(event)
    assert steps == ["save", "publish"]
