"""SlaSweepService with in-memory fakes: each due task climbs one step per run, the notification
is queued before the level moves (so a crash in between resends the same notification, never
loses it), tasks done in Content Server are closed without a push, and the run stops for its
time budget or a Content Server outage with the rest left due."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecmpush.domain.delivery.messages import WithdrawalMessage
from ecmpush.domain.delivery.withdrawal import Decision
from ecmpush.domain.ecm.errors import EcmNotFound, EcmUnavailable
from ecmpush.domain.ecm.model import Member, WorkflowStatus, WorkflowStep
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.page import Page
from ecmpush.domain.sweeps.sla import SlaPolicy, step_for
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.services.sla_sweep import NOT_ECM_OUTCOME, SlaSweepOptions, SlaSweepService
from tests.fakes import Partial, Queue, tracked_task

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
POLICY = SlaPolicy(grace=timedelta(hours=24))
PLENTY = 300_000


class Tasks(Partial):
    """`SlaTasks` over a dict: `due` pages the keys whose step is due (the index), oldest
    first; `advance` is conditional on the level, as the repository's update is."""

    def __init__(self, *tasks: TrackedTask) -> None:
        self.items = {t.task_key: t for t in tasks}
        self.events: list[tuple[str, str]] = []  # ("advance" | "close", key), in order
        self.lose_advance = False
        self.outcomes: dict[str, str | None] = {}

    def due(self, now: datetime, limit: int, cursor: str | None = None) -> Page[str]:
        rows = sorted(
            (str(POLICY.step_at(t.sla_level, t.due_at)), k)
            for k, t in self.items.items()
            if t.status == "open" and t.due_at and _due(t, now)
        )
        if cursor:  # after the last row handed out, as ExclusiveStartKey reads on
            rows = [row for row in rows if row > tuple(json.loads(cursor))]
        part = rows[:limit]
        last = json.dumps(part[-1]) if len(rows) > limit else None
        return Page(tuple(key for _, key in part), last)

    def get(self, key: str) -> TrackedTask | None:
        return self.items.get(key)

    def close(
        self, key: str, outcome: str | None, now: datetime, decision: Decision | None = None
    ) -> None:
        self.events.append(("close", key))
        self.outcomes[key] = outcome
        self.items[key] = self.items[key].model_copy(update={"status": "closed"})

    def advance(
        self,
        task_key: str,
        from_level: int,
        to_level: int,
        next_at: datetime | None,
        *,
        due_at: datetime,
        step: dict[str, Any] | None = None,
        snooze_at: datetime | None = None,
    ) -> bool:
        if self.lose_advance:
            raise RuntimeError("DynamoDB unreachable")
        task = self.items[task_key]
        if task.sla_level != from_level:
            return False
        self.events.append(("advance", task_key))
        self.items[task_key] = task.model_copy(update={"sla_level": to_level})
        return True


def _due(task: TrackedTask, now: datetime) -> bool:
    """As the repository's index does: by the due time alone, whatever the task's ids."""
    try:
        return step_for(task, POLICY, "x", now) is not None
    except ValueError:
        return True


class Ecm(Partial):
    """`EcmWorkflowStatus`: which steps are still in progress; `down` fails every call."""

    def __init__(self, done: Iterable[str] = (), unknown: Iterable[str] = ()) -> None:
        self.done, self.unknown = set(done), set(unknown)
        self.down = False
        self.calls: list[str] = []

    def workflow_status(self, process_id: str | int, *, budget_s: float | None = None) -> Any:
        self.calls.append(str(process_id))
        if self.down:
            raise EcmUnavailable("503", status=503)
        if str(process_id) in self.unknown:
            raise EcmNotFound("no such workflow", status=404)
        ref = TaskRef(process_id=process_id, subprocess_id=process_id, task_id=1)
        current = () if str(process_id) in self.done else (WorkflowStep(ref, "Approve", "ok"),)
        return WorkflowStatus(str(process_id), "ok", Member(1, "x"), current)


def task(n: int, *, overdue: timedelta = timedelta(hours=1), level: int = 0) -> TrackedTask:
    return tracked_task(
        str(n),
        title=f"Task {n}",
        due_at=NOW - overdue,
        opened_at=NOW - timedelta(days=5),
        sla_level=level,
    )


def world(*items: TrackedTask, **ecm: Iterable[str]) -> tuple[Tasks, Ecm, Queue[Any]]:
    return Tasks(*items), Ecm(**ecm), Queue()


def sweep(tasks: Tasks, ecm: Ecm, publisher: Queue[Any], **options: Any) -> SlaSweepService:
    return SlaSweepService(
        tasks=tasks,
        ecm=lambda: ecm,
        publisher=publisher,
        policy=POLICY,
        app_base_url="https://app.test",
        options=SlaSweepOptions(
            **{"page_size": 2, "ecm_budget_s": 1.0, "safety_margin_s": 1.0, **options}
        ),
    )


def test_each_due_task_climbs_one_step_per_run_reminder_then_escalation() -> None:
    tasks, ecm, queue = world(task(1), task(2), task(3, overdue=timedelta(hours=30)))
    report = sweep(tasks, ecm, queue).run(NOW, lambda: PLENTY)
    assert (report.examined, report.notified, report.complete) == (3, 3, True)
    kinds = {m.notification.source_id: m.notification.type for m in queue.published}
    assert len(kinds) == 3
    assert set(kinds.values()) == {"sla.reminder"}  # one step per run, even 30 h late
    again = sweep(tasks, ecm, queue).run(NOW, lambda: PLENTY)
    assert again.notified == 1  # only task 3 is past its grace: escalated to bjones
    escalation = queue.published[-1].notification
    assert (escalation.type, escalation.recipients) == ("sla.escalation", ["bjones"])


def test_the_notification_is_queued_before_the_level_moves_and_resent_after_a_crash() -> None:
    tasks, ecm, queue = world(task(1))
    tasks.lose_advance = True
    with pytest.raises(RuntimeError):
        sweep(tasks, ecm, queue).run(NOW, lambda: PLENTY)
    assert len(queue.published) == 1  # queued, then the advance failed
    tasks.lose_advance = False
    sweep(tasks, ecm, queue).run(NOW, lambda: PLENTY)
    first, second = (m.notification.id for m in queue.published)
    assert first == second  # the same id: Dispatch serves each device once
    assert tasks.items["1/1/1"].sla_level == 1


def test_a_task_done_in_content_server_is_closed_silently_and_an_unknown_one_left_due() -> None:
    tasks, ecm, queue = world(task(1), task(2), done={"1"}, unknown={"2"})
    report = sweep(tasks, ecm, queue).run(NOW, lambda: PLENTY)
    assert (report.closed, report.unchecked, report.notified) == (1, 1, 0)
    # No reminder: only the withdrawal of the pushes still on devices about the closed task.
    [withdrawal] = queue.published
    assert isinstance(withdrawal, WithdrawalMessage)
    assert (withdrawal.task.key, withdrawal.reason) == ("1/1/1", "sla_recheck")
    assert (withdrawal.decision.action, withdrawal.decision.platform) == ("completed", "ecm")
    assert tasks.events == [("close", "1/1/1")]
    assert tasks.items["2/2/1"].status == "open"  # never closed on a guess
    assert report.problems[0]["error"] == "EcmNotFound"


def test_content_server_down_stops_the_run_after_a_few_outages_with_nothing_sent() -> None:
    tasks, ecm, queue = world(*(task(n) for n in range(1, 7)))
    ecm.down = True
    report = sweep(tasks, ecm, queue, max_consecutive_outages=3).run(NOW, lambda: PLENTY)
    assert (report.stopped, report.complete, report.examined) == ("ecm_unavailable", False, 3)
    assert queue.published == []
    assert all(t.sla_level == 0 for t in tasks.items.values())


def test_the_time_budget_stops_before_a_task_and_the_next_run_goes_on() -> None:
    tasks, ecm, queue = world(*(task(n) for n in range(1, 5)))
    budget = iter([PLENTY, PLENTY, 1_500])  # two tasks, then 1.5 s < 1 s budget + 1 s margin
    report = sweep(tasks, ecm, queue).run(NOW, lambda: next(budget))
    assert (report.notified, report.stopped, report.complete) == (2, "time_budget", False)
    rest = sweep(tasks, ecm, queue).run(NOW, lambda: PLENTY)
    assert rest.notified == 2
    assert len({m.notification.source_id for m in queue.published}) == 4


def test_a_task_tracked_with_ids_that_are_not_content_servers_is_closed_not_reminded() -> None:
    """Releases before the webhook checked task ids tracked whatever an event sent."""
    legacy = tracked_task("WF-9", due_at=NOW - timedelta(hours=1))
    tasks, ecm, queue = world(legacy, task(1))
    report = sweep(tasks, ecm, queue).run(NOW, lambda: PLENTY)
    assert (report.closed, report.notified) == (1, 1)
    assert tasks.outcomes == {"WF-9/WF-9/1": NOT_ECM_OUTCOME}
    assert [m.notification.source_id for m in queue.published] == ["sla:1/1/1:0"]
    assert ecm.calls == ["1"]
