"""A user's notification history: inbox entries from the `by_recipient` index, newest first,
each joined with its notification, that user's deliveries and their reply.
Why: docs/design/notification-history.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from ecmpush.adapters.deliveries_repository import HEADER, delivery_key
from ecmpush.adapters.dynamo_cursor import from_cursor, to_cursor
from ecmpush.adapters.replies_repository import reply_key
from ecmpush.domain.delivery.outcomes import NO_DEVICE_ID
from ecmpush.domain.delivery.templates import render
from ecmpush.domain.page import Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BY_RECIPIENT = "by_recipient"


_KEYS = frozenset({"notification_id", "sk", "recipient", "created_at"})


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


def _withdrawal(item: dict[str, Any]) -> dict[str, Any]:
    """When and why the push was withdrawn from this device (docs/design/withdrawal.md)."""
    if "withdrawn_at" not in item:
        return {}
    return {"withdrawn_at": item["withdrawn_at"], "withdrawal": item.get("withdrawal")}
