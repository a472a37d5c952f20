"""SLA sweep: page through the tasks whose next check is due, re-check each in Content Server,
and take one step: the SLA ladder's (domain/sweeps/sla.py), else the not-seen check's
(domain/sweeps/unseen.py), else bring a snoozed push back (domain/sweeps/snooze.py).
Why: docs/design/sla-ladder.md, docs/design/not-seen.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.messages import NotificationMessage, WithdrawalMessage
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.delivery.withdrawal import Decision
from ecmpush.domain.ecm.errors import (
    EcmAuthError,
    EcmError,
    EcmProtocolError,
    EcmUnavailable,
)
from ecmpush.domain.sweeps.sla import DONE, SlaPolicy, SlaStep, step_for
from ecmpush.domain.sweeps.snooze import snoozed_notification
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.domain.sweeps.unseen import (
    NOT_SEEN,
    UNSEEN_DONE,
    UnseenStep,
    unseen_step_for,
    watched_pushes,
)
from ecmpush.ports import ContentServer, Publisher, SeenPort, TasksPort

CLOSED_OUTCOME = "completed in Content Server (found by the SLA sweep)"
# Releases before the webhook checked task ids tracked whatever an event sent; such a task can
# be neither checked nor answered in Content Server, so the sweep closes it instead of reminding.
NOT_ECM_OUTCOME = "closed by the SLA sweep: its ids are not Content Server ids"
MAX_PROBLEMS = 20  # per-task problems kept in the report for the log


@dataclass
class SlaSweepReport:
    """Every examined task lands in exactly one of notified / skipped / unchecked / closed."""

    examined: int = 0
    notified: int = 0  # a reminder or escalation was enqueued and the level advanced
    skipped: int = 0  # nothing to send: stale index entry, another sweep was first, nobody to tell
    unchecked: int = 0  # Content Server could not say: stays due, retried next run
    closed: int = 0  # done in Content Server: closed here without a push
    unaddressed: int = 0  # of `skipped`: escalations recorded with no supervisor or backup
    seen: int = 0  # of `skipped`: not-seen checks ended because the assignee saw the push
    not_seen_reminders: int = 0  # of `notified`: reminders for a push nobody looked at
    not_seen_escalations: int = 0  # of `notified`: early escalations for the same
    snoozed: int = 0  # of `notified`: snoozed pushes brought back
    complete: bool = True  # False when the run stopped before the end of the due tasks
    stopped: str | None = None  # "time_budget" or "ecm_unavailable"
    problems: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def problem(self, task_key: str, error: Exception) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                {"task_key": task_key, "error": type(error).__name__, "detail": str(error)[:200]}
            )


class _Check(Enum):
    OPEN = "open"
    DONE = "done"
    UNCHECKED = "unchecked"
    DOWN = "down"  # unchecked, and Content Server as a whole looks unusable


@dataclass(frozen=True)
class SlaSweepOptions:
    """How a run paces itself: tasks per index page, one Content Server call's budget, the time
    kept back at the end, and how many outages in a row end the run."""

    page_size: int = 25
    ecm_budget_s: float = 5.0
    safety_margin_s: float = 10.0
    max_consecutive_outages: int = 3


class SlaSweepService:
    def __init__(
        self,
        *,
        tasks: TasksPort,
        ecm: Callable[[], ContentServer],
        publisher: Publisher,
        policy: SlaPolicy,
        app_base_url: str,
        routing: Callable[[], RoutingConfig] = RoutingConfig,
        seen: SeenPort | None = None,
        options: SlaSweepOptions = SlaSweepOptions(),
    ) -> None:
        self._tasks = tasks
        self._ecm = ecm  # built lazily: credentials are read only when a task is due
        self._publisher = publisher
        self._policy = policy
        self._base_url = app_base_url
        self._routing = routing
        self._seen = seen
        self._page_size = options.page_size
        self._ecm_budget_s = options.ecm_budget_s
        self._margin_s = options.safety_margin_s
        self._max_outages = options.max_consecutive_outages

    def run(self, now: datetime, remaining_ms: Callable[[], int]) -> SlaSweepReport:
        """Sweep as of `now`. `remaining_ms` is read once before each task: a task is only
        started when its Content Server budget plus the safety margin still fits."""
        report = SlaSweepReport()
        seen: set[str] = set()  # a task moved further down the index this run is not met twice
        outages = 0
        cursor: str | None = None
        while True:
            page = self._tasks.due(now, self._page_size, cursor)
            for key in page.items:
                if key in seen:
                    continue
                left_s = remaining_ms() / 1000 - self._margin_s
                if left_s < self._ecm_budget_s:
                    return self._stop(report, "time_budget")
                seen.add(key)
                report.examined += 1
                check = self._sweep_one(key, now, min(self._ecm_budget_s, left_s), report)
                outages = outages + 1 if check is _Check.DOWN else 0
                if outages >= self._max_outages:
                    return self._stop(report, "ecm_unavailable")
            if page.last:
                return report
            cursor = page.cursor

    @staticmethod
    def _stop(report: SlaSweepReport, reason: str) -> SlaSweepReport:
        report.complete = False
        report.stopped = reason
        return report

    def _sweep_one(
        self, key: str, now: datetime, budget_s: float, report: SlaSweepReport
    ) -> _Check | None:
        task = self._tasks.get(key)
        if task is not None and task.status == "open" and not _has_content_server_ids(task):
            self._tasks.close(key, NOT_ECM_OUTCOME, now)
            report.closed += 1
            return None
        if task is None or task.status != "open":
            report.skipped += 1  # the index lags behind a close or an advance
            return None
        routing = self._routing()
        deputies = routing.deputies_of(task.assignee)
        step = step_for(task, self._policy, self._base_url, now, deputies)
        unseen = None
        if step is None:
            unseen = unseen_step_for(task, routing.unseen, self._base_url, now, deputies)
        wakes = step is None and unseen is None and _snooze_due(task, now)
        if step is None and unseen is None and not wakes:
            report.skipped += 1  # the index lags behind an advance
            return None
        if unseen is not None and self._unseen_ends(task, unseen, now, report):
            return None
        check = self._check(task, budget_s, report)
        if check is _Check.DONE:
            decision = Decision(action="completed", platform="ecm", at=now)
            self._tasks.close(key, CLOSED_OUTCOME, now, decision)
            self._publisher.publish(
                WithdrawalMessage(task=task.ref, reason="sla_recheck", decision=decision)
            )
            report.closed += 1
        elif check in (_Check.UNCHECKED, _Check.DOWN):
            report.unchecked += 1
        elif step is not None:
            self._climb(task, step, now, report)
        elif unseen is not None:
            self._remind_unseen(task, unseen, now, report)
        else:
            self._wake(task, now, report)
        return check

    def _unseen_ends(
        self, task: TrackedTask, unseen: UnseenStep, now: datetime, report: SlaSweepReport
    ) -> bool:
        """End the not-seen check without a push when there is nothing left to do (the ladder
        escalated already) or the assignee saw the push in time: the normal ladder goes on."""
        seen = not unseen.ended and self._was_seen(task)
        if not unseen.ended and not seen:
            return False
        next_at = _next_check(task, self._policy, unseen_at=None)
        self._tasks.advance_unseen(task, UNSEEN_DONE, None, next_at)
        report.skipped += 1
        report.seen += int(seen)
        return True

    def _was_seen(self, task: TrackedTask) -> bool:
        if self._seen is None:
            return False
        return self._seen.seen_by(task.assignee, watched_pushes(task))

    def _remind_unseen(
        self, task: TrackedTask, unseen: UnseenStep, now: datetime, report: SlaSweepReport
    ) -> None:
        for notification in unseen.notifications:
            self._publisher.publish(NotificationMessage(notification=notification))
        sla_level = DONE if unseen.escalates else task.sla_level
        next_at = _next_check(task, self._policy, unseen_at=unseen.next_at, sla_level=sla_level)
        advanced = self._tasks.advance_unseen(
            task,
            unseen.next_level,
            unseen.next_at,
            next_at,
            escalates=unseen.escalates,
            step=_history_entry(unseen, now, reason=NOT_SEEN),
        )
        if not advanced:
            report.skipped += 1  # another sweep (or a snooze, or the ladder) came first
        elif unseen.escalates and not unseen.notifications:
            report.skipped += 1
            report.unaddressed += 1
        else:
            report.notified += 1
            report.not_seen_escalations += int(unseen.escalates)
            report.not_seen_reminders += int(not unseen.escalates)

    def _wake(self, task: TrackedTask, now: datetime, report: SlaSweepReport) -> None:
        notification = snoozed_notification(task, self._base_url, now)
        self._publisher.publish(NotificationMessage(notification=notification))
        next_at = _next_check(task, self._policy, snooze_at=None)
        if self._tasks.wake(task, next_at):
            report.notified += 1
            report.snoozed += 1
        else:
            report.skipped += 1

    def _check(self, task: TrackedTask, budget_s: float, report: SlaSweepReport) -> _Check:
        """Is the step still in progress in Content Server? Asked as the service account."""
        ref = task.ref
        try:
            status = self._ecm().workflow_status(ref.process_id, budget_s=budget_s)
        except (EcmUnavailable, EcmAuthError, EcmProtocolError) as exc:
            report.problem(task.task_key, exc)
            return _Check.DOWN
        except EcmError as exc:  # 404, not visible: this task only; never closed on a guess
            report.problem(task.task_key, exc)
            return _Check.UNCHECKED
        return _Check.OPEN if status.is_open(ref) else _Check.DONE

    def _climb(
        self, task: TrackedTask, step: SlaStep, now: datetime, report: SlaSweepReport
    ) -> None:
        assert task.due_at is not None  # step_for only yields steps for tasks with a due time
        for notification in step.notifications:
            self._publisher.publish(NotificationMessage(notification=notification))
        # The ladder's escalation ends a pending not-seen check too (the repository removes it).
        ends_unseen = {"unseen_at": None} if step.next_level >= DONE else {}
        advanced = self._tasks.advance(
            task.task_key,
            step.level,
            step.next_level,
            task.model_copy(update=ends_unseen).next_check(step.next_at),
            due_at=task.due_at,
            step=_history_entry(step, now),
            snooze_at=task.snooze_at,
        )
        if not advanced:
            report.skipped += 1  # another sweep climbed this step (same notification id)
        elif not step.notifications:
            report.skipped += 1
            report.unaddressed += 1
        else:
            report.notified += 1


def _has_content_server_ids(task: TrackedTask) -> bool:
    try:
        task.ref  # noqa: B018 (validates the ids)
    except ValueError:
        return False
    return True


_KEEP: Any = object()  # "as the task has it", for _next_check


def _snooze_due(task: TrackedTask, now: datetime) -> bool:
    return task.snooze_at is not None and task.snooze_at <= now


def _next_check(
    task: TrackedTask,
    policy: SlaPolicy,
    *,
    unseen_at: Any = _KEEP,
    snooze_at: Any = _KEEP,
    sla_level: int | None = None,
) -> datetime | None:
    """The task's next check once one of its schedules moved: the earliest of its next SLA step
    (at `sla_level`), the not-seen check and the snooze."""
    level = task.sla_level if sla_level is None else sla_level
    sla_at = policy.step_at(level, task.due_at) if task.due_at is not None else None
    changes: dict[str, Any] = {}
    if unseen_at is not _KEEP:
        changes["unseen_at"] = unseen_at
    if snooze_at is not _KEEP:
        changes["snooze_at"] = snooze_at
    return task.model_copy(update=changes).next_check(sla_at)


def _history_entry(
    step: SlaStep | UnseenStep, now: datetime, reason: str | None = None
) -> dict[str, Any]:
    """What the task's `sla_steps` keeps of a step: whom it told, who of them may act, and the
    notifications; an escalation with nobody to tell is recorded with no recipients. A step of
    the not-seen check says so (`reason: not_seen`)."""
    entry: dict[str, Any] = {
        "level": step.level,
        "kind": step.kind,
        "at": rfc3339(now),
        "recipients": list(step.recipients),
        "actors": list(step.actors),
    }
    if step.notifications:
        entry["notification_ids"] = [n.id for n in step.notifications]
    if reason:
        entry["reason"] = reason
    return entry
