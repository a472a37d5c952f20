"""The SLA policy and ladder (domain/sweeps/sla.py): default hours and their validated override, the
reminder at the due time, the escalation after the grace to supervisor and/or backup, each level
once, the next step time the index is keyed on, and deterministic notification ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ecmpush.clock import sortable
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.render import render_push
from ecmpush.domain.sweeps.sla import (
    BUILT_IN_HOURS,
    DONE,
    ESCALATION,
    REMINDER,
    SlaConfigError,
    SlaPolicy,
    parse_sla_hours,
    sla_notification_id,
    step_for,
)
from ecmpush.domain.sweeps.tasks import TrackedTask

DUE = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
BASE = "https://app.example.com"
POLICY = SlaPolicy()


def _task(**changes: object) -> TrackedTask:
    values: dict[str, object] = {
        "task_key": "4711/4711/1",
        "process_id": "4711",
        "subprocess_id": "4711",
        "task_id": "1",
        "title": "Approve supplier contract",
        "stage": "approval",
        "assignee": "asmith",
        "supervisor": "bjones",
        "backup": "cwu",
        "due_at": DUE,
        "priority": "high",
        "document_name": "ACME.pdf",
        "opened_at": DUE - timedelta(days=2),
    }
    values.update(changes)
    return TrackedTask.model_validate(values)


def _notice(task: TrackedTask, now: datetime, deputies: tuple[str, ...] = ()) -> Notification:
    """The step's first notification: the actionable one when anybody may act."""
    step = step_for(task, POLICY, BASE, now, deputies)
    assert step is not None
    assert step.notifications
    return step.notifications[0]


# --- defaults and their override --------------------------------------------------------------


def test_built_in_defaults_per_stage_and_priority() -> None:
    assert POLICY.sla_for("approval", "high") == timedelta(hours=24)
    assert POLICY.sla_for("approval", "normal") == timedelta(hours=72)
    assert POLICY.sla_for("approval", "low") == timedelta(hours=120)
    for stage in ("review", "task"):
        hours = [POLICY.sla_for(stage, p) for p in ("high", "normal", "low")]
        assert hours == sorted(hours), f"{stage}: higher priority must not get more time"
    assert POLICY.grace == timedelta(hours=24)


def test_default_due_counts_from_the_assignment() -> None:
    assigned = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert POLICY.default_due("approval", "normal", assigned) == assigned + timedelta(hours=72)


def test_empty_override_is_the_built_in_table() -> None:
    assert parse_sla_hours("") == parse_sla_hours("  ") == BUILT_IN_HOURS


def test_override_is_laid_over_the_built_in_table() -> None:
    table = parse_sla_hours('{"approval": {"high": 8, "normal": 48.5}, "review": 96}')
    assert table["approval"] == {"high": 8, "normal": 48.5, "low": 120}
    assert table["review"] == {"high": 96, "normal": 96, "low": 96}
    assert table["task"] == BUILT_IN_HOURS["task"]
    policy = SlaPolicy.from_config('{"task": {"low": 1}}', 2)
    assert policy.sla_for("task", "low") == timedelta(hours=1)
    assert policy.grace == timedelta(hours=2)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{", "not JSON"),
        ("[1]", "SLA defaults must be a JSON object"),
        ('{"approvals": 5}', "approvals: unknown stage"),
        ('{"approval": {"urgent": 5}}', "approval.urgent: unknown priority"),
        ('{"approval": {"high": 0}}', "approval.high: hours must be > 0"),
        ('{"approval": {"high": -3}}', "approval.high: hours must be > 0"),
        ('{"approval": {"high": "24"}}', "approval.high: hours must be a number"),
        ('{"approval": {"high": true}}', "approval.high: hours must be a number"),
        ('{"review": null}', "review: hours must be a number"),
        ('{"task": 100000}', "task: hours must be > 0 and at most"),
        ('{"task": NaN}', "task: hours must be > 0"),
    ],
)
def test_invalid_override_is_refused_with_its_path(raw: str, message: str) -> None:
    with pytest.raises(SlaConfigError, match=message):
        parse_sla_hours(raw)


@pytest.mark.parametrize("grace", [-1, float("nan"), 10_000])
def test_invalid_grace_is_refused(grace: float) -> None:
    with pytest.raises(SlaConfigError, match="grace"):
        SlaPolicy.from_config("", grace)


def test_grace_zero_is_allowed() -> None:
    assert SlaPolicy.from_config("", 0).grace == timedelta(0)


# --- the ladder ---------------------------------------------------------------------------------


def test_nothing_before_the_due_time() -> None:
    assert step_for(_task(), POLICY, BASE, DUE - timedelta(seconds=1)) is None


def test_reminder_to_the_assignee_at_the_due_time() -> None:
    step = step_for(_task(), POLICY, BASE, DUE)
    assert step is not None
    assert (step.level, step.kind, step.recipients) == (REMINDER, "sla.reminder", ("asmith",))
    assert (step.next_level, step.next_at) == (ESCALATION, DUE + timedelta(hours=24))
    [notification] = step.notifications
    assert notification.type == "sla.reminder"
    assert notification.category == "sla"
    assert notification.recipients == ["asmith"]
    assert notification.template == "sla.reminder"
    assert notification.due_at == DUE
    assert notification.task is not None
    assert notification.task.key == "4711/4711/1"
    assert notification.deep_link == f"{BASE}/tasks/4711/4711/1?n={notification.id}"


def test_escalation_waits_for_the_grace() -> None:
    task = _task(sla_level=ESCALATION)
    assert step_for(task, POLICY, BASE, DUE + timedelta(hours=23, minutes=59)) is None
    step = step_for(task, POLICY, BASE, DUE + timedelta(hours=24))
    assert step is not None
    assert (step.level, step.kind) == (ESCALATION, "sla.escalation")
    assert step.recipients == ("bjones", "cwu")
    assert (step.next_level, step.next_at) == (DONE, None)
    [told] = step.notifications
    assert told.recipients == ["bjones", "cwu"]


def test_the_events_supervisor_and_backup_are_told_without_buttons() -> None:
    """An event may say whom to inform, never who may decide: no deputies configured, so the
    escalation carries no reply buttons (and Dispatch signs no action token for it)."""
    step = step_for(_task(sla_level=ESCALATION), POLICY, BASE, DUE + timedelta(days=2))
    assert step is not None
    assert step.actors == ()
    [told] = step.notifications
    assert (told.actions, told.apns_category) == ([], "ECM_INFO")
    push = render_push(told, _device(), action_token="v1.forged")
    assert "action_token" not in push.data
    assert push.data["actions"] == ""


def test_configured_deputies_may_act_and_the_others_are_only_told() -> None:
    step = step_for(
        _task(sla_level=ESCALATION), POLICY, BASE, DUE + timedelta(days=2), ("dlee", "cwu")
    )
    assert step is not None
    assert step.recipients == ("bjones", "cwu", "dlee")
    assert step.actors == ("dlee", "cwu")
    actionable, told = step.notifications
    assert (actionable.recipients, actionable.actions) == (
        ["dlee", "cwu"],
        ["approve", "reject", "request_info"],
    )
    assert (told.recipients, told.actions) == (["bjones"], [])
    assert actionable.id != told.id
    assert actionable.id == sla_notification_id("4711/4711/1", DUE, ESCALATION)


def test_the_assignee_is_never_their_own_deputy() -> None:
    step = step_for(
        _task(sla_level=ESCALATION, supervisor=None, backup=None),
        POLICY,
        BASE,
        DUE + timedelta(days=2),
        ("ASmith",),
    )
    assert step is not None
    assert (step.recipients, step.actors, step.notifications) == ((), (), ())


def test_a_due_time_long_past_still_leaves_the_assignee_the_grace_after_the_reminder() -> None:
    """A backdated due_at (or a sweep that ran late) must not escalate at the next run: the
    escalation waits `grace` after the reminder went out."""
    late = DUE + timedelta(hours=49)
    step = step_for(_task(), POLICY, BASE, late)
    assert step is not None
    assert step.kind == "sla.reminder"
    assert step.next_at == late + timedelta(hours=24)
    climbed = _task(sla_level=ESCALATION)
    assert step_for(climbed, POLICY, BASE, late) is not None  # the level alone says it is due


def test_configured_grace_moves_the_escalation() -> None:
    policy = SlaPolicy.from_config("", 4)
    step = step_for(_task(), policy, BASE, DUE)
    assert step is not None
    assert step.next_at == DUE + timedelta(hours=4)
    assert step_for(_task(sla_level=1), policy, BASE, DUE + timedelta(hours=4)) is not None


@pytest.mark.parametrize(
    ("supervisor", "backup", "expected"),
    [
        ("bjones", None, ("bjones",)),
        (None, "cwu", ("cwu",)),
        ("bjones", "bjones", ("bjones",)),
        ("asmith", "cwu", ("cwu",)),  # never escalate to the assignee themself
    ],
)
def test_escalation_goes_to_whoever_exists(
    supervisor: str | None, backup: str | None, expected: tuple[str, ...]
) -> None:
    task = _task(sla_level=ESCALATION, supervisor=supervisor, backup=backup)
    step = step_for(task, POLICY, BASE, DUE + timedelta(days=2))
    assert step is not None
    assert step.recipients == expected


def test_no_supervisor_and_no_backup_escalates_nowhere_but_still_climbs() -> None:
    task = _task(sla_level=ESCALATION, supervisor=None, backup=None)
    step = step_for(task, POLICY, BASE, DUE + timedelta(days=2))
    assert step is not None
    assert step.recipients == ()
    assert step.notifications == ()
    assert (step.next_level, step.next_at) == (DONE, None)


def test_each_level_once_then_done() -> None:
    late = DUE + timedelta(days=30)
    levels = []
    task = _task()
    while (step := step_for(task, POLICY, BASE, late)) is not None:
        levels.append(step.kind)
        task = task.model_copy(update={"sla_level": step.next_level})
    assert levels == ["sla.reminder", "sla.escalation"]
    assert task.sla_level == DONE


def test_a_task_without_due_time_has_no_step() -> None:
    assert step_for(_task(due_at=None), POLICY, BASE, DUE + timedelta(days=9)) is None


@pytest.mark.parametrize(("stage", "actions"), [
    ("approval", ["approve", "reject", "request_info"]),
    ("review", ["acknowledge", "request_info"]),
    ("task", ["acknowledge"]),
])  # fmt: skip
def test_both_steps_carry_the_original_buttons(stage: str, actions: list[str]) -> None:
    """For whoever may act: the assignee, then the configured deputies."""
    for level in (REMINDER, ESCALATION):
        task = _task(stage=stage, sla_level=level)
        assert _notice(task, DUE + timedelta(days=2), ("dlee",)).actions == actions


def test_notification_ids_are_deterministic_per_task_due_and_level() -> None:
    assert _notice(_task(), DUE).id == _notice(_task(), DUE + timedelta(hours=3)).id
    ids = {
        sla_notification_id("4711/4711/1", DUE, REMINDER),
        sla_notification_id("4711/4711/1", DUE, ESCALATION),
        sla_notification_id("4711/4711/2", DUE, REMINDER),
        sla_notification_id("4711/4711/1", DUE + timedelta(days=1), REMINDER),  # new assignment
    }
    assert len(ids) == 4
    berlin = DUE.astimezone(timezone(timedelta(hours=1)))
    assert sla_notification_id("4711/4711/1", berlin, REMINDER) == sla_notification_id(
        "4711/4711/1", DUE, REMINDER
    )


def test_sort_keys_sort_like_time() -> None:
    moments = [
        datetime(2026, 12, 1, 17, 0, 0, 500_000, tzinfo=UTC),
        datetime(2026, 12, 1, 17, 0, 1, tzinfo=UTC),
        datetime(2026, 12, 1, 19, 0, tzinfo=timezone(timedelta(hours=1))),  # 18:00Z
        datetime(2026, 12, 2, tzinfo=UTC),
    ]
    keys = [sortable(m) for m in moments]
    assert keys == sorted(keys)
    assert keys[0] == "2026-12-01T17:00:00Z"
    assert keys[2] == "2026-12-01T18:00:00Z"


def _device() -> Device:
    return Device(
        owner="bjones",
        installation_id="p",
        token="t",
        platform="android",
        timezone="Europe/Berlin",
        created_at=DUE,
        updated_at=DUE,
    )


def test_templates_render_in_english() -> None:
    device = _device()
    push = render_push(_notice(_task(), DUE), device, "tok")
    assert push.title == "Overdue: Approve supplier contract"
    assert push.body == "Document: ACME.pdf · Due 2026-12-01 18:00 CET · High priority"
    assert push.data["category"] == "sla"
    assert push.data["action_token"] == "tok"
    push = render_push(_notice(_task(sla_level=1), DUE + timedelta(days=1)), device, "tok")
    assert push.title == "Escalation: Approve supplier contract is overdue with asmith"
    assert push.data["type"] == "sla.escalation"
