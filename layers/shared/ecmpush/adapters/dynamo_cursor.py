"""Opaque paging cursors for DynamoDB queries: `LastEvaluatedKey` as URL-safe text and back.

Why checked on the way back: a cursor can come from outside (the inbox API hands it to the
app), so it is read only when it has exactly the key attributes of the query that made it, all
strings, and names the same reader (`scope`): a crafted cursor cannot start another user's
inbox or read another index. All ecmpush key attributes are strings. `due_page` is the one
paged query both sweeps make with them."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from ecmpush.domain.json_text import read_json
from ecmpush.domain.page import InvalidCursor, Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


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
        key = read_json(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:  # bad base64, not UTF-8, not JSON, crafted nesting (UnreadableJson)
        raise InvalidCursor("cursor is not valid") from None
    if not isinstance(key, dict) or set(key) != keys:
        raise InvalidCursor("cursor is not valid")
    if not all(isinstance(value, str) for value in key.values()):
        raise InvalidCursor("cursor is not valid")
    if any(key.get(name) != value for name, value in (scope or {}).items()):
        raise InvalidCursor("cursor is not valid")  # never another reader's page
    return key


def due_page(
    table: Table,
    *,
    key: str,
    index: str,
    bucket: tuple[str, str],
    due: tuple[str, str],
    limit: int,
    cursor: str | None,
) -> Page[dict[str, Any]]:
    """One page of a sparse "due" index, oldest first: the items whose `bucket` attribute holds
    the bucket value and whose `due` sort key is at or before the given one (`key`: the table's
    partition key, which an index's LastEvaluatedKey carries too). Both sweeps keep such an
    index: it holds only what still has a step to come, so a sweep never scans."""
    (bucket_name, bucket_value), (due_name, due_at) = bucket, due
    query: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": Key(bucket_name).eq(bucket_value) & Key(due_name).lte(due_at),
        "Limit": limit,
    }
    start = from_cursor(cursor, frozenset({key, bucket_name, due_name}))  # LastEvaluatedKey's
    if start:
        query["ExclusiveStartKey"] = start
    answer = table.query(**query)
    return Page(tuple(answer.get("Items", [])), to_cursor(answer.get("LastEvaluatedKey")))
