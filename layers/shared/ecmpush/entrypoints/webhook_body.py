"""Turns a raw webhook request into verified events or precise, per-event errors (contract §1).

A batch is answered item by item: one bad event must not sink forty-nine good ones, and every
refusal names the failing field paths so the ECM-side script author can fix the sender."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ecmpush.domain.field_errors import FieldError, field_errors
from ecmpush.domain.intake.events import EVENT_TYPES, EcmEvent, event_adapter
from ecmpush.domain.intake.links import LinkPolicy
from ecmpush.domain.intake.recipient_caps import RecipientCaps, event_errors, named
from ecmpush.domain.json_text import UnreadableJson, read_json
from ecmpush.entrypoints.webhook_signature import SignatureMismatch, verify
from ecmpush.services.rotating_keys import verify_with_rotation

MAX_BODY_BYTES = 256 * 1024
MAX_BATCH = 50


class BodyError(Exception):
    """The whole request is unusable (the entrypoint decides how to say so)."""

    def __init__(self, message: str, errors: list[FieldError] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class BodyTooLarge(BodyError):
    """Over the size limit, or naming more recipients than one request may."""


class BodyUnreadable(BodyError):
    """Not JSON: not UTF-8 (a BOM, UTF-16 or UTF-32 included), or nested beyond
    `json_text.MAX_JSON_DEPTH`."""


class BodyShapeInvalid(BodyError):
    """JSON, but neither an event nor a batch of events."""


@dataclass(frozen=True)
class ParsedItem:
    """One event of the body: either `event` or `errors`, and the id when one could be read."""

    index: int
    id: str | None
    event: EcmEvent | None = None
    errors: list[FieldError] = field(default_factory=list)

    def refusal(self) -> dict[str, Any]:
        """The answer for an item that is not an event (`event` is None)."""
        return {"id": self.id, "status": "invalid", "errors": self.errors}


@dataclass(frozen=True)
class ParsedBody:
    batch: bool
    items: list[ParsedItem]


def _event_errors(exc: ValidationError) -> list[FieldError]:
    """The discriminated union puts the type name into the location; drop it so paths read like
    the JSON the sender wrote: data.task.due_at, not task.assigned.data.task.due_at."""
    if any(error["type"] in ("union_tag_invalid", "union_tag_not_found") for error in exc.errors()):
        return [
            {
                "path": "type",
                "message": f"unknown event type; expected one of {', '.join(EVENT_TYPES)}",
            }
        ]
    return field_errors(exc, drop_root=EVENT_TYPES)


def event_links(event: EcmEvent) -> list[tuple[str, str | None]]:
    """(path, url) of every link an event carries: its document, record or node."""
    found: list[tuple[str, str | None]] = []
    for name in ("document", "record", "node"):
        ref = getattr(event.data, name, None)
        if ref is not None:
            found.append((f"data.{name}.url", ref.url))
    return found


def _parse_item(index: int, raw: Any, caps: RecipientCaps, links: LinkPolicy | None) -> ParsedItem:
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    event_id = raw_id if isinstance(raw_id, str) and raw_id.strip() else None
    if not isinstance(raw, dict):
        return ParsedItem(index, None, errors=[{"path": "", "message": "event must be an object"}])
    try:
        event = event_adapter.validate_python(raw)
    except ValidationError as exc:
        return ParsedItem(index, event_id, errors=_event_errors(exc))
    over = event_errors(event, caps)
    if over:
        return ParsedItem(index, event_id, errors=over)
    refused = links.errors(event_links(event)) if links is not None else []
    if refused:  # contract §1 allows "422 or dropped": refused, so the sender hears of it
        return ParsedItem(index, event_id, errors=refused)
    return ParsedItem(index, event_id, event=event)


def _check_request_total(items: list[ParsedItem], caps: RecipientCaps) -> None:
    """Before anything is accepted, so a refused request stores and queues nothing."""
    total = sum(named(item.event).total for item in items if item.event is not None)
    if total > caps.max_recipients_per_request:
        raise BodyTooLarge(
            f"the request names {total} recipients; at most "
            f"{caps.max_recipients_per_request} per request (send fewer events per request)",
            [{"path": "events", "message": f"{total} recipients named"}],
        )


def check_size(body: bytes) -> None:
    """Checked before the signature, so an oversized body is never hashed or parsed."""
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body larger than {MAX_BODY_BYTES} bytes")


def parse_body(
    body: bytes, caps: RecipientCaps | None = None, links: LinkPolicy | None = None
) -> ParsedBody:
    """Parse an authenticated body (its size already checked); events over a per-event
    recipient cap, or with a link `links` refuses, become invalid items; a request over the
    total is refused whole (413). Without `links` (tests of shape alone) links are not checked:
    the intake service always passes the deployment's policy."""
    caps = caps or RecipientCaps()
    try:
        document = read_json(body)
    except UnreadableJson as exc:
        raise BodyUnreadable(str(exc)) from None
    if isinstance(document, dict) and "events" in document and "type" not in document:
        events = document["events"]
        extra = sorted(set(document) - {"events"})
        if extra:
            raise BodyShapeInvalid(
                "batch body takes only 'events'",
                [{"path": k, "message": "unexpected field"} for k in extra],
            )
        if not isinstance(events, list) or not events:
            raise BodyShapeInvalid(
                "'events' must be a non-empty list",
                [{"path": "events", "message": "expected a non-empty list"}],
            )
        if len(events) > MAX_BATCH:
            raise BodyShapeInvalid(
                f"at most {MAX_BATCH} events per request",
                [{"path": "events", "message": f"{len(events)} events; the limit is {MAX_BATCH}"}],
            )
        items = [_parse_item(i, raw, caps, links) for i, raw in enumerate(events)]
        _check_request_total(items, caps)
        return ParsedBody(batch=True, items=items)
    if not isinstance(document, dict):
        raise BodyShapeInvalid(
            'body must be an event object or {"events": [...]}',
            [{"path": "", "message": "expected an object"}],
        )
    items = [_parse_item(0, document, caps, links)]
    _check_request_total(items, caps)
    return ParsedBody(batch=False, items=items)


@dataclass(frozen=True)
class WebhookReader:
    """Reads a request cheapest-first and never parses an unauthenticated body: size (413),
    signature (401, with the webhook secret re-read once when it may have rotated), JSON (400),
    shape (422), then each event against its schema, the recipient caps and the link policy."""

    secrets: Callable[[], Sequence[bytes]]
    refreshed_secrets: Callable[[], Sequence[bytes] | None]
    caps: RecipientCaps
    links: LinkPolicy
    clock: Callable[[], float]

    def read(self, signature: str | None, body: bytes) -> ParsedBody:
        """Raises `BodyError` or `InvalidSignature` for the request as a whole."""
        check_size(body)
        verify_with_rotation(
            lambda keys: verify(signature, body, keys, now=self.clock()),
            self.secrets,
            self.refreshed_secrets,
            SignatureMismatch,
        )
        return parse_body(body, self.caps, self.links)
