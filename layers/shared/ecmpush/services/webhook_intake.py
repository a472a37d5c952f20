"""`POST /ecm/events`: authenticate the ECM sender, validate each event, accept each exactly
once, and say per event what happened.
Why: docs/design/webhook-intake.md."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecmpush.domain.delivery.messages import EventMessage
from ecmpush.domain.intake import webhook_signature
from ecmpush.domain.intake.events import EcmEvent
from ecmpush.domain.intake.intake_outcomes import EventNotAccepted
from ecmpush.domain.intake.links import LinkPolicy
from ecmpush.domain.intake.recipient_caps import RecipientCaps
from ecmpush.domain.intake.webhook_body import ParsedItem, check_size, parse_body
from ecmpush.ports import EventsPort, Publisher
from ecmpush.services.rotating_keys import verify_with_rotation

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


@dataclass(frozen=True)
class IntakeAnswer:
    batch: bool
    results: list[dict[str, Any]]  # one per event, in order: id, status, errors or message


class EventIntake:
    """Validate each event of a body and accept it once: what the webhook does once the
    signature holds, and all that a sender inside the stack needs (RelayPollFunction hands its
    events here instead of POSTing them: they crossed no network, so there is no signature)."""

    def __init__(
        self,
        *,
        accept_once: Callable[[], Callable[[EcmEvent], dict[str, str]]],
        caps: RecipientCaps,
        links: LinkPolicy,
    ) -> None:
        self._accept_once = accept_once  # built lazily: the idempotency layer loads boto3
        self._caps = caps
        self._links = links

    def receive(self, body: bytes) -> IntakeAnswer:
        """Raises `BodyError` for the body as a whole."""
        check_size(body)
        parsed = parse_body(body, self._caps, self._links)
        return IntakeAnswer(parsed.batch, [self._accept(item) for item in parsed.items])

    def _accept(self, item: ParsedItem) -> dict[str, Any]:
        if item.event is None:
            return {"id": item.id, "status": "invalid", "errors": item.errors}
        try:
            return self._accept_once()(item.event)
        except EventNotAccepted as exc:
            if exc.status == "unavailable":
                log.error("event %s not accepted", item.id, exc_info=exc)
            answer: dict[str, Any] = {"id": item.id, "status": exc.status}
            if exc.status == "conflict":
                answer["errors"] = [{"path": "id", "message": str(exc)}]
            elif exc.status == "unavailable":
                answer["message"] = "temporarily unavailable; retry"
            return answer


class WebhookIntakeService:
    def __init__(
        self,
        *,
        secrets: Callable[[], Sequence[bytes]],
        refreshed_secrets: Callable[[], Sequence[bytes] | None],
        accept_once: Callable[[], Callable[[EcmEvent], dict[str, str]]],
        caps: RecipientCaps,
        links: LinkPolicy,
        clock: Callable[[], float],
    ) -> None:
        self._secrets = secrets
        self._refreshed = refreshed_secrets
        self._events = EventIntake(accept_once=accept_once, caps=caps, links=links)
        self._clock = clock

    def receive(self, signature: str | None, body: bytes) -> IntakeAnswer:
        """Raises `BodyError` or `InvalidSignature` for the request as a whole."""
        check_size(body)
        verify_with_rotation(
            lambda keys: webhook_signature.verify(signature, body, keys, now=self._clock()),
            self._secrets,
            self._refreshed,
            webhook_signature.SignatureMismatch,
        )
        return self._events.receive(body)
