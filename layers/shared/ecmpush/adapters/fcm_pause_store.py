"""The project-wide FCM pause (domain/delivery/pacing.py) as one item of DeliveriesTable, so every
Dispatch container sees it: `notification_id = #fcm`, `sk = #pause`, `until` (ISO 8601 UTC).
Keys starting with '#' are never notification ids. A pause only ever grows: two invocations
that both hit the quota keep the later end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ecmpush.adapters.dynamo import conditional
from ecmpush.clock import rfc3339

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_KEY = {"notification_id": "#fcm", "sk": "#pause"}


class FcmPauseStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def until(self) -> datetime | None:
        item = self._table.get_item(Key=_KEY).get("Item")
        return datetime.fromisoformat(str(item["until"])) if item else None

    def pause(self, until: datetime) -> None:
        conditional(
            self._table.put_item,
            Item={
                **_KEY,
                "until": rfc3339(until),
                "expires_at": int((until + timedelta(days=1)).timestamp()),
            },
            ConditionExpression="attribute_not_exists(#until) OR #until < :until",
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues={":until": rfc3339(until)},
        )
