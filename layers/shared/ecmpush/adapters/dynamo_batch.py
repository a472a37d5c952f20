"""DynamoDB's batch and transaction calls on the low-level client, with their limits and
partial answers handled once.
Why: docs/design/dynamodb-batches.md."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import batched
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from ecmpush.domain.backoff import AWS_BATCH_RETRY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table

MAX_GET = 100
MAX_WRITE = 25
MAX_TRANSACT = 100
_PATIENCE = 8  # resends of unprocessed items before giving up (≈ 2.5 s of backoff)

_deserializer = TypeDeserializer()

Item = dict[str, Any]


class Unprocessed(Exception):
    """DynamoDB kept refusing part of a batch (throttling): the caller's unit of work must be
    retried as a whole, which is safe because every write here is idempotent."""


def _from_wire(item: Mapping[str, Any]) -> Item:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def client_of(table: Table) -> DynamoDBClient:
    return table.meta.client


def _backoff(attempt: int, sleep: Callable[[float], None]) -> None:
    sleep(AWS_BATCH_RETRY.seconds(attempt + 1, rand=random.random()))


def _until_done(
    call: Callable[[dict[str, Any]], dict[str, Any]],
    request: dict[str, Any],
    left: str,
    sleep: Callable[[float], None],
) -> int:
    """Send `request`, then whatever the answer's `left` part says is undone, with backoff;
    returns the number of calls."""
    for attempt in range(_PATIENCE + 1):
        request = dict(call(request).get(left) or {})
        if not request:
            return attempt + 1
        if attempt < _PATIENCE:
            _backoff(attempt, sleep)
    raise Unprocessed(f"DynamoDB still answered {left} after {_PATIENCE} resends")


def batch_get(
    table: Table,
    keys: Sequence[Mapping[str, Any]],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Item]:
    """Every item that exists among `keys` (order not kept; missing keys are simply absent).
    Strongly consistent: a device registered a moment ago must be found."""
    client, name = client_of(table), table.name
    found: list[Item] = []

    def call(request: dict[str, Any]) -> dict[str, Any]:
        answer = client.batch_get_item(RequestItems=request)
        found.extend(dict(i) for i in answer.get("Responses", {}).get(name, []))
        return dict(answer)

    for chunk in batched(keys, MAX_GET, strict=False):
        request = {name: {"Keys": list(chunk), "ConsistentRead": True}}
        _until_done(call, request, "UnprocessedKeys", sleep)
    return found


def batch_put(
    table: Table,
    items: Sequence[Mapping[str, Any]],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Put every item (unconditionally: only for writes whose repetition is harmless); returns
    the number of calls it took."""
    client, name = client_of(table), table.name

    def call(request: dict[str, Any]) -> dict[str, Any]:
        return dict(client.batch_write_item(RequestItems=request))

    return sum(
        _until_done(
            call,
            {name: [{"PutRequest": {"Item": dict(i)}} for i in chunk]},
            "UnprocessedItems",
            sleep,
        )
        for chunk in batched(items, MAX_WRITE, strict=False)
    )


@dataclass(frozen=True)
class Refusal:
    """One transaction item whose condition failed, with the item as it stood (ALL_OLD)."""

    index: int
    current: Item | None


class TransactionConflict(Exception):
    """Another transaction touched the same items at the same moment: retry the unit of work."""


def transact(table: Table, actions: Sequence[Mapping[str, Any]]) -> list[Refusal]:
    """Run up to 100 actions atomically. On a failed condition nothing is written and the
    refused items are returned (empty list = committed); each action is a `TransactItems`
    entry without `TableName`, which is filled in here."""
    if len(actions) > MAX_TRANSACT:
        raise ValueError(f"a transaction holds at most {MAX_TRANSACT} items")
    items = []
    for action in actions:
        ((verb, body),) = action.items()
        items.append({verb: {"TableName": table.name, **body}})
    try:
        client_of(table).transact_write_items(TransactItems=items)  # type: ignore[arg-type]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") != "TransactionCanceledException":
            raise
        reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons") or []  # type: ignore[assignment]
        refused = [
            Refusal(index, _from_wire(r["Item"]) if r.get("Item") else None)
            for index, r in enumerate(reasons)
            if r.get("Code") == "ConditionalCheckFailed"
        ]
        if not refused:
            raise TransactionConflict(str(exc)) from exc
        return refused
    return []
