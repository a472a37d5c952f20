"""Notifications and their per-device deliveries, one item collection per notification:
`sk = #notification` holds what was sent, `sk = d#<owner>#<installation_id>` one delivery each.

A delivery is claimed with a conditional write before the push goes out, so a redelivered SQS
message (or a second consumer) never sends twice to a device already served; a claim left by a
crashed attempt can be taken over once its lease has passed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from ecmpush.adapters.dynamo import is_conditional_failure, iso
from ecmpush.domain.delivery import Claim, DeliveryStatus
from ecmpush.domain.notifications import Notification

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

HEADER = "#notification"

NO_DEVICE = "-"


def policy_key(owner: str) -> str:
    return f"p#{owner}"


def inbox_key(recipient: str) -> str:
    return f"i#{recipient}"


def delivery_key(owner: str, installation_id: str) -> str:
    return f"d#{owner}#{installation_id}"


class DeliveriesRepository:
    def __init__(self, table: Table, retention_days: int) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days)

    def _expires(self, now: datetime) -> int:
        return int((now + self._retention).timestamp())

    def save_notification(self, notification: Notification, now: datetime) -> None:
        """Write the header, and one inbox entry per recipient (the only items in the
        `by_recipient` index: a user's history is one entry per notification), each once; a
        redelivery keeps the first copies."""
        header: dict[str, Any] = {
            "notification_id": notification.id,
            "sk": HEADER,
            "notification": notification.model_dump(mode="json"),
            "created_at": iso(notification.created_at),
            "expires_at": self._expires(now),
        }
        self._put_once(header)
        for recipient in dict.fromkeys(notification.recipients):
            self._put_once(
                {
                    "notification_id": notification.id,
                    "sk": inbox_key(recipient),
                    "recipient": recipient,
                    "type": notification.type,
                    "category": notification.category,
                    "created_at": iso(notification.created_at),
                    "expires_at": self._expires(now),
                }
            )

    def _put_once(self, item: dict[str, Any]) -> None:
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(sk)")
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise

    def claim(
        self,
        notification: Notification,
        owner: str,
        installation_id: str,
        platform: str,
        now: datetime,
        lease_seconds: int,
    ) -> Claim:
        """Take the right to send to this device now, or say who has it."""
        try:
            self._table.update_item(
                Key={
                    "notification_id": notification.id,
                    "sk": delivery_key(owner, installation_id),
                },
                UpdateExpression=(
                    "SET #status = :sending, claimed_at = :now, updated_at = :now, "
                    "#owner = :owner, installation_id = :iid, platform = :platform, "
                    "notification_type = :type, created_at = if_not_exists(created_at, :now), "
                    "expires_at = :expires ADD attempts :one"
                ),
                ConditionExpression=(
                    "attribute_not_exists(sk) OR #status = :retrying "
                    "OR (#status = :sending AND claimed_at < :stale)"
                ),
                ExpressionAttributeNames={"#status": "status", "#owner": "owner"},
                ExpressionAttributeValues={
                    ":sending": DeliveryStatus.SENDING.value,
                    ":retrying": DeliveryStatus.RETRYING.value,
                    ":now": iso(now),
                    ":stale": iso(now - timedelta(seconds=lease_seconds)),
                    ":owner": owner,
                    ":iid": installation_id,
                    ":platform": platform,
                    ":type": notification.type,
                    ":expires": self._expires(now),
                    ":one": 1,
                },
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
            current = self._table.get_item(
                Key={
                    "notification_id": notification.id,
                    "sk": delivery_key(owner, installation_id),
                },
                ConsistentRead=True,
            ).get("Item", {})
            in_flight = current.get("status") == DeliveryStatus.SENDING.value
            return Claim.IN_FLIGHT if in_flight else Claim.DONE
        return Claim.CLAIMED

    def record(
        self,
        notification_id: str,
        owner: str,
        installation_id: str,
        status: DeliveryStatus,
        now: datetime,
        *,
        message_id: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        values: dict[str, Any] = {":status": status.value, ":now": iso(now)}
        sets = ["#status = :status", "updated_at = :now"]
        for name, value in (
            ("fcm_message_id", message_id),
            ("error_code", error_code),
            ("error_message", error_message[:500] if error_message else None),
        ):
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        self._table.update_item(
            Key={"notification_id": notification_id, "sk": delivery_key(owner, installation_id)},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def record_no_device(self, notification: Notification, owner: str, now: datetime) -> None:
        """A recipient without a device is a fact worth keeping, not a silent drop."""
        self._put_once(
            {
                "notification_id": notification.id,
                "sk": delivery_key(owner, NO_DEVICE),
                "owner": owner,
                "installation_id": NO_DEVICE,
                "notification_type": notification.type,
                "status": DeliveryStatus.NO_DEVICE.value,
                "created_at": iso(now),
                "updated_at": iso(now),
                "expires_at": self._expires(now),
            }
        )

    def record_policy(
        self,
        notification: Notification,
        owner: str,
        outcome: str,
        now: datetime,
        detail: str | None = None,
    ) -> None:
        """What the recipient's preferences did to this notification: muted, deferred (until
        `detail`), or bypassed (which preference an urgent push went through). Latest wins."""
        item: dict[str, Any] = {
            "notification_id": notification.id,
            "sk": policy_key(owner),
            "owner": owner,
            "outcome": outcome,
            "updated_at": iso(now),
            "expires_at": self._expires(now),
        }
        if detail:
            item["detail"] = detail
        self._table.put_item(Item=item)

    def deliveries(self, notification_id: str) -> list[dict[str, Any]]:
        page = self._table.query(
            KeyConditionExpression=Key("notification_id").eq(notification_id)
            & Key("sk").begins_with("d#")
        )
        return list(page.get("Items", []))
