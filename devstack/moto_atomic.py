"""DynamoDB's conditional writes are atomic; moto's are not when two threads write at once (it
checks the condition, then writes, without a lock), so two overlapping sweeps could both "win"
a conditional update locally where DynamoDB lets exactly one. One lock around moto's item writes
makes the local stand-in as strict as the service. Reads take it too: a query or scan iterates
a table's item dictionary, which a concurrent write resizes ("dictionary changed size during
iteration" once the local runtime ran invocations side by side). Applied by the local stack and
the tests.

moto also makes a transaction's rollback copy the whole of every table it touches
(`copy.deepcopy(table)`), so a 100-item claim against a table of 10,000 deliveries took
seconds locally where DynamoDB takes milliseconds, and the local stack measured moto, not
Dispatch. Under the same lock, only the items the transaction names are saved and, if it is
cancelled, put back: the same all-or-nothing outcome at the cost of the items involved."""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")
READS = ("get_item", "query", "scan")  # the batch reads call get_item per key
_LOCK = threading.RLock()
_real_deepcopy = copy.deepcopy


class _TablesNotCopied:
    """moto's `copy` as its transaction sees it: tables are not copied (the items are saved by
    `_cheap_transaction` instead); everything else is, as before."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else _real_deepcopy(value, memo)


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _cheap_transaction(method: Any) -> Any:
    @functools.wraps(method)
    def transact(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        with _LOCK:
            saved: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
            for entry in transact_items[:100]:
                op_type, op = next(iter(entry.items()))
                if op_type in {"Put", "Update", "Delete"} and op.get("TableName") in self.tables:
                    key = _key_of(self, op_type, op)
                    current = self.get_item(op["TableName"], key)
                    before = _real_deepcopy(current.to_json()["Attributes"]) if current else None
                    saved.append((op["TableName"], key, before))
            setattr(dynamodb_models, "copy", _TablesNotCopied)  # noqa: B010 - moto reads it by name
            try:
                return method(self, transact_items)
            except BaseException:
                for table_name, key, before in reversed(saved):
                    if before is not None:
                        self.put_item(table_name, before)
                    elif self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                raise
            finally:
                setattr(dynamodb_models, "copy", copy)  # noqa: B010

    return transact


def make_dynamodb_atomic() -> None:
    """Idempotent: wraps each write (and read) method once."""
    for name in WRITES + READS:
        method = getattr(DynamoDBBackend, name)
        if getattr(method, "_ecmpush_atomic", False):
            continue
        if name == "transact_write_items":
            method = _cheap_transaction(method)

        @functools.wraps(method)
        def atomic(self: Any, *args: Any, _method: Any = method, **kwargs: Any) -> Any:
            with _LOCK:
                return _method(self, *args, **kwargs)

        atomic._ecmpush_atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, atomic)
