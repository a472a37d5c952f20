"""Two-way: a reply from the push reaches the Content Server workflow (stand-in) and its audit
trail, exactly once, whatever ECM does meanwhile."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ecmpush.adapters.replies_repository import reply_key
from ecmpush.domain.replies.action_token import ActionClaims, sign
from tests.conftest import sample_event
from tests.integration.ecm_steps import AUTHENTICATED_TASK
from tests.integration.harness import ACTION_TOKEN_KEY, Harness

# Seeded Content Server tasks (devstack/ecm_seed.json): (process, subprocess, task), stage, assignee
APPROVAL = (("4711", "4711", "1"), "approval", "asmith")
APPROVAL_OTHER_KEYS = (("4713", "4713", "2"), "approval", "bjones")
REVIEW = (("4712", "4712", "1"), "review", "cwu")
PLAIN_TASK = (("4714", "4714", "1"), "task", "asmith")


def _push(h: Harness, seeded: tuple[tuple[str, str, str], str, str], n: int = 1) -> dict[str, str]:
    """Register the assignee's phone, let ECM announce the task, return the push's data."""
    (process_id, subprocess_id, task_id), stage, user = seeded
    token = f"fcm-{user}-phone-{n:04d}"
    h.register(user, f"{user}-phone-4b7e1c9a", token, "android")
    event = sample_event("task_assigned")
    event["id"] = f"evt-{process_id}-{subprocess_id}-{task_id}"
    event["data"]["task"].update(
        process_id=process_id, subprocess_id=subprocess_id, task_id=task_id, stage=stage
    )
    event["data"]["assignee"]["user_id"] = user
    assert h.post_event(event).status == 202
    h.drain()
    data: dict[str, str] = h.fcm.messages(token=token)[-1]["message"]["data"]
    return data


def _answer(
    h: Harness, data: dict[str, str], action: str, user: str, comment: str | None = None
) -> Any:
    body: dict[str, Any] = {"action_token": data["action_token"], "action": action}
    if comment is not None:
        body["comment"] = comment
    body["installation_id"] = f"{user}-phone-4b7e1c9a"
    return h.reply(body, bearer=h.identity.mint_id_token(user))


def _ecm_task(h: Harness, seeded: tuple[tuple[str, str, str], str, str]) -> dict[str, Any]:
    process_id, subprocess_id, task_id = seeded[0]
    return h.ecm.task(int(process_id), int(subprocess_id), int(task_id))


def test_approve_reaches_ecm_with_the_audit_comment_and_is_confirmed(harness: Harness) -> None:
    data = _push(harness, APPROVAL)
    reply = _answer(harness, data, "approve", "asmith", "Liability cap checked.")
    assert reply.status == 202, reply
    assert reply.body["status"] == "applied"
    assert reply.body["response_id"].startswith("r-")

    task = _ecm_task(harness, APPROVAL)
    assert task["status"] != "open"
    assert task["disposition_taken"] == "Approve"
    assert task["acted_by"] == "asmith"  # OTDS token exchange: the user, not the service account
    [comment] = task["comments"]
    assert comment["comment"].startswith("Liability cap checked. — via ecmpush from android at ")

    record = harness.table("DeliveriesTable").get_item(
        Key={"notification_id": data["notification_id"], "sk": "r#asmith"}
    )["Item"]
    assert (record["status"], record["action"], record["platform"]) == (
        "applied",
        "approve",
        "android",
    )
    tracked = harness.table("TasksTable").get_item(Key={"task_key": "4711/4711/1"})["Item"]
    assert tracked["status"] == "closed"
    assert "sla_bucket" not in tracked

    harness.drain()
    confirmation = harness.fcm.messages(token="fcm-asmith-phone-0001")[-1]["message"]["data"]
    assert confirmation["type"] == "response.confirmed"
    assert confirmation["title"] == "Recorded: Approved"
    assert "action_token" not in confirmation


@pytest.mark.parametrize(
    ("seeded", "action", "disposition"),
    [
        (APPROVAL, "reject", "Reject"),
        (APPROVAL_OTHER_KEYS, "approve", "Approved"),  # keys read from the task, not hard-coded
        (APPROVAL_OTHER_KEYS, "reject", "Rejected"),
        (REVIEW, "acknowledge", "SendOn"),
        (REVIEW, "request_info", "SendForReview"),
        (PLAIN_TASK, "acknowledge", "SendOn"),
    ],
)
def test_each_reply_takes_the_disposition_the_task_offers(
    harness: Harness, seeded: Any, action: str, disposition: str
) -> None:
    data = _push(harness, seeded)
    reply = _answer(harness, data, action, seeded[2], "ok")
    assert reply.status == 202, reply
    task = _ecm_task(harness, seeded)
    assert task["disposition_taken"] == disposition
    assert len(task["comments"]) == 1


def test_double_tap_is_409_and_ecm_sees_one_answer(harness: Harness) -> None:
    data = _push(harness, APPROVAL)
    assert _answer(harness, data, "approve", "asmith").status == 202
    again = _answer(harness, data, "reject", "asmith")
    assert again.status == 409
    # The task records who decided (issue 23): the second tap is told.
    assert again.body["message"].startswith("already decided: approved by asmith on Android at ")
    assert len(_ecm_task(harness, APPROVAL)["comments"]) == 1


def test_another_users_token_is_403(harness: Harness) -> None:
    data = _push(harness, APPROVAL)
    harness.register("bjones", "bjones-phone-4b7e1c9a", "fcm-bjones-phone-9999")
    reply = _answer(harness, data, "approve", "bjones")
    assert reply.status == 403
    assert _ecm_task(harness, APPROVAL)["status"] == "open"


def test_action_not_offered_is_403(harness: Harness) -> None:
    data = _push(harness, APPROVAL)  # approval offers approve, reject, request_info
    assert _answer(harness, data, "acknowledge", "asmith").status == 403
    assert _ecm_task(harness, APPROVAL)["status"] == "open"


def test_tampered_token_is_401(harness: Harness) -> None:
    data = _push(harness, APPROVAL)
    prefix, payload, signature = data["action_token"].split(".")
    forged = {**data, "action_token": f"{prefix}.{payload}x.{signature}"}
    assert _answer(harness, forged, "approve", "asmith").status == 401


def test_expired_token_is_410(harness: Harness) -> None:
    data = _push(harness, APPROVAL)
    claims = ActionClaims(
        notification_id=data["notification_id"],
        ecm_user="asmith",
        process_id="4711",
        subprocess_id="4711",
        task_id="1",
        actions=("approve",),
        expires_at=int(time.time()) - 1,
    )
    expired = {**data, "action_token": sign(claims, ACTION_TOKEN_KEY.encode())}
    assert _answer(harness, expired, "approve", "asmith").status == 410


def test_missing_id_token_is_401_and_bad_body_422(harness: Harness) -> None:
    data = _push(harness, APPROVAL)
    body = {"action_token": data["action_token"], "action": "approve"}
    assert harness.reply(body, bearer=None).status == 401
    bad = harness.reply({"action": "vote"}, bearer=harness.identity.mint_id_token("asmith"))
    assert bad.status == 422
    assert {e["path"] for e in bad.body["errors"]} >= {"action_token", "action"}


def test_task_completed_in_ecm_closes_the_task_for_replies(harness: Harness) -> None:
    data = _push(harness, APPROVAL)
    completed = sample_event("task_completed")
    assert harness.post_event(completed).status == 202
    harness.drain()
    reply = _answer(harness, data, "approve", "asmith")
    assert reply.status == 409
    # Content Server's own completion, and by whom, as the event said (issue 23).
    assert reply.body["message"].startswith("already decided: completed by asmith in Content")
    assert _ecm_task(harness, APPROVAL)["comments"] == []


def test_request_info_goes_back_to_the_initiator_named_by_the_workflow(harness: Harness) -> None:
    data = _push(harness, REVIEW)
    reply = _answer(harness, data, "request_info", "cwu", "Which inspection date?")
    assert (reply.status, reply.body["status"]) == (202, "applied")
    task = _ecm_task(harness, REVIEW)
    assert (task["status"], task["review_assignee"]) == ("sent_for_review", "asmith")
    [sent] = [r for r in harness.ecm.requests("/api/v2/processes/4712") if r["method"] == "PUT"]
    assert sent["user"] == "cwu"


@pytest.mark.parametrize("closed_status", [500, 400])
def test_task_finished_in_ecm_without_an_event_is_409_at_once(
    harness: Harness, closed_status: int
) -> None:
    """A finished step's form answers 500 on a real server: that is no outage, so the user hears
    409 now and nothing waits on the write-back queue for the DLQ."""
    data = _push(harness, APPROVAL)
    harness.ecm.set_faults(closed_task_status=closed_status)
    with harness.ecm._lock:  # someone completes the step directly in Content Server
        harness.ecm.tasks[(4711, 4711, 1)].status = "completed"
    reply = _answer(harness, data, "approve", "asmith")
    assert reply.status == 409
    assert _ecm_task(harness, APPROVAL)["comments"] == []
    assert harness.queue_depth(harness.write_back_url) == 0


def _no_backoff(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Queued replies become visible again at once (the real backoff is 30 s and doubling)."""
    monkeypatch.setattr(
        harness.write_back.module, "backoff_seconds", lambda *_, **__: 0
    )  # as imported


def test_ecm_outage_queues_replies_and_applies_each_once_after_recovery(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_backoff(harness, monkeypatch)
    pushes = [
        (_push(harness, seeded, n), seeded)
        for n, seeded in enumerate((APPROVAL, REVIEW, APPROVAL_OTHER_KEYS))
    ]
    harness.ecm.outage(3600)
    for data, seeded in pushes:
        action = "acknowledge" if seeded is REVIEW else "approve"
        reply = _answer(harness, data, action, seeded[2])
        assert reply.status == 202
        assert reply.body["status"] == "queued"
    assert harness.queue_depth(harness.write_back_url) == 3

    harness.drain_write_back(rounds=2)  # still down: nothing applied, nothing lost
    assert harness.queue_depth(harness.write_back_url) == 3
    assert all(_ecm_task(harness, seeded)["comments"] == [] for _, seeded in pushes)

    harness.ecm.outage(0)
    harness.drain_write_back()
    assert harness.queue_depth(harness.write_back_url) == 0
    for data, seeded in pushes:
        assert len(_ecm_task(harness, seeded)["comments"]) == 1
        record = harness.table("DeliveriesTable").get_item(
            Key={"notification_id": data["notification_id"], "sk": f"r#{seeded[2]}"}
        )["Item"]
        assert record["status"] == "applied"
    harness.drain_write_back()  # a redelivery would change nothing
    assert all(len(_ecm_task(harness, seeded)["comments"]) == 1 for _, seeded in pushes)


def test_html_200_from_a_restarting_ecm_is_retried_not_believed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_backoff(harness, monkeypatch)
    data = _push(harness, APPROVAL)
    harness.ecm.set_faults(html_200=50)
    reply = _answer(harness, data, "approve", "asmith")
    assert (reply.status, reply.body["status"]) == (202, "queued")
    harness.ecm.set_faults(html_200=0)
    harness.drain_write_back()
    assert _ecm_task(harness, APPROVAL)["disposition_taken"] == "Approve"


def test_ticket_expiry_mid_flight_reauthenticates_once(harness: Harness) -> None:
    first = _push(harness, APPROVAL)
    assert _answer(harness, first, "approve", "asmith").status == 202
    harness.ecm.expire_tickets()
    second = _push(harness, PLAIN_TASK, 2)
    reply = _answer(harness, second, "acknowledge", "asmith")
    assert (reply.status, reply.body["status"]) == (202, "applied")
    assert _ecm_task(harness, PLAIN_TASK)["disposition_taken"] == "SendOn"


def test_lost_answer_from_ecm_is_not_applied_twice(harness: Harness) -> None:
    data = _push(harness, APPROVAL)
    harness.ecm.set_faults(lose_response=1)  # ECM applies the update, the answer is lost (504)
    reply = _answer(harness, data, "approve", "asmith")
    assert (reply.status, reply.body["status"]) == (202, "applied")  # known from the history
    harness.drain_write_back()
    assert len(_ecm_task(harness, APPROVAL)["comments"]) == 1
    history = harness.ecm.requests("/api/v2/processes/4711/subprocesses/4711/activities")
    assert [(r["user"], r["status"]) for r in history] == [("svc-ecmpush", 200)]


def test_a_queued_reply_applied_meanwhile_is_recognised_by_its_comment(harness: Harness) -> None:
    """The worker meets a step its own earlier attempt finished (the answer was lost): the
    history holds this reply's comment from this user, so nothing is sent again."""
    data = _push(harness, APPROVAL)
    harness.ecm.outage(600)
    reply = _answer(harness, data, "approve", "asmith", "Signed off.")
    assert (reply.status, reply.body["status"]) == (202, "queued")
    harness.ecm.outage(0)
    harness.ecm.set_faults(lose_response=1)
    harness.drain_write_back()
    task = _ecm_task(harness, APPROVAL)
    assert [c["comment"].split(" — ")[0] for c in task["comments"]] == ["Signed off."]
    stored = harness.table("DeliveriesTable").get_item(
        Key={"notification_id": data["notification_id"], "sk": reply_key("asmith")}
    )["Item"]
    assert stored["status"] == "applied"


def test_a_step_asking_for_authentication_is_refused_at_once_and_never_sent_on(
    harness: Harness,
) -> None:
    """Such a step must carry the user's `authentication_info` (a real server answers 400
    without it), which no push can: 409 now, nothing sent to Content Server, nothing queued."""
    harness.ecm.seed({"tasks": [AUTHENTICATED_TASK]})
    signed = (("4900", "4900", "1"), "task", "asmith")
    data = _push(harness, signed)
    reply = _answer(harness, data, "acknowledge", "asmith")
    assert reply.status == 409
    assert "open the task in ECM" in reply.body["message"]
    assert [r for r in harness.ecm.requests("/api/v2/processes/4900") if r["method"] == "PUT"] == []
    assert _ecm_task(harness, signed)["status"] == "open"
    assert harness.queue_depth(harness.write_back_url) == 0
