"""A user's notification history: inbox entries from the `by_recipient` index, newest first,
each joined with its notification, that user's deliveries (with the receipts their devices
reported) and their reply; whether the user has read it (`read_at` on the inbox entry) and how
many they have not (the badge).
Why: docs/design/notification-history.md, docs/design/receipts.md."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key

from ecmpush.adapters.deliveries_repository import HEADER, delivery_key, inbox_key
from ecmpush.adapters.dynamo import conditional
from ecmpush.adapters.dynamo_cursor import from_cursor, to_cursor
from ecmpush.adapters.replies_repository import reply_key
from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.outcomes import NO_DEVICE_ID
from ecmpush.domain.delivery.receipts import ReceiptEvent
from ecmpush.domain.delivery.templates import render
from ecmpush.domain.page import Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BY_RECIPIENT = "by_recipient"


_KEYS = frozenset({"notification_id", "sk", "recipient", "created_at"})
# What a delivery shows of its receipts: the first report of each kind.
_RECEIPT_ATTRIBUTES = tuple(event.attribute for event in ReceiptEvent)


class HistoryRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def page(self, owner: str, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "IndexName": BY_RECIPIENT,
            "KeyConditionExpression": Key("recipient").eq(owner),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = from_cursor(cursor, _KEYS, {"recipient": owner})
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self._table.query(**kwargs)
        entries = tuple(self._entry(owner, item) for item in page.get("Items", []))
        return Page(entries, to_cursor(page.get("LastEvaluatedKey")))

    def _entry(self, owner: str, inbox: dict[str, Any]) -> dict[str, Any]:
        nid = str(inbox["notification_id"])
        prefix = delivery_key(owner, "")
        items = self._table.query(
            KeyConditionExpression=Key("notification_id").eq(nid) & Key("sk").begins_with(prefix)
        )["Items"]
        for sk in (HEADER, reply_key(owner)):
            item = self._table.get_item(Key={"notification_id": nid, "sk": sk}).get("Item")
            if item:
                items.append(item)
        by_sk: dict[str, dict[str, Any]] = {str(item["sk"]): dict(item) for item in items}
        header = by_sk.get(HEADER, {}).get("notification") or {}
        title, body = (
            render(str(header["template"]), dict(header.get("params") or {}), None, None)
            if header.get("template")
            else ("", "")
        )
        deliveries = [
            {
                "installation_id": item["installation_id"],
                "platform": item.get("platform"),
                "status": item["status"],
                "error_code": item.get("error_code"),
                "updated_at": item.get("updated_at"),
                **{name: item.get(name) for name in _RECEIPT_ATTRIBUTES},
                **_withdrawal(item),
            }
            for sk, item in sorted(by_sk.items())
            if sk.startswith(prefix)
            and item.get("owner") == owner
            and item.get("installation_id") != NO_DEVICE_ID
        ]
        reply = by_sk.get(reply_key(owner))
        decision = by_sk.get(HEADER, {}).get("decision")
        return {
            "notification_id": nid,
            "type": inbox.get("type"),
            "category": inbox.get("category"),
            "created_at": inbox.get("created_at"),
            "title": title,
            "body": body,
            "deep_link": header.get("deep_link"),
            "read": "read_at" in inbox,
            "read_at": inbox.get("read_at"),
            "deliveries": deliveries,
            "no_device": delivery_key(owner, NO_DEVICE_ID) in by_sk,
            "decision": dict(decision) if decision else None,  # who decided its task
            "response": (
                {
                    "action": reply["action"],
                    "status": reply["status"],
                    "replied_at": reply["replied_at"],
                }
                if reply
                else None
            ),
        }

    def _unread_query(self, owner: str) -> dict[str, Any]:
        return {
            "IndexName": BY_RECIPIENT,
            "KeyConditionExpression": Key("recipient").eq(owner),
            "FilterExpression": Attr("read_at").not_exists(),
        }

    def unread(self, owner: str) -> int:
        """Counted on the index (a Query with Select=COUNT, a page per MB): inbox entries are
        small and live as long as the deliveries' TTL, so this stays a few calls."""
        kwargs: dict[str, Any] = {**self._unread_query(owner), "Select": "COUNT"}
        count = 0
        while True:
            page = self._table.query(**kwargs)
            count += int(page.get("Count", 0))
            if "LastEvaluatedKey" not in page:
                return count
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_read(self, owner: str, notification_id: str, now: datetime) -> str | None:
        answer = conditional(
            self._table.update_item,
            Key={"notification_id": notification_id, "sk": inbox_key(owner)},
            UpdateExpression="SET read_at = if_not_exists(read_at, :now)",
            ConditionExpression="attribute_exists(sk) AND recipient = :owner",
            ExpressionAttributeValues={":now": rfc3339(now), ":owner": owner},
            ReturnValues="ALL_NEW",
        )
        return None if answer is None else str(answer["Attributes"]["read_at"])

    def mark_all_read(self, owner: str, now: datetime, limit: int) -> tuple[int, bool]:
        kwargs: dict[str, Any] = {
            **self._unread_query(owner),
            "ProjectionExpression": "notification_id",
        }
        unread: list[str] = []
        while len(unread) <= limit:
            page = self._table.query(**kwargs)
            unread += [str(item["notification_id"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        marked = sum(self.mark_read(owner, nid, now) is not None for nid in unread[:limit])
        return marked, len(unread) > limit


def _withdrawal(item: dict[str, Any]) -> dict[str, Any]:
    """When and why the push was withdrawn from this device (docs/design/withdrawal.md)."""
    if "withdrawn_at" not in item:
        return {}
    return {"withdrawn_at": item["withdrawn_at"], "withdrawal": item.get("withdrawal")}
