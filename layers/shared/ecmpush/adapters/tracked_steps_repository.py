"""What ecmpush tracked of the steps in a user's inbox, read for the approver's API: the tracked
task (TasksTable) and, per push about it, the notification header, the user's inbox entry
and reply (DeliveriesTable), each set in one BatchGetItem. Read only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecmpush.adapters.deliveries_repository import HEADER, inbox_key
from ecmpush.adapters.dynamo_batch import batch_get
from ecmpush.adapters.replies_repository import reply_key
from ecmpush.domain.approver.steps import ReplySummary, TrackedPush
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.sweeps.sla import ESCALATION, REMINDER, sla_notification_id
from ecmpush.domain.sweeps.tasks import TrackedTask

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class TrackedStepsRepository:
    def __init__(self, tasks: Table, deliveries: Table) -> None:
        self._tasks = tasks
        self._deliveries = deliveries

    def tasks(self, refs: Sequence[TaskRef]) -> Mapping[TaskRef, TrackedTask]:
        """The tracked tasks among `refs` (steps ecmpush never heard of are absent)."""
        by_key = {ref.key: ref for ref in refs}
        items = batch_get(self._tasks, [{"task_key": key} for key in by_key])
        found: dict[TaskRef, TrackedTask] = {}
        for item in items:
            ref = by_key.get(str(item.get("task_key")))
            if ref is not None:
                found[ref] = TrackedTask.model_validate(item)
        return found

    def pushes(
        self, tasks: Sequence[TrackedTask], owner: str, *, with_sla: bool = False
    ) -> Mapping[str, list[TrackedPush]]:
        """Per task key, the pushes `owner` was sent about it (the assignment push; with
        `with_sla` the SLA reminder and escalation too, whose ids follow from the task), oldest
        first, each with `owner`'s reply."""
        ids_by_task = {task.task_key: _notification_ids(task, with_sla) for task in tasks}
        keys = [
            {"notification_id": nid, "sk": sk}
            for ids in ids_by_task.values()
            for nid in ids
            for sk in (HEADER, inbox_key(owner), reply_key(owner))
        ]
        items: dict[tuple[str, str], dict[str, Any]] = {
            (str(i["notification_id"]), str(i["sk"])): i
            for i in (batch_get(self._deliveries, keys) if keys else [])
        }
        found: dict[str, list[TrackedPush]] = {}
        for task_key, ids in ids_by_task.items():
            pushes = [push for nid in ids if (push := _push(nid, owner, items)) is not None]
            found[task_key] = sorted(pushes, key=lambda p: p.created_at)
        return found


def _notification_ids(task: TrackedTask, with_sla: bool) -> list[str]:
    ids = [task.notification_id] if task.notification_id else []
    if with_sla and task.due_at is not None:
        for level in (REMINDER, ESCALATION):
            for info in (False, True):
                ids.append(sla_notification_id(task.task_key, task.due_at, level, info=info))
    return list(dict.fromkeys(ids))


def _push(
    nid: str, owner: str, items: Mapping[tuple[str, str], dict[str, Any]]
) -> TrackedPush | None:
    header = items.get((nid, HEADER))
    if header is None or (nid, inbox_key(owner)) not in items:
        return None  # never made, or not sent to this user
    notification = header.get("notification") or {}
    reply = items.get((nid, reply_key(owner)))
    return TrackedPush(
        notification_id=nid,
        type=str(notification.get("type") or ""),
        created_at=datetime.fromisoformat(str(header["created_at"]).replace("Z", "+00:00")),
        actions=tuple(str(a) for a in notification.get("actions") or ()),
        reply=ReplySummary(
            action=str(reply.get("action")),
            status=str(reply.get("status")),
            replied_at=reply.get("replied_at"),
        )
        if reply
        else None,
    )
