"""Dispatch through the real handler: SQS records → FCM stand-in via firebase-admin → DynamoDB."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from firebase_admin import messaging

from devstack.fcm_standin import FCM_ERROR_TYPE
from ecmpush.adapters import fcm_sender
from ecmpush.domain.delivery.notifications import notification_id
from ecmpush.domain.delivery.push import Push
from ecmpush.domain.replies.action_token import verify as verify_action_token
from tests.conftest import sample_event
from tests.integration.harness import ACTION_TOKEN_KEY, Harness

PHONE = "fcm-token-asmith-phone-000000001"
BROWSER = "fcm-token-asmith-browser-0000002"


def _assigned(event_id: str = "evt-dispatch-1", **task: object) -> dict[str, Any]:
    event = sample_event("task_assigned")
    event["id"] = event_id
    event["data"]["task"].update(task)
    return event


def _nid(event_id: str = "evt-dispatch-1") -> str:
    return notification_id(event_id, "task.assigned")


def _two_devices(h: Harness) -> None:
    h.register("asmith", "phone-1-8d3f1a6c2e", PHONE, "android", locale="en-GB")
    h.register(
        "asmith", "browser-1-2a9e7c4d", BROWSER, "web", locale="de-DE", timezone="Europe/Berlin"
    )


def _statuses(h: Harness, event_id: str = "evt-dispatch-1") -> dict[str, str]:
    return {d["installation_id"]: d["status"] for d in h.deliveries(_nid(event_id))}


def test_approval_push_reaches_every_device_with_contract_payload(harness: Harness) -> None:
    _two_devices(harness)
    assert harness.post_event(_assigned()).status == 202
    assert harness.drain() == 1

    phone = harness.fcm.messages(token=PHONE)
    browser = harness.fcm.messages(token=BROWSER)
    assert len(phone) == len(browser) == 1
    message = phone[0]["message"]
    data = message["data"]
    assert data["type"] == "task.assigned"
    assert data["notification_id"] == _nid()
    assert data["title"] == "Approval needed: Approve supplier contract ACME-2026-114"
    assert "Due 2026-12-01 17:00 UTC" in data["body"]
    assert data["due_at"] == "2026-12-01T17:00:00Z"
    assert data["deep_link"] == f"https://app.test/tasks/4711/4711/1?n={_nid()}"
    assert data["actions"] == "approve,reject,request_info"
    assert data["category"] == "approval"
    assert all(isinstance(v, str) for v in data.values())
    assert message["android"]["notification"]["click_action"] == "ECM_APPROVAL"
    assert message["apns"]["payload"]["aps"]["category"] == "ECM_APPROVAL"
    web = browser[0]["message"]["webpush"]
    assert [a["action"] for a in web["notification"]["actions"]] == [
        "approve",
        "reject",
        "request_info",
    ]
    assert web["fcm_options"]["link"] == data["deep_link"]
    # The browser registered Berlin time: its due line reads in its zone.
    # The browser registered German and Berlin time: its text and due line follow both.
    assert browser[0]["message"]["data"]["title"].startswith("Genehmigung erforderlich: ")
    assert "Fällig 2026-12-01 18:00 CET" in browser[0]["message"]["data"]["body"]
    assert len(json.dumps(message).encode()) < 4096

    claims = verify_action_token(data["action_token"], [ACTION_TOKEN_KEY.encode()], time.time())
    assert claims.ecm_user == "asmith"
    assert claims.notification_id == _nid()
    assert (claims.process_id, claims.subprocess_id, claims.task_id) == ("4711", "4711", "1")
    assert claims.actions == ("approve", "reject", "request_info")

    deliveries = harness.deliveries(_nid())
    assert {d["installation_id"]: d["status"] for d in deliveries} == {
        "phone-1-8d3f1a6c2e": "sent",
        "browser-1-2a9e7c4d": "sent",
    }
    assert all(d["fcm_message_id"].startswith("projects/") for d in deliveries)
    assert all(d["owner"] == "asmith" for d in deliveries)
    event = harness.table("EventsTable").get_item(Key={"event_id": "evt-dispatch-1"})["Item"]
    assert event["status"] == "routed"
    assert harness.queue_depth() == 0


def test_redelivered_message_sends_nothing_twice(harness: Harness) -> None:
    _two_devices(harness)
    body = json.dumps({"kind": "event", "event": _assigned()})
    assert harness.invoke_dispatch([body]) == {"batchItemFailures": []}
    assert harness.invoke_dispatch([body]) == {"batchItemFailures": []}
    assert len(harness.fcm.messages()) == 2


def test_recipient_without_device_gets_a_record(harness: Harness) -> None:
    harness.post_event(_assigned())
    harness.drain()
    assert harness.fcm.messages() == []
    deliveries = harness.deliveries(_nid())
    assert [(d["owner"], d["status"]) for d in deliveries] == [("asmith", "no_device")]


@pytest.mark.parametrize("error", ["UNREGISTERED", "INVALID_ARGUMENT"])
def test_dead_token_removes_that_device_only(harness: Harness, error: str) -> None:
    _two_devices(harness)
    harness.fcm.add_fault(error, match_token=PHONE)
    harness.post_event(_assigned())
    harness.drain()
    assert _statuses(harness) == {
        "phone-1-8d3f1a6c2e": "token_removed",
        "browser-1-2a9e7c4d": "sent",
    }
    phone = next(
        d for d in harness.deliveries(_nid()) if d["installation_id"] == "phone-1-8d3f1a6c2e"
    )
    assert phone["error_code"] == error
    assert [d["installation_id"] for d in harness.devices_of("asmith")] == ["browser-1-2a9e7c4d"]
    assert harness.queue_depth() == 0


# Ways a message can be refused by FCM with INVALID_ARGUMENT that are not the token's fault:
# (extra data for the phone's message, FCM's answer message, the FcmError/BadRequest details).
BAD_PAYLOADS = {
    "too big": (
        {"padding": "x" * 5000},
        "Message is too big",
        [{"@type": FCM_ERROR_TYPE, "errorCode": "INVALID_ARGUMENT"}],
    ),
    "reserved data key": (
        {"from": "ecm"},
        "Invalid data payload key: from",
        [
            {"@type": FCM_ERROR_TYPE, "errorCode": "INVALID_ARGUMENT"},
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    {"field": "message.data", "description": "Invalid data payload key: from"}
                ],
            },
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PAYLOADS))
def test_a_message_fcm_refuses_keeps_the_device(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """INVALID_ARGUMENT about the message (FcmError INVALID_ARGUMENT, like the invalid-token
    answer, but another message) fails that delivery and removes nothing."""
    extra, text, details = BAD_PAYLOADS[case]
    real = fcm_sender.to_message

    def refused(push: Push) -> messaging.Message:
        message = real(push)
        if push.token == PHONE:
            message.data = {**(message.data or {}), **extra}
        return message

    monkeypatch.setattr(fcm_sender, "to_message", refused)
    _two_devices(harness)
    harness.post_event(_assigned())
    harness.drain()
    assert _statuses(harness) == {"phone-1-8d3f1a6c2e": "failed", "browser-1-2a9e7c4d": "sent"}
    [attempt] = harness.fcm.messages(token=PHONE)
    error = attempt["answer"]["body"]["error"]
    assert (error["status"], error["message"], error["details"]) == (
        "INVALID_ARGUMENT",
        text,
        details,
    )
    assert len(harness.devices_of("asmith")) == 2
    assert harness.queue_depth() == 0


@pytest.mark.parametrize("error", ["SENDER_ID_MISMATCH"])
def test_a_wrong_service_account_deletes_no_device_and_keeps_the_message(
    harness: Harness,
    error: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every token "of another project": it is the service account that is wrong. Nothing is
    pruned, the SQS message stays for a retry (and the DLQ), and the alarm metric is emitted."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # see the EMF the alarm reads
    _two_devices(harness)
    harness.fcm.add_fault(error)  # every token, until reset
    body = json.dumps({"kind": "event", "event": _assigned()})
    result = harness.invoke_dispatch([body])
    assert len(result["batchItemFailures"]) == 1
    assert len(harness.devices_of("asmith")) == 2
    assert _statuses(harness) == {
        "phone-1-8d3f1a6c2e": "retrying",
        "browser-1-2a9e7c4d": "retrying",
    }
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert any(
        m.get("FcmCredentialsSuspect") == [1.0] and m["service"] == "ecmpush" for m in emitted
    ), emitted  # the metric and dimension FcmCredentialsAlarm watches
    harness.fcm.reset()  # the service account is fixed; the retry goes out
    harness.invoke_dispatch([body])
    assert _statuses(harness) == {"phone-1-8d3f1a6c2e": "sent", "browser-1-2a9e7c4d": "sent"}


def test_permanent_error_is_recorded_and_not_retried(harness: Harness) -> None:
    _two_devices(harness)
    harness.fcm.add_fault("THIRD_PARTY_AUTH_ERROR", match_token=PHONE)
    harness.post_event(_assigned())
    harness.drain()
    assert _statuses(harness) == {"phone-1-8d3f1a6c2e": "failed", "browser-1-2a9e7c4d": "sent"}
    assert len(harness.devices_of("asmith")) == 2
    assert harness.queue_depth() == 0


def _retry_once_then_succeed(harness: Harness, error: str, times: int) -> None:
    _two_devices(harness)
    harness.fcm.add_fault(error, match_token=PHONE, times=times)
    body = json.dumps({"kind": "event", "event": _assigned()})
    result = harness.invoke_dispatch([body])
    assert len(result["batchItemFailures"]) == 1
    assert _statuses(harness) == {"phone-1-8d3f1a6c2e": "retrying", "browser-1-2a9e7c4d": "sent"}
    phone = next(
        d for d in harness.deliveries(_nid()) if d["installation_id"] == "phone-1-8d3f1a6c2e"
    )
    assert phone["error_code"] == error

    # The SQS retry (the same body again): only the phone is sent to again.
    result = harness.invoke_dispatch([body])
    assert result == {"batchItemFailures": []}
    assert _statuses(harness) == {"phone-1-8d3f1a6c2e": "sent", "browser-1-2a9e7c4d": "sent"}
    assert len(harness.fcm.messages(token=BROWSER)) == 1
    assert [m["answer"]["status"] for m in harness.fcm.messages(token=PHONE)][-1] == 200


def test_quota_exceeded_fails_only_that_item_and_retry_skips_served_devices(
    harness: Harness,
) -> None:
    # Without Retry-After the SDK does not retry a 429 itself: one attempt, one fault.
    _retry_once_then_succeed(harness, "QUOTA_EXCEEDED", times=1)


def test_unavailable_is_transient(harness: Harness) -> None:
    # The SDK retries a 503 once itself; the fault outlasts both attempts.
    _retry_once_then_succeed(harness, "UNAVAILABLE", times=2)


def test_retry_after_stretches_the_visibility_of_that_record(harness: Harness) -> None:
    _two_devices(harness)
    # The SDK is told not to sleep out Retry-After: one 429 reaches dispatch with retry_after.
    harness.fcm.add_fault("QUOTA_EXCEEDED", match_token=PHONE, times=1, retry_after=1)
    harness.sqs.set_queue_attributes(
        QueueUrl=harness.queue_url, Attributes={"VisibilityTimeout": "0"}
    )
    harness.post_event(_assigned())
    result = harness.drain(rounds=1)
    assert result == 1
    # Retry-After 1 s → visibility set to 1 s: invisible right now, back after it passes.
    assert harness.sqs.receive_message(QueueUrl=harness.queue_url).get("Messages") is None
    time.sleep(1.2)
    assert harness.drain() == 1
    assert _statuses(harness) == {"phone-1-8d3f1a6c2e": "sent", "browser-1-2a9e7c4d": "sent"}


def test_unavailable_with_retry_after_is_not_asked_again_sooner(harness: Harness) -> None:
    """FCM's 503 says when to come back: one attempt (the SDK does not retry it half a second
    later), and the record stays away for that long (its SQS visibility)."""
    _two_devices(harness)
    harness.fcm.add_fault("UNAVAILABLE", match_token=PHONE, retry_after=30)
    harness.sqs.set_queue_attributes(
        QueueUrl=harness.queue_url, Attributes={"VisibilityTimeout": "0"}
    )
    harness.post_event(_assigned())
    assert harness.drain(rounds=1) == 1
    assert [m["answer"]["status"] for m in harness.fcm.messages(token=PHONE)] == [503]
    assert _statuses(harness) == {"phone-1-8d3f1a6c2e": "retrying", "browser-1-2a9e7c4d": "sent"}
    assert harness.sqs.receive_message(QueueUrl=harness.queue_url).get("Messages") is None
    assert harness.queue_depth() == 1  # kept, not lost


def test_a_transient_answer_comes_back_in_seconds_not_after_the_visibility_timeout(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two UNAVAILABLE answers per receive (the SDK's own retry included) for two receives: the
    record is held back 1-2 s, then 2-4 s (domain/backoff.py), not the queue's 180 s, and the
    push goes out on the third receive."""
    held: list[float] = []
    bootstrap = harness.dispatch.module.bootstrap
    real_hold = bootstrap.hold_back_message

    def spy(queue_url: str, receipt_handle: str, seconds: float) -> None:
        held.append(seconds)
        real_hold(queue_url, receipt_handle, 0)  # visible again now: no test waits it out

    monkeypatch.setattr(bootstrap, "hold_back_message", spy)
    _two_devices(harness)
    harness.fcm.add_fault("UNAVAILABLE", match_token=PHONE, times=4)
    harness.post_event(_assigned())
    for _ in range(3):
        harness.drain(rounds=1)
    assert 1 <= held[0] <= 2
    assert 2 <= held[1] <= 4
    assert len(held) == 2
    assert [m["answer"]["status"] for m in harness.fcm.messages(token=PHONE)] == [503] * 4 + [200]
    assert _statuses(harness) == {"phone-1-8d3f1a6c2e": "sent", "browser-1-2a9e7c4d": "sent"}
    assert harness.queue_depth() == 0


def test_a_message_that_keeps_failing_lands_in_the_dlq(harness: Harness) -> None:
    harness.sqs.set_queue_attributes(
        QueueUrl=harness.queue_url, Attributes={"VisibilityTimeout": "0"}
    )
    redrive = harness.sqs.get_queue_attributes(
        QueueUrl=harness.queue_url, AttributeNames=["RedrivePolicy"]
    )["Attributes"]["RedrivePolicy"]
    harness.sqs.send_message(QueueUrl=harness.queue_url, MessageBody='{"kind": "nonsense"}')
    for _ in range(int(json.loads(redrive)["maxReceiveCount"]) + 1):
        harness.drain(rounds=1)
    assert harness.queue_depth() == 0
    dead = harness.sqs.receive_message(QueueUrl=harness.dlq_url)["Messages"]
    assert [m["Body"] for m in dead] == ['{"kind": "nonsense"}']


def test_poison_and_good_records_in_one_batch(harness: Harness) -> None:
    _two_devices(harness)
    good = json.dumps({"kind": "event", "event": _assigned()})
    result = harness.invoke_dispatch([good, "not json at all"])
    assert len(result["batchItemFailures"]) == 1
    assert len(harness.fcm.messages()) == 2


def test_in_flight_delivery_is_retried_not_sent(harness: Harness) -> None:
    _two_devices(harness)
    from datetime import UTC, datetime

    harness.table("DeliveriesTable").put_item(
        Item={
            "notification_id": _nid(),
            "sk": "d#asmith#phone-1-8d3f1a6c2e",
            "status": "sending",
            "claimed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
    )
    result = harness.invoke_dispatch([json.dumps({"kind": "event", "event": _assigned()})])
    assert len(result["batchItemFailures"]) == 1
    assert harness.fcm.messages(token=PHONE) == []
    assert len(harness.fcm.messages(token=BROWSER)) == 1


def test_state_only_events_are_marked_tracked_and_push_nothing(harness: Harness) -> None:
    _two_devices(harness)
    harness.post_event(sample_event("task_completed"))
    harness.drain()
    assert harness.fcm.messages() == []
    item = harness.table("EventsTable").get_item(Key={"event_id": "evt-sample-task-completed-0001"})
    assert item["Item"]["status"] == "tracked"


def test_event_nobody_is_to_hear_of_is_marked_so(harness: Harness) -> None:
    event = sample_event("document_available")
    event["data"]["audience"] = {"teams": ["nobody-here"]}
    harness.post_event(event)
    harness.drain()
    item = harness.table("EventsTable").get_item(Key={"event_id": event["id"]})
    assert item["Item"]["status"] == "no_recipients"


def test_long_instructions_are_cut_but_the_action_token_stays(harness: Harness) -> None:
    _two_devices(harness)
    harness.post_event(_assigned(instructions="Ä" * 3900, title="T" * 500))
    harness.drain()
    message = harness.fcm.messages(token=PHONE)[0]["message"]
    assert harness.fcm.messages(token=PHONE)[0]["answer"]["status"] == 200
    assert message["data"]["action_token"]
    assert message["data"]["body"].endswith("…")
    payload = {k: v for k, v in message.items() if k != "token"}
    assert len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()) <= 4096
