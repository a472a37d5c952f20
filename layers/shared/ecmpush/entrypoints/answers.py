"""The bodies the API answers with, as pydantic models: the handlers build their answers through
them (`model_response`) and the same models type docs/openapi.json (`documented`), so a
generated client parses exactly what the functions send. Why: docs/design/api-document.md."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
    OpenAPIResponseHeader,
)
from pydantic import BaseModel, ConfigDict, Field

from ecmpush.entrypoints.http import json_response


class _Answer(BaseModel):
    """Schemas are built on first use, not when a handler imports this module (cold start)."""

    model_config = ConfigDict(defer_build=True)


class FieldErrorBody(_Answer):
    """One failing field: its JSON path (`data.task.due_at`) and what is wrong with it."""

    path: str
    message: str


class ErrorBody(_Answer):
    """Every error the API answers with (`errors` only where fields are to blame)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message": "request does not match the schema",
                    "errors": [{"path": "platform", "message": "Input should be 'android'"}],
                }
            ]
        }
    )

    message: str
    errors: list[FieldErrorBody] | None = None


class DocumentTooLarge(ErrorBody):
    """A document larger than the app may be sent: open it in Content Server instead."""

    size: int
    max_bytes: int


class DeliveryEntry(_Answer):
    """One device's delivery of a notification (`status`: sending, sent, retrying, failed,
    token_removed), and what the device reported of it (`POST /me/receipts`)."""

    model_config = ConfigDict(extra="allow")  # withdrawn_at, withdrawal: only when withdrawn

    installation_id: str
    platform: str | None = None
    status: str
    error_code: str | None = None
    updated_at: str | None = None
    received_at: str | None = None
    displayed_at: str | None = None
    opened_at: str | None = None
    dismissed_at: str | None = None


class ReplyEntry(_Answer):
    """The user's reply to a notification (`status`: queued, applied, task_closed, ...)."""

    action: str
    status: str
    replied_at: str


class NotificationEntry(_Answer):
    """One notification in the caller's inbox. Fields the inbox adds later pass through."""

    model_config = ConfigDict(extra="allow")

    notification_id: str
    type: str | None = None
    category: str | None = None
    created_at: str | None = None
    title: str
    body: str
    deep_link: str | None = None
    read: bool = False
    read_at: str | None = None
    deliveries: list[DeliveryEntry]
    no_device: bool
    decision: dict[str, Any] | None = None
    response: ReplyEntry | None = None


class NotificationPage(_Answer):
    """A page of the inbox, newest first; `next_cursor` fetches the next (null: no more)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "notifications": [
                        {
                            "notification_id": "d64c30af-8ab2-5025-8e72-d16b0f0e3a11",
                            "type": "task.assigned",
                            "category": "approval",
                            "created_at": "2026-11-28T10:00:01Z",
                            "title": "Approval needed: Approve supplier contract ACME-2026-114",
                            "body": "Document: ACME-2026-114 Supplier Agreement.pdf",
                            "deep_link": "https://app.example.com/tasks/4711/4711/1",
                            "deliveries": [
                                {
                                    "installation_id": "3f0c9a62-5b1e-4d0a-9c55-1d2e3f4a5b6c",
                                    "platform": "android",
                                    "status": "sent",
                                    "error_code": None,
                                    "updated_at": "2026-11-28T10:00:02Z",
                                }
                            ],
                            "no_device": False,
                            "response": None,
                        }
                    ],
                    "next_cursor": None,
                }
            ]
        }
    )

    notifications: list[NotificationEntry]
    next_cursor: str | None = None
    unread: int = Field(description="how many of the caller's notifications are unread")


class NotificationRead(_Answer):
    """One notification marked read: its first `read_at` is kept."""

    notification_id: str
    read_at: str


class NotificationsRead(_Answer):
    """How many were marked read now; `more` when unread ones remain (call again)."""

    marked: int
    more: bool


class ReceiptsReport(_Answer):
    """One result per receipt, in order, and their counts."""

    results: list[str]
    counts: dict[str, int]


class SignInStarted(_Answer):
    """Where to send the browser (OTDS's authorize page), and the state it comes back with."""

    authorize_url: str
    state: str


class SignInFinished(_Answer):
    """A Firebase custom token for `signInWithCustomToken`."""

    custom_token: str


class ReplyAccepted(_Answer):
    """A reply taken: `applied` in Content Server now, or `queued` for the write-back worker."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"response_id": "r-3adca368-0d1c", "status": "applied"}]}
    )

    response_id: str
    status: Literal["queued", "applied"]


class ReplySnoozed(_Answer):
    """A `snooze`: the push comes back at `snoozed_until`; nothing reached Content Server."""

    status: Literal["snoozed"]
    snoozed_until: str


EventStatus = Literal["accepted", "duplicate", "invalid", "conflict", "in_progress", "unavailable"]


class EventResult(_Answer):
    """What became of one event: `errors` when it is invalid or a conflict, `message` when it
    could not be accepted for now."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "evt-7f3a", "status": "accepted"}]}
    )

    id: str | None = Field(description="the event's id; null when the body had none to read")
    status: EventStatus
    errors: list[FieldErrorBody] | None = None
    message: str | None = None


class BatchResults(_Answer):
    """A batch's answer: one result per event, in request order."""

    results: list[EventResult] = Field(max_length=50)


def model_response(
    status: int,
    body: BaseModel,
    headers: dict[str, str] | None = None,
    *,
    given_only: bool = False,
) -> Response[str]:
    """`body` as the JSON answer: every field, or (`given_only`) only those it was given."""
    return json_response(status, body.model_dump(mode="json", exclude_unset=given_only), headers)


# A documented answer: its description and body model (a model, a union of models, or None for
# an error body, which is always an `ErrorBody`, or for a success without a body).
Answer = tuple[str, Any]
NO_BODY = None

# What every app-facing route may answer besides its own (entrypoints/app_api.py).
APP_ERRORS: dict[int, Answer] = {
    400: ("the body is not UTF-8 JSON", None),
    401: ("missing, invalid or expired Firebase ID token", None),
    413: ("the body is larger than 8 KiB", None),
    422: ("the request breaks the schema; the failing fields are in `errors`", None),
    503: ("AWS or the sign-in check is unavailable for now; retry after Retry-After", None),
}
FIREBASE_ID_TOKEN: list[dict[str, list[str]]] = [{"firebaseIdToken": []}]
# A route anyone may call (the sign-in bridge: there is no ID token yet).
ANONYMOUS: list[dict[str, list[str]]] = [{}]
RETRY_AFTER = OpenAPIResponseHeader(
    description="seconds to wait before retrying", schema={"type": "integer"}
)


# The routes that read Content Server as the caller answer these too (functions/approver).
ECM_ERRORS: dict[int, Answer] = {
    403: ("the caller has no Content Server account (an external stakeholder)", None),
    501: ("reading Content Server as the user is not configured (act_as_user)", None),
    502: ("Content Server refused the sign-in made for the caller, or answered unreadably", None),
    503: ("Content Server or AWS unavailable for now; retry after Retry-After", None),
}


def binary(*media_types: str) -> dict[str, OpenAPIResponseContentSchema]:
    """An answer's body that is a file, in one of `media_types`, not JSON."""
    schema = OpenAPIResponseContentSchema(schema={"type": "string", "format": "binary"})
    return dict.fromkeys(media_types, schema)


def documented(answers: dict[int, Answer]) -> dict[int, OpenAPIResponse]:
    """Powertools `responses=` for a route: status → (description, body model, or `binary(...)`).
    An error status without a model answers an `ErrorBody`; a success without one has no
    body."""
    responses: dict[int, OpenAPIResponse] = {}
    for status, (description, model) in sorted(answers.items()):
        if model is None and status >= 400:
            model = ErrorBody
        entry = OpenAPIResponse(description=description)
        if status == 503:
            entry["headers"] = {"Retry-After": RETRY_AFTER}
        if isinstance(model, dict):
            entry["content"] = dict(model)
        elif model is not None:
            entry["content"] = {"application/json": OpenAPIResponseContentModel(model=model)}
        responses[status] = entry
    return responses


def app_documented(answers: dict[int, Answer]) -> dict[int, OpenAPIResponse]:
    """`documented` for an app-facing route: its own answers over `APP_ERRORS`."""
    return documented({**APP_ERRORS, **answers})
