"""Snooze ("remind me later"): the assignee puts an approval or review push away for an hour or
until tomorrow morning in their own zone, and the SLA sweep brings it back as `task.snoozed`. A
snooze only adds a time to the task's schedule: the SLA steps keep theirs, so it never delays an
escalation. Bounded: at most MAX_SNOOZES per task.
Why: docs/design/not-seen.md (section "Snooze")."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ecmpush.domain.delivery.notifications import Notification, notification_id
from ecmpush.domain.sweeps.sla import ladder_notification
from ecmpush.domain.sweeps.tasks import TrackedTask

SnoozeChoice = Literal["1h", "tomorrow"]
SNOOZABLE_STAGES: Final = ("approval", "review")
MAX_SNOOZES: Final = 3
MORNING: Final = time(8, 0)  # "tomorrow" means this time of the next day in the user's zone
KIND: Final = "task.snoozed"


class SnoozeRefused(ValueError):
    """The task cannot be snoozed (again); the message says why."""


def snooze_until(choice: SnoozeChoice, now: datetime, timezone: str | None) -> datetime:
    """When the push comes back: in an hour, or at MORNING tomorrow in `timezone` (an IANA zone
    from the device or preferences; UTC when unknown)."""
    if choice == "1h":
        return now + timedelta(hours=1)
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, MORNING, tzinfo=zone)


def check_snoozable(task: TrackedTask | None, user: str) -> TrackedTask:
    """The task, when `user` may snooze it now: open, theirs, of a stage that offers it, and
    snoozed fewer than MAX_SNOOZES times."""
    if task is None or task.status != "open":
        raise SnoozeRefused("the task is no longer open")
    if task.assignee.casefold() != user.casefold():
        raise SnoozeRefused("only the assignee can snooze the task")
    if task.stage not in SNOOZABLE_STAGES:
        raise SnoozeRefused(f"a {task.stage} step cannot be snoozed")
    if task.snoozes >= MAX_SNOOZES:
        raise SnoozeRefused(f"the task was snoozed {MAX_SNOOZES} times already")
    return task


def snoozed_notification(task: TrackedTask, app_base_url: str, now: datetime) -> Notification:
    """The push coming back: the assignee's, with the stage's buttons; one id per snooze."""
    nid = notification_id(f"snooze|{task.task_key}|{task.notification_id}|{task.snoozes}", KIND)
    notification = ladder_notification(
        task,
        KIND,
        (task.assignee,),
        app_base_url,
        now,
        actionable=True,
        nid=nid,
        source_id=f"snooze:{task.task_key}:{task.snoozes}",
    )
    return notification.model_copy(update={"category": task.stage})
