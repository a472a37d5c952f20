"""Accepted webhook events, kept for audit and for flows that need them later (SLA, expiry)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ecmpush.clock import rfc3339
from ecmpush.domain.intake.events import EcmEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class EventsRepository:
    def __init__(self, table: Table, retention_days: int) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days)

    def save(self, event: EcmEvent, received_at: datetime) -> None:
        self._table.put_item(
            Item={
                "event_id": event.id,
                "type": event.type,
                "tenant": event.tenant,
                "occurred_at": rfc3339(event.occurred_at),
                "received_at": rfc3339(received_at),
                "status": "accepted",
                "event": event.model_dump(mode="json", exclude_none=True),
                "expires_at": int((received_at + self._retention).timestamp()),
            }
        )

    def mark(self, event_id: str, status: str, now: datetime, notifications: int = 0) -> None:
        self._table.update_item(
            Key={"event_id": event_id},
            UpdateExpression="SET #status = :status, routed_at = :now, notifications = :n",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":status": status,
                ":now": rfc3339(now),
                ":n": notifications,
            },
        )
