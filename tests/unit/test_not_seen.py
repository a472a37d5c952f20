"""Not seen → the next person and snooze (domain/sweeps/unseen.py, domain/sweeps/snooze.py, the
SLA sweep's steps for them) with in-memory fakes: per stage and priority times, a push seen in
time left to the ladder, the reminder then the early escalation each once and never twice, the
grace never skipped, and a snooze that never delays an SLA step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.ecm.model import Member, WorkflowStatus, WorkflowStep
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.page import Page
from ecmpush.domain.sweeps.sla import DONE, ESCALATION, SlaPolicy
from ecmpush.domain.sweeps.snooze import (
    MAX_SNOOZES,
    SnoozeRefused,
    check_snoozable,
    snooze_until,
)
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.domain.sweeps.unseen import (
    UNSEEN_DONE,
    UNSEEN_ESCALATION,
    unseen_step_for,
    watched_pushes,
)
from ecmpush.services.sla_sweep import SlaSweepService
from tests.fakes import Partial, Queue, tracked_task

SENT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
POLICY = SlaPolicy(grace=timedelta(hours=24))
PLENTY = 300_000
ROUTING = RoutingConfig.model_validate(
    {
        "unseen": {
            "approval": {"high": "PT1H", "normal": "PT4H", "low": "PT8H"},
            "review": {"normal": "PT2H"},
            "escalate_after": "PT3H",
        },
        "deputies": {"asmith": ["dlee"]},
    }
)


def test_times_per_stage_and_priority_and_what_is_not_watched() -> None:
    unseen = ROUTING.unseen
    assert unseen is not None
    assert unseen.first_check("approval", "high") == timedelta(hours=1)
    assert unseen.first_check("approval", "low") == timedelta(hours=8)
    assert unseen.first_check("review", "normal") == timedelta(hours=2)
    assert unseen.first_check("review", "high") is None  # a priority left out
    assert unseen.first_check("task", "normal") is None  # plain tasks are never watched
    assert RoutingConfig().unseen is None


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"approval": {"high": "PT0S"}}, ("unseen", "approval", "high")),
        ({"approval": {"urgent": "PT1H"}}, ("unseen", "approval", "urgent")),
        ({"task": {"high": "PT1H"}}, ("unseen", "task")),
        ({"escalate_after": "P400D"}, ("unseen", "escalate_after")),
        ({"escalate_after": "soon"}, ("unseen", "escalate_after")),
    ],
)
def test_a_bad_unseen_section_is_refused_with_its_path(
    document: dict[str, Any], path: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        RoutingConfig.model_validate({"unseen": document})
    assert tuple(caught.value.errors()[0]["loc"]) == path


# --- the sweep ----------------------------------------------------------------------------------


def watched(
    n: int = 1,
    *,
    after: timedelta = timedelta(hours=1),
    due_in: timedelta = timedelta(days=3),
    **changes: Any,
) -> TrackedTask:
    """An approval pushed at SENT (notification n-<n>), due `due_in` later, watched `after`."""
    values: dict[str, Any] = {
        "title": f"Task {n}",
        "backup": "cwu",
        "priority": "high",
        "due_at": SENT + due_in,
        "opened_at": SENT,
        "notification_id": f"n-{n}",
        "unseen_at": SENT + after,
    }
    return tracked_task(str(n), **{**values, **changes})


class Tasks(Partial):
    """The TasksPort over a dict, with the repository's conditions: each write checks the
    levels and the snooze it read; `due` lists the tasks whose next check is due."""

    def __init__(self, *tasks: TrackedTask) -> None:
        self.items = {t.task_key: t for t in tasks}
        self.next_at = {t.task_key: t.next_check(t.due_at) for t in tasks}
        self.history: dict[str, list[dict[str, Any]]] = {t.task_key: [] for t in tasks}

    def due(self, now: datetime, limit: int, cursor: str | None = None) -> Page[str]:
        keys = sorted(k for k, at in self.next_at.items() if at is not None and at <= now)
        return Page(tuple(keys), None)

    def get(self, key: str) -> TrackedTask | None:
        return self.items.get(key)

    def close(self, key: str, outcome: str | None, now: datetime, decision: Any = None) -> None:
        self.items[key] = self.items[key].model_copy(update={"status": "closed"})
        self.next_at[key] = None

    def _as_read(self, read: TrackedTask) -> bool:
        now = self.items[read.task_key]
        return now.status == "open" and (now.sla_level, now.unseen_level, now.snooze_at) == (
            read.sla_level,
            read.unseen_level,
            read.snooze_at,
        )

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
        task = self.items[task_key]
        if task.sla_level != from_level or task.snooze_at != snooze_at:
            return False
        update: dict[str, Any] = {"sla_level": to_level}
        if to_level >= DONE:
            update |= {"unseen_level": UNSEEN_DONE, "unseen_at": None}
        self.items[task_key] = task.model_copy(update=update)
        self.next_at[task_key] = next_at
        self.history[task_key].append(step or {})
        return True

    def advance_unseen(
        self,
        task: TrackedTask,
        to_level: int,
        unseen_at: datetime | None,
        next_at: datetime | None,
        *,
        escalates: bool = False,
        step: dict[str, Any] | None = None,
    ) -> bool:
        if not self._as_read(task):
            return False
        update: dict[str, Any] = {"unseen_level": to_level, "unseen_at": unseen_at}
        if escalates:
            update["sla_level"] = DONE
        self.items[task.task_key] = task.model_copy(update=update)
        self.next_at[task.task_key] = next_at
        if step is not None:
            self.history[task.task_key].append(step)
        return True

    def snooze(self, task: TrackedTask, until: datetime) -> bool:
        if not self._as_read(task):
            return False
        sla_at = POLICY.step_at(task.sla_level, task.due_at) if task.due_at else None
        update = {
            "snooze_at": until,
            "snoozes": task.snoozes + 1,
            "unseen_level": UNSEEN_DONE,
            "unseen_at": None,
        }
        self.items[task.task_key] = task.model_copy(update=update)
        self.next_at[task.task_key] = min(sla_at, until) if sla_at else until
        return True

    def wake(self, task: TrackedTask, next_at: datetime | None) -> bool:
        if not self._as_read(task):
            return False
        self.items[task.task_key] = task.model_copy(update={"snooze_at": None})
        self.next_at[task.task_key] = next_at
        return True


class Seen(Partial):
    """`SeenPort`: the (owner, notification id) pairs some device displayed or opened."""

    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def seen_by(self, owner: str, notification_ids: Any) -> bool:
        self.asked.append((owner, tuple(notification_ids)))
        return any((owner, n) in self.pairs for n in notification_ids)


class Ecm(Partial):
    def __init__(self) -> None:
        self.done: set[str] = set()

    def workflow_status(self, process_id: str | int, *, budget_s: float | None = None) -> Any:
        ref = TaskRef(process_id=process_id, subprocess_id=process_id, task_id=1)
        current = () if str(process_id) in self.done else (WorkflowStep(ref, "Approve", "ok"),)
        return WorkflowStatus(str(process_id), "ok", Member(1, "x"), current)


class World:
    def __init__(self, *tasks: TrackedTask, routing: RoutingConfig = ROUTING) -> None:
        self.tasks, self.seen, self.ecm, self.queue = Tasks(*tasks), Seen(), Ecm(), Queue[Any]()
        self.routing = routing

    def sweep(self, now: datetime) -> Any:
        service = SlaSweepService(
            tasks=self.tasks,
            ecm=lambda: self.ecm,
            publisher=self.queue,
            policy=POLICY,
            app_base_url="https://app.test",
            routing=lambda: self.routing,
            seen=self.seen,
        )
        return service.run(now, lambda: PLENTY)

    def sent(self) -> list[tuple[str, str | None, list[str], bool]]:
        """(type, reason, recipients, with buttons) of every notification queued."""
        return [
            (m.notification.type, m.notification.reason, m.notification.recipients,
             bool(m.notification.actions))
            for m in self.queue.published
            if hasattr(m, "notification")
        ]  # fmt: skip


def test_not_seen_reminder_then_early_escalation_each_once() -> None:
    world = World(watched())
    assert world.sweep(SENT + timedelta(minutes=59)).examined == 0
    report = world.sweep(SENT + timedelta(hours=1))
    assert (report.notified, report.not_seen_reminders, report.not_seen_escalations) == (1, 1, 0)
    assert world.sent() == [("sla.reminder", "not_seen", ["asmith"], True)]
    assert world.sweep(SENT + timedelta(hours=2)).examined == 0  # waits escalate_after (3 h)
    report = world.sweep(SENT + timedelta(hours=4))
    assert (report.notified, report.not_seen_escalations) == (1, 1)
    assert world.sent()[1:] == [
        ("sla.escalation", "not_seen", ["dlee"], True),  # the configured deputy may act
        ("sla.escalation", "not_seen", ["bjones", "cwu"], False),  # the event's people are told
    ]
    task = world.tasks.items["1/1/1"]
    assert (task.sla_level, task.unseen_level, task.unseen_at) == (DONE, UNSEEN_DONE, None)
    assert [(s["kind"], s["reason"]) for s in world.tasks.history["1/1/1"]] == [
        ("sla.reminder", "not_seen"),
        ("sla.escalation", "not_seen"),
    ]
    # the ladder's own steps never come: the task left the schedule
    assert world.tasks.next_at["1/1/1"] is None
    assert world.sweep(SENT + timedelta(days=10)).examined == 0
    assert len(world.queue.published) == 3


def test_a_push_seen_in_time_is_left_to_the_normal_ladder() -> None:
    world = World(watched())
    world.seen.pairs.add(("asmith", "n-1"))
    report = world.sweep(SENT + timedelta(hours=1))
    assert (report.notified, report.skipped, report.seen) == (0, 1, 1)
    assert world.queue.published == []
    assert world.seen.asked == [("asmith", watched_pushes(world.tasks.items["1/1/1"]))]
    assert world.tasks.next_at["1/1/1"] == SENT + timedelta(days=3)  # the SLA reminder's time
    world.sweep(SENT + timedelta(days=3))
    assert world.sent() == [("sla.reminder", None, ["asmith"], True)]


def test_seeing_the_not_seen_reminder_stops_the_early_escalation() -> None:
    world = World(watched())
    world.sweep(SENT + timedelta(hours=1))
    [reminder] = world.queue.published
    world.seen.pairs.add(("asmith", reminder.notification.id))
    report = world.sweep(SENT + timedelta(hours=4))
    assert (report.seen, report.notified) == (1, 0)
    assert len(world.queue.published) == 1
    assert world.tasks.items["1/1/1"].sla_level == 0


def test_another_users_receipt_does_not_count() -> None:
    world = World(watched())
    world.seen.pairs.add(("bjones", "n-1"))  # the supervisor looked, not the assignee
    world.sweep(SENT + timedelta(hours=1))
    assert world.sent() == [("sla.reminder", "not_seen", ["asmith"], True)]


def test_never_escalated_twice_when_the_ladder_escalated_first() -> None:
    # overdue long ago: the ladder's reminder, then its escalation, then the not-seen check
    task = watched(due_in=-timedelta(days=2), after=timedelta(days=5))
    world = World(task)
    world.sweep(SENT)  # ladder reminder
    world.sweep(SENT + timedelta(days=2))  # ladder escalation
    escalated = world.tasks.items["1/1/1"]
    assert (escalated.sla_level, escalated.unseen_level, escalated.unseen_at) == (DONE, 2, None)
    report = world.sweep(SENT + timedelta(days=5))  # the not-seen check ended with the ladder
    assert (report.examined, report.notified) == (0, 0)
    # and a check met anyway (a write racing the escalation) ends without a push
    raced = escalated.model_copy(update={"unseen_level": 0, "unseen_at": SENT})
    ended = unseen_step_for(raced, ROUTING.unseen, "https://app.test", SENT + timedelta(days=5))
    assert ended is not None
    assert (ended.ended, ended.notifications) == (True, ())
    assert [kind for kind, *_ in world.sent()] == [
        "sla.reminder",
        "sla.escalation",
        "sla.escalation",
    ]
    assert world.tasks.next_at["1/1/1"] is None


def test_the_early_escalation_ends_the_ladder_so_it_never_escalates_again() -> None:
    world = World(watched(due_in=timedelta(hours=5)))
    world.sweep(SENT + timedelta(hours=1))  # not seen: reminder
    world.sweep(SENT + timedelta(hours=4))  # early escalation
    assert world.sweep(SENT + timedelta(days=3)).examined == 0  # no SLA reminder / escalation
    assert [kind for kind, *_ in world.sent()].count("sla.escalation") == 2  # deputy + informed


def test_a_late_sweep_never_skips_the_assignees_grace() -> None:
    world = World(watched())
    world.sweep(SENT + timedelta(hours=30))  # the sweep was down for a day
    assert [kind for kind, *_ in world.sent()] == ["sla.reminder"]
    task = world.tasks.items["1/1/1"]
    assert task.unseen_level == UNSEEN_ESCALATION
    assert task.unseen_at == SENT + timedelta(hours=33)  # escalate_after from the reminder
    assert world.sweep(SENT + timedelta(hours=32)).examined == 0


def test_a_task_done_in_content_server_is_closed_without_a_not_seen_push() -> None:
    world = World(watched())
    world.ecm.done.add("1")
    report = world.sweep(SENT + timedelta(hours=1))
    assert (report.closed, report.notified) == (1, 0)
    assert world.sent() == []  # only the withdrawal of what was sent goes out
    assert [type(m).__name__ for m in world.queue.published] == ["WithdrawalMessage"]


def test_without_the_unseen_section_a_pending_check_ends_quietly() -> None:
    world = World(watched(), routing=RoutingConfig())
    report = world.sweep(SENT + timedelta(hours=1))
    assert (report.notified, report.skipped, report.seen) == (0, 1, 0)
    assert world.tasks.items["1/1/1"].unseen_at is None
    assert world.tasks.next_at["1/1/1"] == SENT + timedelta(days=3)


def test_an_early_escalation_with_nobody_to_tell_is_recorded_unaddressed() -> None:
    lonely = watched(supervisor=None, backup=None, assignee="zed")
    world = World(lonely)
    world.sweep(SENT + timedelta(hours=1))
    report = world.sweep(SENT + timedelta(hours=4))
    assert (report.unaddressed, report.notified) == (1, 0)
    assert world.tasks.items["1/1/1"].sla_level == DONE
    assert world.tasks.history["1/1/1"][-1]["recipients"] == []


def test_unseen_step_is_pure_and_ids_are_stable() -> None:
    task = watched(unseen_level=UNSEEN_ESCALATION)
    at = SENT + timedelta(hours=2)
    first = unseen_step_for(task, ROUTING.unseen, "https://app.test", at, ["dlee"])
    again = unseen_step_for(task, ROUTING.unseen, "https://app.test", at, ["dlee"])
    assert first is not None
    assert again is not None
    assert [n.id for n in first.notifications] == [n.id for n in again.notifications]
    assert first.escalates
    assert first.kind == "sla.escalation"
    assert first.level == ESCALATION
    reassigned = task.model_copy(update={"notification_id": "n-other"})
    other = unseen_step_for(reassigned, ROUTING.unseen, "https://app.test", at, ["dlee"])
    assert other is not None
    assert {n.id for n in other.notifications}.isdisjoint(n.id for n in first.notifications)


# --- snooze ---------------------------------------------------------------------------------------


def test_snooze_times_one_hour_or_tomorrow_morning_in_the_users_zone() -> None:
    now = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)  # 23:30 in Berlin, 07:30 on the 4th in Tokyo
    assert snooze_until("1h", now, "Europe/Berlin") == now + timedelta(hours=1)
    berlin = snooze_until("tomorrow", now, "Europe/Berlin")
    assert berlin == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)  # 08:00 CET
    tokyo = snooze_until("tomorrow", now, "Asia/Tokyo")
    assert tokyo == datetime(2026, 12, 4, 23, 0, tzinfo=UTC)  # 08:00 JST on the 5th
    assert snooze_until("tomorrow", now, None) == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert snooze_until("tomorrow", now, "Not/AZone") == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def test_who_may_snooze_what_and_how_often() -> None:
    task = watched()
    assert check_snoozable(task, "ASmith") is task
    for refused, user in (
        (task.model_copy(update={"status": "closed"}), "asmith"),
        (task, "bjones"),
        (task.model_copy(update={"stage": "task"}), "asmith"),
        (task.model_copy(update={"snoozes": MAX_SNOOZES}), "asmith"),
        (None, "asmith"),
    ):
        with pytest.raises(SnoozeRefused):
            check_snoozable(refused, user)


def test_the_snoozed_push_comes_back_once_with_the_buttons() -> None:
    world = World(watched())
    task = world.tasks.items["1/1/1"]
    assert world.tasks.snooze(task, SENT + timedelta(hours=2))
    assert world.sweep(SENT + timedelta(hours=1)).examined == 0  # the not-seen check ended
    report = world.sweep(SENT + timedelta(hours=2))
    assert (report.notified, report.snoozed) == (1, 1)
    [back] = world.queue.published
    assert (back.notification.type, back.notification.category) == ("task.snoozed", "approval")
    assert back.notification.actions == ["approve", "reject", "request_info"]
    assert world.sweep(SENT + timedelta(hours=3)).examined == 0
    assert world.tasks.next_at["1/1/1"] == SENT + timedelta(days=3)


def test_a_snooze_never_delays_an_sla_escalation() -> None:
    # due in an hour: reminder at +1 h, escalation at +25 h; snoozed "tomorrow" (+48 h)
    task = watched(due_in=timedelta(hours=1), unseen_at=None)
    world = World(task)
    assert world.tasks.snooze(task, SENT + timedelta(hours=48))
    world.sweep(SENT + timedelta(hours=1))
    world.sweep(SENT + timedelta(hours=25))
    assert [kind for kind, *_ in world.sent()] == [
        "sla.reminder",
        "sla.escalation",
        "sla.escalation",
    ]
    assert world.tasks.next_at["1/1/1"] == SENT + timedelta(hours=48)  # the snooze still comes
    world.sweep(SENT + timedelta(hours=48))
    assert world.sent()[-1][0] == "task.snoozed"
    assert world.tasks.next_at["1/1/1"] is None


def test_the_local_stacks_routing_document_watches_approvals_and_reviews() -> None:
    from devstack.stack import ROUTING_FILE

    unseen = RoutingConfig.model_validate_json(ROUTING_FILE.read_text()).unseen
    assert unseen is not None
    assert unseen.first_check("approval", "high") == timedelta(hours=1)
    assert unseen.first_check("review", "low") == timedelta(days=1)
    assert unseen.first_check("task", "high") is None
