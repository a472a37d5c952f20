"""Opaque paging cursors for DynamoDB queries: `LastEvaluatedKey` as URL-safe text and back.

Why checked on the way back: a cursor can come from outside (the inbox API hands it to the
app), so it is read only when it has exactly the key attributes of the query that made it, all
strings, and names the same reader (`scope`): a crafted cursor cannot start another user's
inbox or read another index. All ecmpush key attributes are strings."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from ecmpush.domain.page import InvalidCursor


def to_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    text = json.dumps(dict(last_key), sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


def from_cursor(
    cursor: str | None, keys: frozenset[str], scope: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """The `ExclusiveStartKey` a cursor stands for, None for no cursor (the first page)."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, RecursionError):  # bad base64, not UTF-8, not JSON, crafted nesting
        raise InvalidCursor("cursor is not valid") from None
    if not isinstance(key, dict) or set(key) != keys:
        raise InvalidCursor("cursor is not valid")
    if not all(isinstance(value, str) for value in key.values()):
        raise InvalidCursor("cursor is not valid")
    if any(key.get(name) != value for name, value in (scope or {}).items()):
        raise InvalidCursor("cursor is not valid")  # never another reader's page
    return key
