"""Receipts on the delivery items of DeliveriesTable: one BatchGetItem reads the caller's
deliveries (and their notifications' headers) for a request, then one conditional UpdateItem per
delivery with something new keeps the first report of each kind (`if_not_exists`). The key holds
the caller as owner, so another user's installation is simply not found.
Why: docs/design/receipts.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecmpush.adapters.deliveries_repository import HEADER, delivery_key
from ecmpush.adapters.dynamo import conditional
from ecmpush.adapters.dynamo_batch import batch_get
from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.receipts import SENT, DeliveryRef, DeliveryState, ReceiptEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

NO_STAGE = "-"  # the dimension value of a notification without a category


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


class ReceiptsRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def states(self, owner: str, refs: Sequence[DeliveryRef]) -> dict[DeliveryRef, DeliveryState]:
        """The caller's deliveries among `refs` that exist, with what they already hold."""
        wanted = list(dict.fromkeys(refs))
        headers = list(dict.fromkeys(ref.notification_id for ref in wanted))
        keys = [
            {"notification_id": r.notification_id, "sk": delivery_key(owner, r.installation_id)}
            for r in wanted
        ] + [{"notification_id": nid, "sk": HEADER} for nid in headers]
        items = {(str(i["notification_id"]), str(i["sk"])): i for i in batch_get(self._table, keys)}
        found: dict[DeliveryRef, DeliveryState] = {}
        for ref in wanted:
            item = items.get((ref.notification_id, delivery_key(owner, ref.installation_id)))
            sent_at = _time(item.get("created_at")) if item else None
            if item is None or sent_at is None or item.get("owner") != owner:
                continue
            header = items.get((ref.notification_id, HEADER), {}).get("notification") or {}
            found[ref] = DeliveryState(
                status=str(item.get("status")),
                sent_at=sent_at,
                version=str(item["created_at"]),
                flow=str(item.get("notification_type") or header.get("type") or NO_STAGE),
                stage=str(header.get("category") or NO_STAGE),
                recorded={
                    event: at
                    for event in ReceiptEvent
                    if (at := _time(item.get(event.attribute, ""))) is not None
                },
            )
        return found

    def record(
        self,
        owner: str,
        ref: DeliveryRef,
        state: DeliveryState,
        reports: Mapping[ReceiptEvent, datetime],
    ) -> frozenset[ReceiptEvent] | None:
        """One conditional UpdateItem: the reports not already there are kept. Returns the
        events another request recorded first, or None when the delivery is no longer the sent
        one that was judged (nothing written)."""
        names = {"#status": "status"}
        values: dict[str, Any] = {":sent": SENT, ":version": state.version}
        sets = []
        for n, (event, at) in enumerate(sorted(reports.items())):
            names[f"#r{n}"] = event.attribute
            values[f":r{n}"] = rfc3339(at)
            sets.append(f"#r{n} = if_not_exists(#r{n}, :r{n})")
        answer = conditional(
            self._table.update_item,
            Key={
                "notification_id": ref.notification_id,
                "sk": delivery_key(owner, ref.installation_id),
            },
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="#status = :sent AND created_at = :version",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
        if answer is None:
            return None
        old = answer.get("Attributes") or {}
        return frozenset(event for event in reports if event.attribute in old)
