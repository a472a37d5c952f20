"""The notification history's paging cursor: DynamoDB's LastEvaluatedKey as URL-safe base64
JSON, checked on the way back in so a cursor can only ever read its own owner's inbox.

Its own module, without boto3: DevicesFunction maps InvalidCursor to 400 when its resolver is
built at init, and the history repository (boto3's condition builder, the deliveries
repository and its models) is only imported by the first GET /me/notifications."""

from __future__ import annotations

import base64
import json
from typing import Any


class InvalidCursor(ValueError):
    """The paging cursor was not one this API handed out."""


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def decode_cursor(cursor: str, owner: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, RecursionError):  # includes bad base64, non-UTF-8, crafted nesting
        raise InvalidCursor("cursor is not valid") from None
    expected = {"notification_id", "sk", "recipient", "created_at"}
    if not isinstance(key, dict) or set(key) != expected or key.get("recipient") != owner:
        raise InvalidCursor("cursor is not valid")  # never let a cursor read another inbox
    if not all(isinstance(v, str) for v in key.values()):
        raise InvalidCursor("cursor is not valid")
    return key
