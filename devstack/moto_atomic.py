"""DynamoDB's conditional writes are atomic; moto's are not when two threads write at once (it
checks the condition, then writes, without a lock), so two overlapping sweeps could both "win"
a conditional update locally where DynamoDB lets exactly one. One lock around moto's item writes
makes the local stand-in as strict as the service. Applied by the local stack and the tests."""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")
_LOCK = threading.RLock()


def make_dynamodb_writes_atomic() -> None:
    """Idempotent: wraps each write method once."""
    for name in WRITES:
        method = getattr(DynamoDBBackend, name)
        if getattr(method, "_ecmpush_atomic", False):
            continue

        @functools.wraps(method)
        def atomic(self: Any, *args: Any, _method: Any = method, **kwargs: Any) -> Any:
            with _LOCK:
                return _method(self, *args, **kwargs)

        atomic._ecmpush_atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, atomic)
