"""A workflow task as ecmpush tracks it: opened by `task.assigned`, closed by `task.completed`
or by an applied reply. Replies to a closed task are refused (409); the SLA sweep reads the
open ones whose next SLA step is due and climbs their ladder (domain/sweeps/sla.py), one `sla_level`
at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ecmpush.domain.delivery.withdrawal import Decision
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.intake.events import TaskAssigned


class TrackedTask(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    task_key: str
    process_id: str
    subprocess_id: str
    task_id: str
    title: str
    stage: str
    assignee: str
    supervisor: str | None = None
    backup: str | None = None
    due_at: datetime | None = None  # from the event, else the default SLA (TasksRepository.open)
    priority: str = "normal"
    document_name: str | None = None
    document_node_id: str | None = (
        None  # the event's document (read as the user: docs/design/approver-api.md)
    )
    notification_id: str | None = None
    status: Literal["open", "closed"] = "open"
    opened_at: datetime
    assigned_at: datetime | None = None  # the event's occurred_at: where a default SLA counts from
    sla_level: int = 0  # the next SLA step (domain/sweeps/sla.py: 0 reminder, 1 escalation, 2 done)
    closed_at: datetime | None = None
    outcome: str | None = None
    decision: Decision | None = None  # who decided, once closed (domain/delivery/withdrawal.py)
    # Not seen → the next person (domain/sweeps/unseen.py): when the next check is due (None: not
    # watched, or done) and which step it takes (0 reminder, 1 early escalation, 2 done).
    unseen_at: datetime | None = None
    unseen_level: int = 0
    # "Remind me later" (domain/sweeps/snooze.py): when the push comes back, and how often the
    # assignee snoozed this task.
    snooze_at: datetime | None = None
    snoozes: int = 0

    def next_check(self, sla_step_at: datetime | None) -> datetime | None:
        """When the sweep must look at the task again: the earliest of its next SLA step,
        its not-seen check and its snooze; None when nothing is left."""
        times = [t for t in (sla_step_at, self.unseen_at, self.snooze_at) if t is not None]
        return min(times) if times else None

    @property
    def ref(self) -> TaskRef:
        """The Content Server step; raises ValueError for ids that are not Content Server's."""
        return TaskRef(
            process_id=self.process_id, subprocess_id=self.subprocess_id, task_id=self.task_id
        )


def from_assigned(
    event: TaskAssigned,
    notification_id: str | None,
    now: datetime,
    unseen_after: timedelta | None = None,
) -> TrackedTask:
    """`unseen_after`: how long the push may stay unseen (the operator's routing document), counted
    from now, when the push goes out; only a task with a push is watched."""
    task, data = event.data.task, event.data
    watched = unseen_after is not None and notification_id is not None
    return TrackedTask(
        task_key=task.key,
        process_id=task.process_id,
        subprocess_id=task.subprocess_id,
        task_id=task.task_id,
        title=task.title,
        stage=task.stage,
        assignee=data.assignee.user_id,
        supervisor=data.supervisor.user_id if data.supervisor else None,
        backup=data.backup.user_id if data.backup else None,
        due_at=task.due_at,
        priority=task.priority,
        document_name=data.document.name if data.document else None,
        document_node_id=data.document.node_id if data.document else None,
        notification_id=notification_id,
        opened_at=now,
        assigned_at=event.occurred_at,
        unseen_at=now + unseen_after if watched and unseen_after else None,
    )
