"""Tracked workflow tasks: pk `task_key`; the sparse `open_bucket` attribute puts open tasks with
a due time in the `open_by_due` index (for the SLA sweep) and disappears when the task closes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ecmpush.adapters.dynamo import is_conditional_failure, iso
from ecmpush.domain.tasks import TrackedTask

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

OPEN_BUCKET = "open"


class TasksRepository:
    def __init__(self, table: Table, retention_days: int) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days)

    def open(self, task: TrackedTask) -> None:
        """Track a newly assigned task, unless it was already closed (events can arrive out of
        order: a completion must not be undone by a late assignment)."""
        item: dict[str, Any] = {
            k: v for k, v in task.model_dump(mode="json").items() if v is not None
        }
        if task.due_at is not None:
            item["open_bucket"] = OPEN_BUCKET  # only tasks with a due time can become overdue
        item["expires_at"] = int((task.opened_at + self._retention).timestamp())
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(task_key) OR #status = :open",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":open": "open"},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise

    def close(self, key: str, outcome: str | None, now: datetime) -> None:
        """Close (creating a closed marker when the task was never seen open)."""
        self._table.update_item(
            Key={"task_key": key},
            UpdateExpression=(
                "SET #status = :closed, closed_at = :now, outcome = :outcome, "
                "expires_at = if_not_exists(expires_at, :expires) REMOVE open_bucket"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":closed": "closed",
                ":now": iso(now),
                ":outcome": outcome or "completed",
                ":expires": int((now + self._retention).timestamp()),
            },
        )

    def get(self, key: str) -> TrackedTask | None:
        item = self._table.get_item(Key={"task_key": key}, ConsistentRead=True).get("Item")
        if item is None or "opened_at" not in item:
            return _closed_marker(key, item) if item else None
        return TrackedTask.model_validate(item)


def _closed_marker(key: str, item: dict[str, Any]) -> TrackedTask:
    """A completion that arrived before (or without) its assignment."""
    process_id, subprocess_id, task_id = [*key.split("/", 2), "", ""][:3]
    return TrackedTask(
        task_key=key,
        process_id=process_id,
        subprocess_id=subprocess_id,
        task_id=task_id,
        title="",
        stage="task",
        assignee="",
        status="closed",
        opened_at=datetime.fromisoformat(str(item.get("closed_at"))),
        outcome=str(item.get("outcome") or "completed"),
    )
