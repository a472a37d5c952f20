"""SLA sweep: page through the tasks whose next SLA step is due, re-check each in Content
Server, and climb its ladder one step (domain/sweeps/sla.py).
Why: docs/design/sla-ladder.md."""

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
from ecmpush.domain.sweeps.sla import SlaPolicy, SlaStep, step_for
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.ports import ContentServer, Publisher, TasksPort

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
        options: SlaSweepOptions = SlaSweepOptions(),
    ) -> None:
        self._tasks = tasks
        self._ecm = ecm  # built lazily: credentials are read only when a task is due
        self._publisher = publisher
        self._policy = policy
        self._base_url = app_base_url
        self._routing = routing
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
        step = None
        if task is not None:
            deputies = self._routing().deputies_of(task.assignee)
            step = step_for(task, self._policy, self._base_url, now, deputies)
        if task is None or task.status != "open" or step is None:
            report.skipped += 1  # the index lags behind a close or an advance
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
        else:
            self._climb(task, step, now, report)
        return check

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
        advanced = self._tasks.advance(
            task.task_key,
            step.level,
            step.next_level,
            step.next_at,
            due_at=task.due_at,
            step=_history_entry(step, now),
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


def _history_entry(step: SlaStep, now: datetime) -> dict[str, Any]:
    """What the task's `sla_steps` keeps of a step: whom it told, who of them may act, and the
    notifications; an escalation with nobody to tell is recorded with no recipients."""
    entry: dict[str, Any] = {
        "level": step.level,
        "kind": step.kind,
        "at": rfc3339(now),
        "recipients": list(step.recipients),
        "actors": list(step.actors),
    }
    if step.notifications:
        entry["notification_ids"] = [n.id for n in step.notifications]
    return entry
