"""Not seen → the next person: an approval or review push that no device of the assignee displayed
or opened in time is followed by a reminder, and after a second interval the task climbs the SLA
ladder early (the escalation, to the same people). Pure, like domain/sweeps/sla.py; whether the
push was seen is the sweep's question to the deliveries.
Why: docs/design/not-seen.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ecmpush.domain.delivery.notifications import Notification, notification_id
from ecmpush.domain.delivery.routing_config import UnseenConfig
from ecmpush.domain.sweeps.sla import (
    DONE,
    ESCALATION,
    KIND,
    ladder_notification,
    ladder_notifications,
    recipients_for,
)
from ecmpush.domain.sweeps.tasks import TrackedTask

NOT_SEEN: Final = "not_seen"  # data.reason of the pushes and the reason of the history entries

UNSEEN_REMINDER: Final = 0
UNSEEN_ESCALATION: Final = 1
UNSEEN_DONE: Final = 2

_KINDS: Final = {UNSEEN_REMINDER: KIND[0], UNSEEN_ESCALATION: KIND[ESCALATION]}


def unseen_notification_id(task: TrackedTask, level: int, *, info: bool = False) -> str:
    """One id per task, push and step: a retried sweep enqueues the same notification, which
    Dispatch serves once per device; a new assignment (a new push) watches afresh."""
    source = f"{NOT_SEEN}|{task.task_key}|{task.notification_id}" + ("|info" if info else "")
    return notification_id(source, _KINDS[level])


def watched_pushes(task: TrackedTask) -> tuple[str, ...]:
    """The pushes whose display or opening by one of the assignee's devices counts as seen: the
    assignment's and the not-seen reminder."""
    if task.notification_id is None:
        return ()
    return (task.notification_id, unseen_notification_id(task, UNSEEN_REMINDER))


@dataclass(frozen=True)
class UnseenStep:
    """What the not-seen check of `level` does: the notifications to enqueue, whom they address,
    who of them may act, the next check (None: done), and whether the SLA ladder climbs to its
    end with it (the early escalation)."""

    level: int
    kind: str
    recipients: tuple[str, ...]
    actors: tuple[str, ...]
    notifications: tuple[Notification, ...]
    next_level: int
    next_at: datetime | None
    escalates: bool
    ended: bool = False  # nothing left to do: the check ends without a push


def unseen_step_for(
    task: TrackedTask,
    config: UnseenConfig | None,
    app_base_url: str,
    now: datetime,
    deputies: Sequence[str] = (),
) -> UnseenStep | None:
    """The not-seen step due now for a task nobody has seen; None when it is not watched or not
    due. Once the SLA ladder has escalated, the check ends without a push: never twice. The early
    escalation waits `escalate_after` after the reminder went out: the assignee's grace is
    never skipped. Without the routing document's `unseen` section any pending check ends."""
    level = task.unseen_level
    if task.unseen_at is None or task.unseen_at > now or level not in _KINDS:
        return None
    if config is None or task.sla_level >= DONE:
        return _ended(level)
    if level == UNSEEN_REMINDER:
        recipients: tuple[str, ...] = (task.assignee,) if task.assignee else ()
        actors = recipients
        next_level, next_at = UNSEEN_ESCALATION, now + config.escalate_after
    else:
        recipients, actors = recipients_for(task, ESCALATION, deputies)
        next_level, next_at = UNSEEN_DONE, None
    notifications = ladder_notifications(
        recipients,
        actors,
        lambda people, actionable: ladder_notification(
            task,
            _KINDS[level],
            people,
            app_base_url,
            now,
            actionable=actionable,
            nid=unseen_notification_id(task, level, info=not actionable),
            source_id=f"{NOT_SEEN}:{task.task_key}:{level}",
            reason=NOT_SEEN,
        ),
    )
    return UnseenStep(
        level=level,
        kind=_KINDS[level],
        recipients=recipients,
        actors=actors,
        notifications=notifications,
        next_level=next_level,
        next_at=next_at,
        escalates=level == UNSEEN_ESCALATION,
    )


def _ended(level: int) -> UnseenStep:
    return UnseenStep(
        level=level,
        kind=_KINDS[level],
        recipients=(),
        actors=(),
        notifications=(),
        next_level=UNSEEN_DONE,
        next_at=None,
        escalates=False,
        ended=True,
    )
