"""SLA sweep (issue #4, flow 3) against moto, the FCM stand-in and the Content Server stand-in,
with controlled time: tasks opened by `task.assigned` climb reminder → escalation, each step once
across repeated, overlapping and crashed runs; completion stops the ladder; a task done in
Content Server is closed silently; an ECM outage loses and doubles nothing; a run stops before
its time budget and the next continues."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from devstack.lambda_runtime import LambdaContext
from ecmpush.adapters.tasks_repository import TasksRepository
from ecmpush.domain.replies.action_token import ActionClaims, sign, verify
from tests.conftest import sample_event
from tests.integration.harness import ACTION_TOKEN_KEY, Harness

DUE = "2026-12-01T17:00:00Z"  # the sample task.assigned's due_at
BEFORE = "2026-12-01T16:59:59Z"
AT_DUE = "2026-12-01T17:05:00Z"
AFTER_GRACE = "2026-12-02T17:05:00Z"  # + the default 24 h grace
MUCH_LATER = "2026-12-09T09:00:00Z"

# Seeded Content Server tasks (devstack/ecm_seed.json): ids, stage, assignee
APPROVAL = (("4711", "4711", "1"), "approval", "asmith")
REVIEW = (("4712", "4712", "1"), "review", "cwu")
PLAIN_TASK = (("4714", "4714", "1"), "task", "asmith")
APPROVAL_2 = (("4713", "4713", "2"), "approval", "bjones")
SEEDED = (APPROVAL, REVIEW, PLAIN_TASK, APPROVAL_2)


def _token(user: str) -> str:
    return f"fcm-{user}-phone-0001"


def _register_everyone(h: Harness) -> None:
    for user in ("asmith", "bjones", "cwu", "dlee"):
        h.register(user, f"{user}-phone-4b7e1c9a", _token(user), "android")


def _assign(
    h: Harness,
    seeded: tuple[tuple[str, str, str], str, str] = APPROVAL,
    *,
    event_id: str | None = None,
    **task_changes: Any,
) -> dict[str, Any]:
    """ECM announces the task (sample event, supervisor bjones, backup cwu) and Dispatch runs."""
    (process_id, subprocess_id, task_id), stage, user = seeded
    event = sample_event("task_assigned")
    event["id"] = event_id or f"evt-{process_id}-{subprocess_id}-{task_id}"
    event["data"]["task"].update(
        process_id=process_id, subprocess_id=subprocess_id, task_id=task_id, stage=stage
    )
    event["data"]["assignee"]["user_id"] = user
    for name, value in task_changes.items():
        if name in ("supervisor", "backup"):
            if value is None:
                event["data"].pop(name, None)
            else:
                event["data"][name] = {"user_id": value}
        elif value is None:
            event["data"]["task"].pop(name, None)
        else:
            event["data"]["task"][name] = value
    assert h.post_event(event).status == 202
    h.drain()
    return event


def _complete(h: Harness, seeded: tuple[tuple[str, str, str], str, str]) -> None:
    (process_id, subprocess_id, task_id), _, _ = seeded
    event = sample_event("task_completed")
    event["id"] = f"evt-done-{process_id}-{subprocess_id}-{task_id}"
    event["data"]["task"] = {
        "process_id": process_id,
        "subprocess_id": subprocess_id,
        "task_id": task_id,
    }
    assert h.post_event(event).status == 202
    h.drain()


def _sla_pushes(h: Harness, user: str, kind: str | None = None) -> list[dict[str, str]]:
    """The data of every SLA push that reached the user's phone."""
    found = []
    for record in h.fcm.messages(token=_token(user)):
        data: dict[str, str] = record["message"]["data"]
        if data["type"].startswith("sla.") and (kind is None or data["type"] == kind):
            found.append(data)
    return found


def _tracked(h: Harness, key: str = "4711/4711/1") -> dict[str, Any]:
    item: dict[str, Any] = h.table("TasksTable").get_item(Key={"task_key": key})["Item"]
    return item


def _counts(report: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (
        report["examined"],
        report["notified"],
        report["skipped"],
        report["unchecked"],
        report["closed"],
    )


@dataclass
class ScriptedBudget(LambdaContext):
    """A Lambda context whose remaining time is read from a script, then runs out."""

    budget_ms: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        return self.budget_ms.pop(0) if self.budget_ms else 1_000


# --- the ladder ---------------------------------------------------------------------------------


def test_reminder_at_due_then_escalation_after_grace_each_once(harness: Harness) -> None:
    _register_everyone(harness)
    _assign(harness)
    tracked = _tracked(harness)
    assert (tracked["sla_bucket"], tracked["sla_next_at"], tracked["sla_level"]) == ("due", DUE, 0)

    assert _counts(harness.sweep_sla(BEFORE)) == (0, 0, 0, 0, 0)

    report = harness.sweep_sla(AT_DUE)
    assert _counts(report) == (1, 1, 0, 0, 0)
    assert report["complete"] is True
    assert _counts(harness.sweep_sla(AT_DUE)) == (0, 0, 0, 0, 0)  # left the index until the grace
    harness.drain()
    [reminder] = _sla_pushes(harness, "asmith")
    assert reminder["type"] == "sla.reminder"
    assert reminder["category"] == "sla"
    assert reminder["title"] == "Overdue: Approve supplier contract ACME-2026-114"
    assert reminder["due_at"] == DUE
    assert reminder["actions"] == "approve,reject,request_info"
    assert verify(reminder["action_token"], [ACTION_TOKEN_KEY.encode()], time.time()).ecm_user == (
        "asmith"
    )
    assert _sla_pushes(harness, "bjones") == []
    assert _sla_pushes(harness, "cwu") == []
    # the escalation waits the grace from the reminder, which went out five minutes late
    assert _tracked(harness)["sla_next_at"] == "2026-12-02T17:05:00Z"

    report = harness.sweep_sla(AFTER_GRACE)
    assert _counts(report) == (1, 1, 0, 0, 0)
    for again in (AFTER_GRACE, MUCH_LATER):
        assert _counts(harness.sweep_sla(again)) == (0, 0, 0, 0, 0)  # the ladder is done
    harness.drain()

    assert len(_sla_pushes(harness, "asmith")) == 1  # no escalation to the assignee
    for user in ("bjones", "cwu"):  # supervisor and backup
        [escalation] = _sla_pushes(harness, user)
        assert escalation["type"] == "sla.escalation"
        assert escalation["title"] == (
            "Escalation: Approve supplier contract ACME-2026-114 is overdue with asmith"
        )
    # bjones is asmith's deputy in the routing configuration: the original push's buttons
    [to_deputy] = _sla_pushes(harness, "bjones")
    assert to_deputy["actions"] == "approve,reject,request_info"
    claims = verify(to_deputy["action_token"], [ACTION_TOKEN_KEY.encode()], time.time())
    assert claims.ecm_user == "bjones"
    assert (claims.process_id, claims.subprocess_id, claims.task_id) == ("4711", "4711", "1")
    assert claims.actions == ("approve", "reject", "request_info")
    assert claims.notification_id == to_deputy["notification_id"]
    # cwu is only the event's backup: told, with nothing to act with
    [told] = _sla_pushes(harness, "cwu")
    assert (told["actions"], "action_token" in told) == ("", False)
    assert _sla_pushes(harness, "dlee") == []

    tracked = _tracked(harness)
    assert tracked["status"] == "open"
    assert tracked["sla_level"] == 2
    assert "sla_bucket" not in tracked
    assert "sla_next_at" not in tracked
    assert [(s["kind"], s["recipients"], s["actors"]) for s in tracked["sla_steps"]] == [
        ("sla.reminder", ["asmith"], ["asmith"]),
        ("sla.escalation", ["bjones", "cwu"], ["bjones"]),
    ]


@pytest.mark.parametrize(
    ("seeded", "deputy", "actions"),
    [(REVIEW, "dlee", "acknowledge,request_info"), (PLAIN_TASK, "bjones", "acknowledge")],
)
def test_escalation_carries_the_stage_buttons_to_the_deputy(
    harness: Harness, seeded: Any, deputy: str, actions: str
) -> None:
    _register_everyone(harness)
    _assign(harness, seeded)
    harness.sweep_sla(AT_DUE)
    harness.sweep_sla(AFTER_GRACE)
    harness.drain()
    [escalation] = _sla_pushes(harness, deputy)
    assert escalation["actions"] == actions
    assert escalation["action_token"]


def test_nobody_to_escalate_to_escalates_nowhere_but_records_it(harness: Harness) -> None:
    """bjones has no deputies in the routing configuration and the event names no supervisor
    or backup."""
    _register_everyone(harness)
    _assign(harness, APPROVAL_2, supervisor=None, backup=None)
    assert harness.sweep_sla(AT_DUE)["notified"] == 1
    report = harness.sweep_sla(AFTER_GRACE)
    assert _counts(report) == (1, 0, 1, 0, 0)
    assert report["unaddressed"] == 1
    assert _counts(harness.sweep_sla(MUCH_LATER)) == (0, 0, 0, 0, 0)
    harness.drain()
    assert [p["type"] for p in _sla_pushes(harness, "bjones")] == ["sla.reminder"]
    assert all(_sla_pushes(harness, u) == [] for u in ("asmith", "cwu", "dlee"))
    tracked = _tracked(harness, "4713/4713/2")
    assert tracked["sla_level"] == 2
    assert "sla_next_at" not in tracked
    assert tracked["sla_steps"][1]["kind"] == "sla.escalation"
    assert tracked["sla_steps"][1]["recipients"] == []


def test_without_due_time_the_default_sla_applies(harness: Harness) -> None:
    """Sample event: approval, occurred 2026-11-28T10:00Z; normal priority → 72 h."""
    _register_everyone(harness)
    _assign(harness, due_at=None, priority="normal")
    tracked = _tracked(harness)
    assert tracked["due_at"] == tracked["sla_next_at"] == "2026-12-01T10:00:00Z"
    assert harness.sweep_sla("2026-12-01T09:59:00Z")["examined"] == 0
    assert harness.sweep_sla("2026-12-01T10:00:00Z")["notified"] == 1
    harness.drain()
    [reminder] = _sla_pushes(harness, "asmith")
    assert reminder["due_at"] == "2026-12-01T10:00:00Z"


def test_the_same_assignment_again_keeps_the_ladder_a_new_due_restarts_it(
    harness: Harness,
) -> None:
    _register_everyone(harness)
    _assign(harness)
    assert harness.sweep_sla(AT_DUE)["notified"] == 1
    _assign(harness, event_id="evt-resent-by-ecm")  # same task, same due time
    assert _tracked(harness)["sla_level"] == 1
    assert harness.sweep_sla(AT_DUE)["examined"] == 0

    _assign(harness, event_id="evt-extended", due_at="2026-12-04T17:00:00Z")  # a new deadline
    tracked = _tracked(harness)
    assert (tracked["sla_level"], tracked["sla_next_at"]) == (0, "2026-12-04T17:00:00Z")
    assert harness.sweep_sla(AFTER_GRACE)["examined"] == 0  # the old escalation is off
    assert harness.sweep_sla("2026-12-04T17:00:00Z")["notified"] == 1
    harness.drain()
    reminders = _sla_pushes(harness, "asmith", "sla.reminder")
    assert [r["due_at"] for r in reminders] == [DUE, "2026-12-04T17:00:00Z"]
    assert reminders[0]["notification_id"] != reminders[1]["notification_id"]
    assert _sla_pushes(harness, "bjones") == []


# --- exactly once -------------------------------------------------------------------------------


def test_overlapping_sweeps_send_each_step_once(harness: Harness) -> None:
    """Two runs read the task at the same level (Content Server is slow): both enqueue the same
    notification, exactly one advances, Dispatch serves each device once."""
    _register_everyone(harness)
    _assign(harness)
    harness.sweep_sla(BEFORE)  # build the function before the threads race
    harness.ecm.set_faults(latency_ms=400)
    reports: list[dict[str, Any]] = []
    function = harness._scheduled["SlaSweepFunction"]

    def run() -> None:
        context = LambdaContext("SlaSweepFunction", 300)
        reports.append(function.module.lambda_handler({"now": AT_DUE}, context))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    harness.ecm.set_faults(latency_ms=0)

    # How far the runs overlap depends on the machine; what must hold does not: at most both
    # enqueue (the same notification), and whatever was enqueued reaches each device once.
    assert sum(r["notified"] for r in reports) == 1, reports  # exactly one run advanced the step
    assert harness.queue_depth() in (1, 2)  # the loser may have enqueued the same notification
    harness.drain()
    assert len(_sla_pushes(harness, "asmith")) == 1
    assert _tracked(harness)["sla_level"] == 1


def test_a_crash_between_enqueue_and_advance_resends_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register_everyone(harness)
    _assign(harness)
    real_advance = TasksRepository.advance
    calls = {"n": 0}

    def crash_once(self: TasksRepository, *args: Any, **kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("Lambda died after the enqueue")
        return real_advance(self, *args, **kwargs)

    monkeypatch.setattr(TasksRepository, "advance", crash_once)
    with pytest.raises(RuntimeError, match="died"):
        harness.sweep_sla(AT_DUE)
    assert _tracked(harness)["sla_level"] == 0  # still due: the retry takes it again
    assert harness.sweep_sla(AT_DUE)["notified"] == 1
    assert harness.queue_depth() == 2
    harness.drain()
    assert len(_sla_pushes(harness, "asmith")) == 1


# --- completion and Content Server --------------------------------------------------------------


def test_task_completed_stops_the_escalation(harness: Harness) -> None:
    _register_everyone(harness)
    _assign(harness)
    assert harness.sweep_sla(AT_DUE)["notified"] == 1
    _complete(harness, APPROVAL)
    tracked = _tracked(harness)
    assert tracked["status"] == "closed"
    assert "sla_next_at" not in tracked
    assert _counts(harness.sweep_sla(AFTER_GRACE)) == (0, 0, 0, 0, 0)
    harness.drain()
    assert all(_sla_pushes(harness, user) == [] for user in ("bjones", "cwu"))


def test_a_task_done_in_content_server_is_closed_silently(harness: Harness) -> None:
    _register_everyone(harness)
    _assign(harness)
    harness.ecm.tasks[(4711, 4711, 1)].status = "completed"  # no task.completed ever came
    report = harness.sweep_sla(AT_DUE)
    assert _counts(report) == (1, 0, 0, 0, 1)
    tracked = _tracked(harness)
    assert tracked["status"] == "closed"
    assert "sla_bucket" not in tracked
    assert _counts(harness.sweep_sla(AFTER_GRACE)) == (0, 0, 0, 0, 0)
    harness.drain()
    assert all(_sla_pushes(harness, u) == [] for u in ("asmith", "bjones", "cwu"))
    checks = harness.ecm.requests("/api/v2/workflows/status/processes/4711")
    assert [(r["user"], r["status"]) for r in checks] == [("svc-ecmpush", 200)]
    assert harness.ecm.requests("/api/v1/forms") == []  # the form answers the assignee only


def test_ecm_down_notifies_nothing_and_the_next_run_sends_it_once(harness: Harness) -> None:
    _register_everyone(harness)
    _assign(harness)
    harness.ecm.outage(600)
    report = harness.sweep_sla(AT_DUE)
    assert _counts(report) == (1, 0, 0, 1, 0)
    assert report["problems"][0]["task_key"] == "4711/4711/1"
    assert report["problems"][0]["error"] == "EcmUnavailable"
    assert harness.queue_depth() == 0
    assert _tracked(harness)["sla_level"] == 0

    harness.ecm.outage(0)
    assert _counts(harness.sweep_sla(AT_DUE)) == (1, 1, 0, 0, 0)
    assert _counts(harness.sweep_sla(AT_DUE)) == (0, 0, 0, 0, 0)
    harness.drain()
    assert len(_sla_pushes(harness, "asmith")) == 1


def test_ecm_down_stops_the_run_after_a_few_tasks(harness: Harness) -> None:
    for seeded in SEEDED:
        _assign(harness, seeded)
    harness.ecm.outage(600)
    report = harness.sweep_sla(AT_DUE)
    assert _counts(report) == (3, 0, 0, 3, 0)
    assert (report["complete"], report["stopped"]) == (False, "ecm_unavailable")
    harness.ecm.outage(0)
    assert _counts(harness.sweep_sla(AT_DUE)) == (4, 4, 0, 0, 0)


def test_closed_tasks_do_not_stop_the_run_and_the_open_ones_escalate(harness: Harness) -> None:
    """A finished step is no outage: with three of four steps finished in Content Server (whose
    forms would answer 500), the run closes those three and still reminds the fourth."""
    for seeded in SEEDED:
        _assign(harness, seeded)
    still_open = SEEDED[-1][0]
    with harness.ecm._lock:
        for (p, s, t), task in harness.ecm.tasks.items():
            if (str(p), str(s), str(t)) != still_open and task.status == "open":
                task.status = "completed"
    report = harness.sweep_sla(AT_DUE)
    assert _counts(report) == (4, 1, 0, 0, 3)
    assert (report["complete"], report["stopped"]) == (True, None)


def test_a_task_content_server_does_not_know_stays_due_and_is_never_closed_on_a_guess(
    harness: Harness,
) -> None:
    """404 may be a wrong base URL as well as a deleted workflow: unchecked, not closed."""
    _register_everyone(harness)
    unknown = (("9990", "9990", "1"), "approval", "asmith")
    _assign(harness, unknown)
    report = harness.sweep_sla(AT_DUE)
    assert _counts(report) == (1, 0, 0, 1, 0)
    assert report["problems"][0]["error"] == "EcmNotFound"
    assert report["complete"] is True
    tracked = _tracked(harness, "9990/9990/1")
    assert (tracked["status"], tracked["sla_level"], tracked["sla_next_at"]) == ("open", 0, DUE)


# --- time budget --------------------------------------------------------------------------------


def test_a_run_stops_before_its_budget_and_the_next_continues(harness: Harness) -> None:
    _register_everyone(harness)
    for seeded in SEEDED:
        _assign(harness, seeded)
    plenty = 200_000
    context = ScriptedBudget("SlaSweepFunction", 300, budget_ms=[plenty, plenty, 14_000])
    report = harness.sweep_sla(AT_DUE, context=context)
    assert _counts(report) == (2, 2, 0, 0, 0)
    assert (report["complete"], report["stopped"]) == (False, "time_budget")

    report = harness.sweep_sla(AT_DUE)
    assert _counts(report) == (2, 2, 0, 0, 0)
    assert report["complete"] is True
    assert _counts(harness.sweep_sla(AT_DUE)) == (0, 0, 0, 0, 0)
    harness.drain()
    reminded = [
        p["notification_id"] for u in ("asmith", "bjones", "cwu") for p in _sla_pushes(harness, u)
    ]
    assert len(reminded) == len(set(reminded)) == 4  # one reminder per task, none twice


def test_the_schedule_input_is_required_to_be_rfc3339(harness: Harness) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        harness.sweep_sla("tomorrow")
    assert harness.sweep_sla()["complete"] is True  # no input: the wall clock


def _supervisor_replies(harness: Harness, body: dict[str, Any]) -> Any:
    """Escalate the seeded approval to its supervisor bjones, who answers from the push."""
    _register_everyone(harness)
    _assign(harness)
    harness.sweep_sla(AT_DUE)
    harness.sweep_sla(AFTER_GRACE)
    harness.drain()
    [escalation] = _sla_pushes(harness, "bjones")
    return harness.reply(
        {"action_token": escalation["action_token"], **body},
        bearer=harness.identity.mint_id_token("bjones"),
    )


def test_supervisor_takes_the_step_over_and_approves_as_themself(harness: Harness) -> None:
    """The supervisor does not hold the step: the assignee's step is handed over (Delegate, as the
    assignee, with a system comment), then the supervisor's own ticket sends it on, so the audit
    trail names who decided."""
    reply = _supervisor_replies(harness, {"action": "approve", "comment": "Go ahead."})
    assert (reply.status, reply.body["status"]) == (202, "applied")
    task = harness.ecm.task(4711, 4711, 1)
    assert (task["disposition_taken"], task["acted_by"], task["assignee"]) == (
        "Approve",
        "bjones",
        "bjones",
    )
    handover, decision = task["comments"]
    assert (handover["user"], handover["action"], handover["target"]) == (
        "asmith",
        "Delegate",
        "bjones",
    )
    assert handover["comment"].startswith("Handed over to bjones after an SLA escalation")
    assert (decision["user"], decision["action"]) == ("bjones", "Approve")
    assert decision["comment"].startswith("Go ahead. — via ecmpush")
    assert _tracked(harness)["status"] == "closed"


def test_a_step_that_cannot_be_handed_over_is_refused_and_untouched(harness: Harness) -> None:
    harness.ecm.tasks[(4711, 4711, 1)].actions = [{"key": "SendOn", "label": "Send On"}]
    reply = _supervisor_replies(harness, {"action": "approve"})
    assert reply.status == 409  # a retry cannot help: said at once, not left for the DLQ
    task = harness.ecm.task(4711, 4711, 1)
    assert (task["status"], task["comments"]) == ("open", [])
    assert harness.queue_depth(harness.write_back_url) == 0


def test_a_second_event_cannot_hand_the_step_to_someone_content_server_never_named(
    harness: Harness,
) -> None:
    """Issue 20 (1): the normal task.assigned, then a second one for the same task with a new
    event id, dlee as supervisor and a due time 49 hours back; the SLA sweep twice. dlee is no
    deputy of asmith in the routing configuration: the escalation (when it comes) only tells
    them, and a reply in their name (with a token an earlier release would have signed) leaves
    the Content Server step untouched."""
    _register_everyone(harness)
    _assign(harness)
    sweep_at = "2026-12-03T18:00:00Z"
    _assign(harness, event_id="evt-forged", supervisor="dlee", due_at="2026-12-01T17:00:00Z")
    first = harness.sweep_sla(sweep_at)
    second = harness.sweep_sla("2026-12-03T18:15:00Z")
    assert (first["notified"], second["examined"]) == (1, 0)  # the reminder; then the grace
    harness.drain()
    assert [p["type"] for p in _sla_pushes(harness, "asmith")] == ["sla.reminder"]
    assert _sla_pushes(harness, "dlee") == []

    assert harness.sweep_sla("2026-12-04T18:00:00Z")["notified"] == 1  # a grace after the reminder
    harness.drain()
    [told] = _sla_pushes(harness, "dlee")
    assert (told["type"], told["actions"], "action_token" in told) == ("sla.escalation", "", False)
    [to_deputy] = _sla_pushes(harness, "bjones")  # asmith's deputy by configuration
    assert to_deputy["action_token"]

    forged = ActionClaims(
        notification_id=told["notification_id"],
        ecm_user="dlee",
        process_id="4711",
        subprocess_id="4711",
        task_id="1",
        actions=("approve", "reject", "request_info"),
        expires_at=int(time.time()) + 3600,
    )
    reply = harness.reply(
        {"action_token": sign(forged, ACTION_TOKEN_KEY.encode()), "action": "approve"},
        bearer=harness.identity.mint_id_token("dlee"),
    )
    assert reply.status == 409
    task = harness.ecm.task(4711, 4711, 1)
    assert (task["status"], task["assignee"], task["comments"]) == ("open", "asmith", [])
    assert task.get("disposition_taken") is None
    assert harness.queue_depth(harness.write_back_url) == 0
    assert _tracked(harness)["status"] == "open"
