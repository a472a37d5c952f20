"""Service levels of workflow tasks and the ladder an overdue task climbs. Pure: the same task
at the same level always yields the same step, ids included.
Why: docs/design/sla-ladder.md."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from ecmpush.clock import rfc3339, sortable
from ecmpush.domain.config_json import json_object
from ecmpush.domain.delivery.notifications import Notification, notification_id
from ecmpush.domain.delivery.routing import task_link
from ecmpush.domain.replies.reply_actions import BY_STAGE, INFO
from ecmpush.domain.sweeps.tasks import TrackedTask

STAGES: Final = ("approval", "review", "task")
PRIORITIES: Final = ("low", "normal", "high")

REMINDER: Final = 0
ESCALATION: Final = 1
DONE: Final = 2

CATEGORY: Final = "sla"
KIND = {REMINDER: "sla.reminder", ESCALATION: "sla.escalation"}

MAX_HOURS: Final = 24 * 366  # a year: anything longer is a typo, not a service level

# Hours from assignment to due, when `task.assigned` names no due time.
BUILT_IN_HOURS: Final[Mapping[str, Mapping[str, float]]] = {
    "approval": {"high": 24, "normal": 72, "low": 120},
    "review": {"high": 48, "normal": 120, "low": 240},
    "task": {"high": 24, "normal": 120, "low": 240},
}
DEFAULT_GRACE_HOURS: Final = 24


class SlaConfigError(ValueError):
    """The SLA configuration (defaults JSON or grace) is invalid; the message names the path."""


def _hours(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SlaConfigError(f"{path}: hours must be a number")
    hours = float(value)
    if not math.isfinite(hours) or hours <= 0 or hours > MAX_HOURS:
        raise SlaConfigError(f"{path}: hours must be > 0 and at most {MAX_HOURS}")
    return hours


def parse_sla_hours(raw: str) -> dict[str, dict[str, float]]:
    """The built-in table with the operator's override laid over it. `raw` is JSON: per stage
    either one number (every priority) or `{priority: hours}`; stages and priorities left out
    keep their built-in hours; "" means the built-in table. Example:
    `{"approval": {"high": 8, "normal": 48}, "review": 96}`."""
    table = {stage: {p: float(h) for p, h in BUILT_IN_HOURS[stage].items()} for stage in STAGES}
    if not raw.strip():
        return table
    document = json_object(raw, "SLA defaults", SlaConfigError)
    for stage, value in document.items():
        if stage not in STAGES:
            raise SlaConfigError(f"{stage}: unknown stage (expected one of {', '.join(STAGES)})")
        if isinstance(value, dict):
            for priority, hours in value.items():
                if priority not in PRIORITIES:
                    raise SlaConfigError(
                        f"{stage}.{priority}: unknown priority "
                        f"(expected one of {', '.join(PRIORITIES)})"
                    )
                table[stage][priority] = _hours(hours, f"{stage}.{priority}")
        else:
            every = _hours(value, stage)
            table[stage] = dict.fromkeys(PRIORITIES, every)
    return table


@dataclass(frozen=True)
class SlaPolicy:
    hours: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: BUILT_IN_HOURS)
    grace: timedelta = timedelta(hours=DEFAULT_GRACE_HOURS)

    @classmethod
    def from_config(cls, defaults_json: str, grace_hours: float) -> SlaPolicy:
        if isinstance(grace_hours, bool) or not math.isfinite(grace_hours) or grace_hours < 0:
            raise SlaConfigError("grace: hours must be a number >= 0")
        if grace_hours > MAX_HOURS:
            raise SlaConfigError(f"grace: hours must be at most {MAX_HOURS}")
        return cls(parse_sla_hours(defaults_json), timedelta(hours=grace_hours))

    def sla_for(self, stage: str, priority: str) -> timedelta:
        """Unknown stage or priority (a validated event has none) falls back to task/normal."""
        by_priority = self.hours.get(stage) or self.hours["task"]
        hours = by_priority.get(
            priority, by_priority.get("normal", BUILT_IN_HOURS["task"]["normal"])
        )
        return timedelta(hours=hours)

    def default_due(self, stage: str, priority: str, assigned_at: datetime) -> datetime:
        return assigned_at + self.sla_for(stage, priority)

    def step_at(self, level: int, due_at: datetime) -> datetime | None:
        """When step `level` is due; None once the ladder is done."""
        if level == REMINDER:
            return due_at
        if level == ESCALATION:
            return due_at + self.grace
        return None


def sla_notification_id(task_key: str, due_at: datetime, level: int, *, info: bool = False) -> str:
    """One id per task, due time and level (and a second one for the information-only copy of
    an escalation): a retried or overlapping sweep re-enqueues the same notifications, which
    Dispatch serves once per device; a new due time starts a new ladder with new ids."""
    source = f"sla|{task_key}|{sortable(due_at)}" + ("|info" if info else "")
    return notification_id(source, KIND[level])


@dataclass(frozen=True)
class SlaStep:
    """What climbing from `level` does: the notifications to enqueue (none when nobody is there
    to tell), whom they address, who of them may act, and where the task goes next."""

    level: int
    kind: str
    recipients: tuple[str, ...]
    actors: tuple[str, ...]
    notifications: tuple[Notification, ...]
    next_level: int
    next_at: datetime | None


def recipients_for(
    task: TrackedTask, level: int, deputies: Sequence[str] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(everyone told, those of them who may act). The reminder is the assignee's own; the
    escalation tells the event's supervisor and backup and the assignee's configured deputies,
    and only the deputies may act."""
    if level == REMINDER:
        own = (task.assignee,) if task.assignee else ()
        return own, own
    assignee = task.assignee.casefold()
    actors = tuple(dict.fromkeys(d for d in deputies if d.casefold() != assignee))
    told = (task.supervisor, task.backup, *actors)
    everyone = tuple(dict.fromkeys(u for u in told if u and u.casefold() != assignee))
    return everyone, actors


def step_for(
    task: TrackedTask,
    policy: SlaPolicy,
    app_base_url: str,
    now: datetime,
    deputies: Sequence[str] = (),
) -> SlaStep | None:
    """The step a task at its current level takes now; None when the ladder is done, the task
    has no due time, or the step is not due yet. `deputies` are the assignee's, as the operator
    confirmed them."""
    level = task.sla_level
    if task.due_at is None or level not in KIND:
        return None
    at = policy.step_at(level, task.due_at)
    if at is None or at > now:
        return None
    next_level = level + 1
    next_at = policy.step_at(next_level, task.due_at)
    if level == REMINDER and next_at is not None:
        # A due time already past (a late sweep, an event's backdated due_at) must not take
        # the assignee's grace away: the escalation waits `grace` after the reminder went out.
        next_at = max(next_at, now + policy.grace)
    recipients, actors = recipients_for(task, level, deputies)
    notifications = ladder_notifications(
        recipients,
        actors,
        lambda people, actionable: _notification(
            task, level, people, app_base_url, now, actionable=actionable
        ),
    )
    return SlaStep(
        level=level,
        kind=KIND[level],
        recipients=recipients,
        actors=actors,
        notifications=notifications,
        next_level=next_level,
        next_at=next_at,
    )


def _notification(
    task: TrackedTask,
    level: int,
    recipients: tuple[str, ...],
    base: str,
    now: datetime,
    *,
    actionable: bool,
) -> Notification:
    assert task.due_at is not None
    nid = sla_notification_id(task.task_key, task.due_at, level, info=not actionable)
    return ladder_notification(
        task,
        KIND[level],
        recipients,
        base,
        now,
        actionable=actionable,
        nid=nid,
        source_id=f"sla:{task.task_key}:{level}",
    )


def ladder_notifications(
    recipients: tuple[str, ...],
    actors: tuple[str, ...],
    notify: Callable[[tuple[str, ...], bool], Notification],
) -> tuple[Notification, ...]:
    """The pushes of one step: `notify(people, actionable)` for those who may act, and for the
    rest of the recipients, who are only told; none for an empty group."""
    informed = tuple(u for u in recipients if u not in actors)
    groups = ((actors, True), (informed, False))
    return tuple(notify(people, actionable) for people, actionable in groups if people)


def ladder_notification(
    task: TrackedTask,
    kind: str,
    recipients: Sequence[str],
    base: str,
    now: datetime,
    *,
    actionable: bool,
    nid: str,
    source_id: str,
    reason: str | None = None,
) -> Notification:
    """A push about the task for `recipients`. Whoever may act gets the original push's buttons
    (BY_STAGE); whoever is only told gets the same text with no buttons and so no action token.
    A `reason` has its own text: `sla.not_seen.reminder` for an `sla.reminder` sent because
    nobody saw the push."""
    buttons = BY_STAGE.get(task.stage, BY_STAGE["task"]) if actionable else INFO
    ref = task.ref
    params = {
        "task_title": task.title or "A workflow task",
        "priority": task.priority,
        "assignee": task.assignee,
    }
    if task.due_at is not None:
        params["due_at"] = rfc3339(task.due_at)
    if task.document_name:
        params["document_name"] = task.document_name
    return Notification(
        id=nid,
        type=kind,
        category=CATEGORY,
        source_id=source_id,
        recipients=list(recipients),
        template=f"{CATEGORY}.{reason}.{kind.rpartition('.')[2]}" if reason else kind,
        params=params,
        deep_link=task_link(base, ref, nid),
        actions=list(buttons.actions),
        apns_category=buttons.category,
        due_at=task.due_at,
        task=ref,
        created_at=now,
        reason=reason,
    )
