"""Replies, stored beside the notification they answer (`sk = r#<ecm_user>` in the deliveries
item collection). The conditional put is the single-use guard: one reply per recipient per
notification, whichever device or retry it comes from."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ecmpush.adapters.deliveries_repository import item_key
from ecmpush.adapters.dynamo import applied, conditional
from ecmpush.clock import rfc3339
from ecmpush.domain.replies.requests import ReplyStatus
from ecmpush.domain.replies.write_back import Reply

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def reply_key(ecm_user: str) -> str:
    return item_key("r", ecm_user)


class RepliesRepository:
    def __init__(self, table: Table, retention_days: int) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days)

    def claim(self, reply: Reply, now: datetime) -> bool:
        """Record the reply as queued; False when this recipient already answered."""
        item: dict[str, Any] = {
            "notification_id": reply.notification_id,
            "sk": reply_key(reply.ecm_user),
            "response_id": reply.response_id,
            "owner": reply.ecm_user,
            "action": reply.action,
            "status": ReplyStatus.QUEUED.value,
            "replied_at": rfc3339(reply.replied_at),
            "created_at": rfc3339(now),
            "updated_at": rfc3339(now),
            "expires_at": int((now + self._retention).timestamp()),
        }
        for name in ("comment", "platform", "installation_id"):
            value = getattr(reply, name)
            if value:
                item[name] = value
        return applied(
            self._table.put_item, Item=item, ConditionExpression="attribute_not_exists(sk)"
        )

    def release(self, reply: Reply) -> None:
        """Undo a claim whose reply could be neither applied nor queued, so the user may retry."""
        conditional(
            self._table.delete_item,
            Key={"notification_id": reply.notification_id, "sk": reply_key(reply.ecm_user)},
            ConditionExpression="response_id = :id",
            ExpressionAttributeValues={":id": reply.response_id},
        )

    def mark(self, reply: Reply, status: ReplyStatus, now: datetime, detail: str = "") -> None:
        self._table.update_item(
            Key={"notification_id": reply.notification_id, "sk": reply_key(reply.ecm_user)},
            UpdateExpression="SET #status = :status, updated_at = :now, detail = :detail",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":status": status.value,
                ":now": rfc3339(now),
                ":detail": detail[:500],
            },
        )

    def get(self, notification_id: str, ecm_user: str) -> dict[str, Any] | None:
        item = self._table.get_item(
            Key={"notification_id": notification_id, "sk": reply_key(ecm_user)},
            ConsistentRead=True,
        ).get("Item")
        return dict(item) if item else None
