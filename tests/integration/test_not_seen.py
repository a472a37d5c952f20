"""Not seen → the next person and snooze (issue 23 items 3 and 4) against moto, the FCM stand-in
and the Content Server stand-in: an approval push nobody displayed is followed by a not-seen
reminder and then the early escalation to the confirmed deputy (the event's people told), each
once; a push displayed in time is left to the ladder; mutes and quiet hours hold the reminder;
a snooze through `POST /responses` brings the push back and never delays the SLA steps."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import ROUTING_FILE
from ecmpush import bootstrap
from ecmpush.clock import rfc3339, sortable
from tests.integration.harness import Harness
from tests.integration.test_audiences import _set_preferences, quiet_now
from tests.integration.test_sla_sweep import (
    APPROVAL,
    _assign,
    _register_everyone,
    _sla_pushes,
    _token,
    _tracked,
)

DUE = "2027-06-01T17:00:00Z"  # far ahead: only the not-seen checks (and snoozes) come first
ESCALATE_AFTER = timedelta(hours=3)


@pytest.fixture(autouse=True)
def unseen_routing(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seed's routing (asmith's deputy is bjones) with approvals watched: high priority
    (the sample's) 1 hour, then the escalation 3 hours after the reminder."""
    document = json.loads(ROUTING_FILE.read_text())
    document["unseen"] = {
        "approval": {"high": "PT1H", "normal": "PT4H"},
        "escalate_after": "PT3H",
    }
    path = tmp_path / "routing.json"
    path.write_text(json.dumps(document))
    monkeypatch.setenv("ECMPUSH_ROUTING_FILE", str(path))
    bootstrap.reset()
    return path


def _sent_at(h: Harness) -> datetime:
    """When Dispatch sent the assignment push (the task's `opened_at`)."""
    return datetime.fromisoformat(str(_tracked(h)["opened_at"]))


def _sweep(h: Harness, at: datetime) -> dict[str, Any]:
    report = h.sweep_sla(rfc3339(at))
    h.drain()
    return report


def test_a_push_nobody_saw_gets_the_reminder_then_goes_to_the_deputy_early(
    harness: Harness,
) -> None:
    _register_everyone(harness)
    _assign(harness, due_at=DUE)
    tracked = _tracked(harness)
    sent = _sent_at(harness)
    assert tracked["unseen_at"] == rfc3339(sent + timedelta(hours=1))
    assert tracked["sla_next_at"] < DUE  # the index holds the earlier check

    assert _sweep(harness, sent + timedelta(minutes=59))["examined"] == 0
    report = _sweep(harness, sent + timedelta(hours=1))
    assert (report["notified"], report["not_seen_reminders"]) == (1, 1)
    [reminder] = _sla_pushes(harness, "asmith")
    assert (reminder["type"], reminder["reason"]) == ("sla.reminder", "not_seen")
    assert reminder["title"].startswith("Still waiting for you: ")
    assert reminder["actions"] == "approve,reject,request_info"
    assert "action_token" in reminder

    later = sent + timedelta(hours=1) + ESCALATE_AFTER
    assert _sweep(harness, later - timedelta(minutes=1))["examined"] == 0  # the grace
    report = _sweep(harness, later)
    assert (report["notified"], report["not_seen_escalations"]) == (1, 1)
    [deputy] = _sla_pushes(harness, "bjones")  # supervisor, and asmith's configured deputy
    assert (deputy["type"], deputy["reason"]) == ("sla.escalation", "not_seen")
    assert "action_token" in deputy
    [backup] = _sla_pushes(harness, "cwu")  # named by the event only: told, no buttons
    assert (backup["reason"], backup["actions"]) == ("not_seen", "")
    assert "action_token" not in backup

    tracked = _tracked(harness)
    assert (tracked["sla_level"], tracked["unseen_level"]) == (2, 2)
    assert "sla_next_at" not in tracked  # left the index: the ladder never escalates again
    steps = [(s["kind"], s.get("reason"), s["recipients"]) for s in tracked["sla_steps"]]
    assert steps == [
        ("sla.reminder", "not_seen", ["asmith"]),
        ("sla.escalation", "not_seen", ["bjones", "cwu"]),
    ]
    assert _sweep(harness, datetime.fromisoformat(DUE) + timedelta(days=2))["examined"] == 0
    assert len(_sla_pushes(harness, "bjones")) == 1
    assert len(_sla_pushes(harness, "asmith")) == 1


def test_a_push_displayed_in_time_is_left_to_the_ladder(harness: Harness) -> None:
    _register_everyone(harness)
    _assign(harness, due_at=DUE)
    nid = str(_tracked(harness)["notification_id"])
    sent = _sent_at(harness)
    # the receipt the device reported (written by the receipts endpoint)
    harness.table("DeliveriesTable").update_item(
        Key={"notification_id": nid, "sk": "d#asmith#asmith-phone-4b7e1c9a"},
        UpdateExpression="SET displayed_at = :at",
        ConditionExpression="attribute_exists(sk)",
        ExpressionAttributeValues={":at": rfc3339(sent + timedelta(minutes=5))},
    )
    report = _sweep(harness, sent + timedelta(hours=1))
    assert (report["notified"], report["seen"]) == (0, 1)
    assert _sla_pushes(harness, "asmith") == []
    tracked = _tracked(harness)
    assert "unseen_at" not in tracked
    assert tracked["sla_next_at"] == DUE  # the normal ladder
    assert _sweep(harness, sent + timedelta(hours=10))["examined"] == 0


def test_quiet_hours_and_mutes_apply_as_they_do_for_the_ladder(harness: Harness) -> None:
    """The not-seen reminder waits for the end of quiet hours (muted: not sent); the early
    escalation, like the ladder's, goes through both, and the bypass is recorded."""
    _register_everyone(harness)
    _assign(harness, due_at=DUE)
    sent = _sent_at(harness)
    _set_preferences(harness, "asmith", {"quiet_hours": quiet_now()})
    _sweep(harness, sent + timedelta(hours=1))
    assert _sla_pushes(harness, "asmith") == []  # deferred by the quiet hours
    assert _tracked(harness)["unseen_level"] == 1  # the step itself was taken, once
    _set_preferences(harness, "bjones", {"muted_categories": ["sla"]})
    _sweep(harness, sent + timedelta(hours=1) + ESCALATE_AFTER)
    [escalation] = _sla_pushes(harness, "bjones")
    assert escalation["reason"] == "not_seen"
    policy = harness.table("DeliveriesTable").get_item(
        Key={"notification_id": escalation["notification_id"], "sk": "p#bjones"}
    )["Item"]
    assert (policy["outcome"], policy["detail"]) == ("bypassed", "muted")


def test_a_muted_not_seen_reminder_is_not_sent(harness: Harness) -> None:
    _register_everyone(harness)
    _assign(harness, due_at=DUE)
    _set_preferences(harness, "asmith", {"muted_categories": ["sla"]})
    _sweep(harness, _sent_at(harness) + timedelta(hours=1))
    assert _sla_pushes(harness, "asmith") == []
    [step] = _tracked(harness)["sla_steps"]
    policy = harness.table("DeliveriesTable").get_item(
        Key={"notification_id": step["notification_ids"][0], "sk": "p#asmith"}
    )["Item"]
    assert policy["outcome"] == "muted"


def _snooze(h: Harness, token: str, when: str, user: str = "asmith") -> Any:
    return h.reply(
        {
            "action_token": token,
            "action": "snooze",
            "snooze": when,
            "installation_id": f"{user}-phone-4b7e1c9a",
        },
        bearer=h.identity.mint_id_token(user),
    )


def _assignment_push(h: Harness) -> dict[str, str]:
    [record] = h.fcm.messages(token=_token("asmith"))
    push: dict[str, str] = record["message"]["data"]
    return push


def test_snooze_brings_the_push_back_and_the_token_still_answers(harness: Harness) -> None:
    _register_everyone(harness)
    _assign(harness, due_at=DUE)
    push = _assignment_push(harness)
    reply = _snooze(harness, push["action_token"], "1h")
    assert (reply.status, reply.body["status"]) == (202, "snoozed")
    until = datetime.fromisoformat(reply.body["snoozed_until"])
    tracked = _tracked(harness)
    assert (tracked["snoozes"], tracked["snooze_at"]) == (1, rfc3339(until))
    assert "unseen_at" not in tracked  # snoozing is seeing

    assert _sweep(harness, until - timedelta(minutes=1))["examined"] == 0
    report = _sweep(harness, until)
    assert (report["notified"], report["snoozed"]) == (1, 1)
    pushes = [m["message"]["data"] for m in harness.fcm.messages(token=_token("asmith"))]
    assert [p["type"] for p in pushes] == ["task.assigned", "task.snoozed"]
    back = pushes[1]
    assert back["title"].startswith("Reminder: ")
    assert back["actions"] == "approve,reject,request_info"
    assert _tracked(harness)["sla_next_at"] == DUE

    answer = harness.reply(
        {"action_token": back["action_token"], "action": "approve"},
        bearer=harness.identity.mint_id_token("asmith"),
    )
    assert answer.status == 202
    assert _tracked(harness)["status"] == "closed"
    refused = _snooze(harness, push["action_token"], "1h")
    assert refused.status == 409


def test_snoozes_are_bounded_and_only_the_assignees(harness: Harness) -> None:
    _register_everyone(harness)
    _assign(harness, due_at=DUE)
    token = _assignment_push(harness)["action_token"]
    for _ in range(3):
        assert _snooze(harness, token, "tomorrow").status == 202
    fourth = _snooze(harness, token, "1h")
    assert fourth.status == 409
    assert "3 times" in fourth.body["message"]
    assert _tracked(harness)["snoozes"] == 3
    other = _snooze(harness, token, "1h", user="bjones")
    assert other.status == 403
    bad = harness.reply(
        {"action_token": token, "action": "snooze", "snooze": "next week"},
        bearer=harness.identity.mint_id_token("asmith"),
    )
    assert bad.status == 422
    missing = harness.reply(
        {"action_token": token, "action": "snooze"},
        bearer=harness.identity.mint_id_token("asmith"),
    )
    assert missing.status == 422


def test_a_snooze_never_delays_the_sla_escalation(harness: Harness) -> None:
    _register_everyone(harness)
    _assign(harness)  # due 2026-12-01T17:00Z: overdue already
    token = _assignment_push(harness)["action_token"]
    reply = _snooze(harness, token, "tomorrow")
    assert reply.status == 202
    until = datetime.fromisoformat(reply.body["snoozed_until"])
    assert _tracked(harness)["sla_next_at"] == "2026-12-01T17:00:00Z"  # the SLA step stays first
    harness.sweep_sla("2026-12-01T17:05:00Z")
    harness.sweep_sla("2026-12-02T17:05:00Z")
    harness.drain()
    assert [p["type"] for p in _sla_pushes(harness, "bjones")] == ["sla.escalation"]
    tracked = _tracked(harness)
    assert tracked["sla_level"] == 2
    assert tracked["sla_next_at"] == rfc3339(until)  # the snooze still comes back
    assert APPROVAL[2] == "asmith"


def test_writes_that_race_lose_instead_of_dropping_a_check_from_the_index(
    harness: Harness,
) -> None:
    """TasksRepository against moto: each write checks the levels and the snooze it read, so a
    sweep's not-seen step read before a snooze loses to it, and a snooze read before the early
    escalation loses to that; the winner's schedule is what the index holds."""
    from ecmpush.adapters.tasks_repository import TasksRepository
    from ecmpush.domain.sweeps.sla import SlaPolicy

    _register_everyone(harness)
    _assign(harness, due_at=DUE)
    repository = TasksRepository(harness.table("TasksTable"), 30, SlaPolicy())
    read = repository.get("4711/4711/1")
    assert read is not None
    assert read.unseen_at is not None
    until = read.unseen_at + timedelta(hours=2)
    assert repository.snooze(read, until)  # the user snoozes first
    assert not repository.advance_unseen(read, 1, read.unseen_at, read.unseen_at)  # stale read
    tracked = _tracked(harness)
    assert (tracked["snooze_at"], tracked["sla_next_at"]) == (rfc3339(until), sortable(until))
    assert not repository.snooze(read, until)  # the count moved: a stale second snooze loses

    fresh = repository.get("4711/4711/1")
    assert fresh is not None
    assert not repository.advance(
        "4711/4711/1", 0, 1, None, due_at=datetime.fromisoformat(DUE), snooze_at=None
    )  # the ladder's step read no snooze: it loses too
    assert repository.wake(fresh, datetime.fromisoformat(DUE))
    assert _tracked(harness)["sla_next_at"] == DUE


def test_seen_by_reads_only_the_owners_receipts(harness: Harness) -> None:
    from ecmpush.adapters.deliveries_repository import DeliveriesRepository

    _register_everyone(harness)
    _assign(harness, due_at=DUE)
    nid = str(_tracked(harness)["notification_id"])
    deliveries = DeliveriesRepository(harness.table("DeliveriesTable"), 30)
    assert not deliveries.seen_by("asmith", [nid])
    harness.table("DeliveriesTable").update_item(
        Key={"notification_id": nid, "sk": "d#asmith#asmith-phone-4b7e1c9a"},
        UpdateExpression="SET opened_at = :at",
        ExpressionAttributeValues={":at": "2026-12-08T10:00:00Z"},
    )
    assert deliveries.seen_by("asmith", ["unknown-id", nid])
    assert not deliveries.seen_by("asmit", [nid])  # a prefix of the owner is another owner
    assert not deliveries.seen_by("bjones", [nid])
