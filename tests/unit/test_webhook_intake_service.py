"""The webhook intake with fakes: a request is read (`WebhookReader`, at the edge) only once its
signature holds (the secret re-read once when it may have rotated), each event is answered on
its own (accepted, duplicate, invalid, conflict, in progress, unavailable), and an event is
stored before it is queued, so a crash between the two is repaired by the webhook's retry (same
event, same id) and a queue failure is the caller's to see, never an accepted event left
unqueued."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from ecmpush.domain.delivery.messages import DispatchMessage, EventMessage
from ecmpush.domain.intake.acceptance import (
    EventIdReused,
    EventInProgress,
    EventStoreUnavailable,
)
from ecmpush.domain.intake.events import EcmEvent, event_adapter
from ecmpush.domain.intake.links import LinkPolicy
from ecmpush.domain.intake.recipient_caps import RecipientCaps
from ecmpush.entrypoints.webhook_body import (
    MAX_BODY_BYTES,
    BodyError,
    BodyTooLarge,
    BodyUnreadable,
    ParsedBody,
    WebhookReader,
)
from ecmpush.entrypoints.webhook_signature import InvalidSignature, SignatureMismatch, sign
from ecmpush.services.webhook_intake import EventAcceptor, WebhookIntakeService
from tests.conftest import sample_event
from tests.fakes import Partial, Queue

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Events(Partial):
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

    def publish(self, message: BaseModel, delay_seconds: int = 0) -> str:
        self.steps.append("publish")
        return super().publish(message, delay_seconds)


def test_an_event_is_stored_then_queued_and_answered_accepted() -> None:
    steps: list[str] = []
    events, queue = Events(steps), OrderedQueue(steps)
    event = event_adapter.validate_python(sample_event("task_assigned"))
    answer = EventAcceptor(events, queue, lambda: NOW).accept(event)
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
        EventAcceptor(Events(steps), queue, lambda: NOW).accept(event)
    assert steps == ["save", "publish"]


# --- the request: signature, body, one answer per event --------------------------------------

SECRET, ROTATED = b"s" * 32, b"r" * 32
SAMPLE_LINK_HOSTS = "ecm.example.com,portal.example.com"  # the sample events' links


def _body(*events: dict[str, object]) -> bytes:
    payload: object = events[0] if len(events) == 1 else {"events": list(events)}
    return json.dumps(payload).encode()


class Intake:
    def __init__(self) -> None:
        self.secrets = [SECRET]
        self.fresh: list[bytes] | None = None
        self.accepted: list[EcmEvent] = []
        self.refusals: dict[str, Exception] = {}  # event id -> what accepting it raises
        self.reader = WebhookReader(
            secrets=lambda: self.secrets,
            refreshed_secrets=lambda: self.fresh,
            caps=RecipientCaps(),
            links=LinkPolicy.of("https://app.example.com", listed=SAMPLE_LINK_HOSTS),
            clock=lambda: NOW.timestamp(),
        )
        self.service = WebhookIntakeService(accept_once=lambda: self._accept)

    def _accept(self, event: EcmEvent) -> dict[str, str]:
        if event.id in self.refusals:
            raise self.refusals[event.id]
        self.accepted.append(event)
        return {"id": event.id, "status": "accepted"}

    def read(self, body: bytes, key: bytes = SECRET) -> ParsedBody:
        return self.reader.read(sign(key, int(NOW.timestamp()), body), body)

    def receive(self, body: bytes, key: bytes = SECRET) -> tuple[bool, list[dict[str, object]]]:
        """As functions/webhook_intake does: read at the edge, then one answer per item."""
        parsed = self.read(body, key)
        results = [
            item.refusal() if item.event is None else self.service.accept(item.event)
            for item in parsed.items
        ]
        return parsed.batch, results


def test_a_signed_event_is_accepted_and_answered() -> None:
    intake = Intake()
    batch, results = intake.receive(_body(sample_event("task_assigned")))
    assert (batch, [r["status"] for r in results]) == (False, ["accepted"])
    assert [e.id for e in intake.accepted] == [sample_event("task_assigned")["id"]]


def test_a_secret_rotated_in_since_is_found_by_one_re_read_and_a_forgery_is_not() -> None:
    intake = Intake()
    body = _body(sample_event("task_assigned"))
    with pytest.raises(SignatureMismatch):
        intake.receive(body, key=ROTATED)  # nothing fresher to read
    intake.fresh = [ROTATED, SECRET]
    assert intake.receive(body, key=ROTATED)[1][0]["status"] == "accepted"
    with pytest.raises(InvalidSignature):
        intake.receive(body, key=b"f" * 32)
    assert len(intake.accepted) == 1


def test_nothing_is_parsed_before_the_signature_and_size_hold() -> None:
    intake = Intake()
    with pytest.raises(InvalidSignature):
        intake.reader.read(None, b"{not json")
    with pytest.raises(BodyError) as too_big:
        intake.receive(b" " * (MAX_BODY_BYTES + 1))
    assert isinstance(too_big.value, BodyTooLarge)
    with pytest.raises(BodyError) as not_json:
        intake.receive(b"{not json")
    assert isinstance(not_json.value, BodyUnreadable)
    assert intake.accepted == []


def test_each_event_of_a_batch_gets_its_own_answer() -> None:
    intake = Intake()
    events = [dict(sample_event("task_assigned"), id=f"evt-{n}") for n in range(5)]
    events[1]["type"] = "no.such.type"
    intake.refusals = {
        "evt-2": EventIdReused("id was already used for a different event"),
        "evt-3": EventInProgress("being accepted"),
        "evt-4": EventStoreUnavailable("DynamoDB unreachable"),
    }
    batch, results = intake.receive(_body(*events))
    assert batch
    assert [(r["id"], r["status"]) for r in results] == [
        ("evt-0", "accepted"),
        ("evt-1", "invalid"),
        ("evt-2", "conflict"),
        ("evt-3", "in_progress"),
        ("evt-4", "unavailable"),
    ]
    assert results[1]["errors"]
    assert results[2]["errors"] == [
        {"path": "id", "message": "id was already used for a different event"}
    ]
    assert results[4]["message"] == "temporarily unavailable; retry"
    assert [e.id for e in intake.accepted] == ["evt-0"]


@pytest.mark.parametrize(
    "url",
    [
        "http://ecm.example.com/x",
        "https://pay-acme.evil.example/login",
        "https://ecm.example.com@evil.example/",
    ],
)
def test_an_event_linking_off_the_listed_hosts_is_invalid_and_not_accepted(url: str) -> None:
    """Issue 20 finding 4: contract §1 allows "422 or dropped"; ecmpush refuses (422)."""
    intake = Intake()
    event = sample_event("document_published")
    event["data"]["document"]["url"] = url
    _, results = intake.receive(_body(event, sample_event("task_completed")))
    assert [r["status"] for r in results] == ["invalid", "accepted"]
    errors = results[0]["errors"]
    assert isinstance(errors, list)
    assert [e["path"] for e in errors] == ["data.document.url"]
    assert [e.type for e in intake.accepted] == ["task.completed"]
