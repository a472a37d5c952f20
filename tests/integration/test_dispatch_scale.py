"""Dispatch at scale through the real handler: rosters kept in step with the devices, delivery
batches sent once each however often SQS delivers them, the deadline keeping an invocation
from being killed half-way, and the AWS round trips of a typical push."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import botocore.client
import pytest

from devstack.lambda_runtime import InvocationTimedOut, LocalFunction
from ecmpush import bootstrap
from ecmpush.bootstrap.parts import firebase_app
from ecmpush.domain.delivery.notifications import notification_id
from ecmpush.services import delivery
from ecmpush.settings import settings
from tests.conftest import sample_event
from tests.integration.harness import Harness

PHONE = "asmith-phone-7Kq2xR9m"  # installation ids of enough entropy (issue 9)
BROWSER = "asmith-web-3Vt8nL5p"
SECOND_PHONE = "asmith-phone-Jw4cZ6hY"


def _tokens(harness: Harness) -> list[str]:
    return [m["target"] for m in harness.fcm.messages()]


def _crowd(harness: Harness, count: int) -> list[str]:
    users = [f"fieldworker{n:02}" for n in range(count)]
    for n, user in enumerate(users):
        harness.register(user, f"{user}-phone-4f9a2c7e", f"fcm-token-{user}-{n:04}")
    return users


def _bulletin(users: list[str], event_id: str = "evt-scale-1") -> dict[str, Any]:
    event = sample_event("document_available")
    event["id"] = event_id
    event["data"]["audience"] = {"users": [{"user_id": u} for u in users]}
    return event


def _firebase_app() -> Any:
    """The container's sending App (firebase-admin keeps one per configuration)."""
    return firebase_app(settings(), bootstrap.build_secret_store)


def _settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()


def test_the_roster_follows_every_registration_change(harness: Harness) -> None:
    harness.register("asmith", PHONE, "fcm-token-asmith-phone-0001")
    harness.register("asmith", BROWSER, "fcm-token-asmith-browser-001", "web")
    roster = harness.roster_of("asmith")
    assert roster is not None
    assert {i: d["token"] for i, d in roster.items()} == {
        PHONE: "fcm-token-asmith-phone-0001",
        BROWSER: "fcm-token-asmith-browser-001",
    }
    harness.register("asmith", PHONE, "fcm-token-asmith-phone-0002")  # a refreshed token
    assert (
        harness.device_call(
            "DELETE", BROWSER, bearer=harness.identity.mint_id_token("asmith")
        ).status
        == 204
    )
    roster = harness.roster_of("asmith")
    assert roster is not None
    assert {i: d["token"] for i, d in roster.items()} == {PHONE: "fcm-token-asmith-phone-0002"}
    # FCM says the token is dead: the device and its roster entry go together.
    harness.fcm.add_fault("UNREGISTERED", match_token="fcm-token-asmith-phone-0002")
    assert harness.post_event(sample_event("task_assigned")).status == 202
    harness.drain()
    assert harness.devices_of("asmith") == []
    assert harness.roster_of("asmith") == {}


def test_a_device_stored_before_rosters_existed_is_still_reached_then_joins_one(
    harness: Harness,
) -> None:
    harness.table("DevicesTable").put_item(
        Item={
            "owner": "asmith",
            "installation_id": "asmith-legacy-8a2F",
            "token": "fcm-token-asmith-legacy-001",
            "platform": "android",
            "audience": "internal",
            "created_at": "2026-10-01T08:00:00Z",
            "updated_at": "2026-11-20T08:00:00Z",
        }
    )
    assert harness.roster_of("asmith") is None
    assert harness.post_event(sample_event("task_assigned")).status == 202
    harness.drain()
    assert _tokens(harness) == ["fcm-token-asmith-legacy-001"]
    harness.register("asmith", SECOND_PHONE, "fcm-token-asmith-phone-0002")
    roster = harness.roster_of("asmith")
    assert roster is not None
    assert sorted(roster) == sorted(
        ["asmith-legacy-8a2F", SECOND_PHONE]
    )  # built from every device there is


def test_a_member_without_devices_costs_a_query_once_then_registers_as_usual(
    harness: Harness,
) -> None:
    users = _crowd(harness, 2)
    event = _bulletin([*users, "nodevice01", "nodevice02"])
    assert harness.post_event(event).status == 202
    harness.drain()
    assert harness.roster_of("nodevice01") == {}  # sealed: nobody's phone is missed later
    real_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
    queries: list[str] = []

    def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "Query" and params.get("TableName", "").endswith("DevicesTable"):
            queries.append(str(params))
        return real_call(client, operation, params)

    with patch.object(botocore.client.BaseClient, "_make_api_call", counting):
        again = _bulletin([*users, "nodevice01", "nodevice02"], event_id="evt-scale-2")
        assert harness.post_event(again).status == 202
        harness.drain()
    assert queries == []  # every roster read in one BatchGetItem, none by Query
    harness.register("nodevice01", "nodevice01-phone-4f9a2c7e", "fcm-token-nodevice01")
    assert list(harness.roster_of("nodevice01") or {}) == ["nodevice01-phone-4f9a2c7e"]
    harness.fcm.reset()
    assert harness.post_event(_bulletin(["nodevice01"], event_id="evt-scale-3")).status == 202
    harness.drain()
    assert _tokens(harness) == ["fcm-token-nodevice01"]


def test_an_audience_beyond_one_batch_is_sent_in_batches_each_device_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = _crowd(harness, 7)
    _settings(monkeypatch, ECMPUSH_DELIVERY_BATCH_SIZE="3")
    event_body = json.dumps({"kind": "event", "event": _bulletin(users)})
    harness.invoke_dispatch([event_body])
    assert harness.fcm.messages() == []  # the event's invocation only queued the batches
    batches = harness.sqs.receive_message(
        QueueUrl=harness.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
    )["Messages"]
    recipients = [json.loads(m["Body"])["notification"]["recipients"] for m in batches]
    assert sorted(len(r) for r in recipients) == [1, 3, 3]
    assert sorted(u for r in recipients for u in r) == sorted(users)
    harness.drain()
    assert sorted(_tokens(harness)) == sorted(f"fcm-token-{u}-{n:04}" for n, u in enumerate(users))
    # SQS delivers at least once: every batch again sends nothing more.
    harness.invoke_dispatch([m["Body"] for m in batches])
    assert len(_tokens(harness)) == len(users)
    nid = notification_id("evt-scale-1", "document.available")
    assert {d["status"] for d in harness.deliveries(nid)} == {"sent"}


def test_near_its_timeout_dispatch_stops_sending_and_the_rest_goes_out_once_later(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = _crowd(harness, 30)
    # Two pushes per send, each answered after 0.8 s: all of them would take 12 s, past the
    # 12 s timeout once the reserve is kept back: a whole send (2 x 2 s + 0.5 s) + 3 s
    # (recording). That leaves 4.5 s to start sends in, slack enough for a loaded machine.
    _settings(monkeypatch, ECMPUSH_FCM_CHUNK_SIZE="2", ECMPUSH_FCM_TIMEOUT_SECONDS="2")
    harness.dispatch = LocalFunction(harness.dispatch.spec, timeout_s=12.0)
    harness.sqs.set_queue_attributes(
        QueueUrl=harness.queue_url, Attributes={"VisibilityTimeout": "0"}
    )
    # The record to retry is back after a backoff of a second or two: here at once.
    bootstrap = harness.dispatch.module.bootstrap
    hold = bootstrap.hold_back_message
    monkeypatch.setattr(bootstrap, "hold_back_message", lambda url, handle, _: hold(url, handle, 0))
    harness.fcm.add_fault(latency_ms=800)
    result = harness.invoke_dispatch([json.dumps({"kind": "event", "event": _bulletin(users)})])
    assert len(result["batchItemFailures"]) == 1  # answered in time, the record to retry
    nid = notification_id("evt-scale-1", "document.available")
    first = harness.deliveries(nid)
    assert 0 < len(first) < len(users)
    assert {d["status"] for d in first} == {"sent"}  # nothing left claimed but unanswered
    assert len(_tokens(harness)) == len(first)
    harness.fcm.reset()
    harness.drain()
    tokens = _tokens(harness)
    assert len(tokens) == len(set(tokens)) == len(users) - len(first)
    assert len(harness.deliveries(nid)) == len(users)


@contextmanager
def _round_trips(latency_s: float) -> Iterator[list[list[str]]]:
    """Every AWS call made while active, grouped into waves: calls that overlap in time form one
    wave, so the number of waves is the number of round trips one after another. Each call is
    slowed by `latency_s`, so calls started together overlap however the threads are scheduled."""
    real_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
    waves: list[list[str]] = []
    lock = threading.Lock()
    in_flight = 0

    def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        nonlocal in_flight
        with lock:
            if in_flight == 0:
                waves.append([])
            in_flight += 1
            waves[-1].append(operation)
        try:
            time.sleep(latency_s)
            return real_call(client, operation, params)
        finally:
            with lock:
                in_flight -= 1

    with patch.object(botocore.client.BaseClient, "_make_api_call", call):
        yield waves


def test_a_task_for_one_user_with_two_devices_costs_four_sequential_aws_round_trips(
    harness: Harness,
) -> None:
    harness.register("asmith", PHONE, "fcm-token-asmith-phone-0001")
    harness.register("asmith", BROWSER, "fcm-token-asmith-browser-001", "web")
    body = json.dumps({"kind": "event", "event": sample_event("task_assigned")})
    harness.sqs.send_message(QueueUrl=harness.queue_url, MessageBody=body)
    [received] = harness.sqs.receive_message(QueueUrl=harness.queue_url)["Messages"]
    event = {"Records": [harness.poller()._record(received)]}
    bootstrap.build_dispatch()  # a warm container: clients made, secrets cached
    bootstrap.build_secret_store().text(settings().action_token_secret_id)
    with _round_trips(latency_s=0.15) as waves:
        result = harness.dispatch.invoke(event)
    assert result == {"batchItemFailures": []}
    assert sorted(_tokens(harness)) == [
        "fcm-token-asmith-browser-001",
        "fcm-token-asmith-phone-0001",
    ]
    assert len(waves) <= 4, waves
    assert sum(len(w) for w in waves) >= 5  # open task, save, read, claim, record, mark


def test_quota_exceeded_with_retry_after_holds_every_batch_and_loses_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = _crowd(harness, 6)
    _settings(monkeypatch, ECMPUSH_DELIVERY_BATCH_SIZE="2")
    harness.sqs.set_queue_attributes(
        QueueUrl=harness.queue_url, Attributes={"VisibilityTimeout": "0"}
    )
    harness.fcm.add_fault("QUOTA_EXCEEDED", times=1, retry_after=2)  # the first push sent
    assert harness.post_event(_bulletin(users)).status == 202
    harness.drain()
    nid = notification_id("evt-scale-1", "document.available")
    statuses = sorted(d["status"] for d in harness.deliveries(nid))
    assert statuses == ["retrying", "sent"]  # the first batch; the other two never claimed
    pause = harness.table("DeliveriesTable").get_item(
        Key={"notification_id": "#fcm", "sk": "#pause"}
    )
    assert "Item" in pause  # every container holds off until then
    assert harness.queue_depth() == 3  # three batches waiting, none lost
    time.sleep(2.2)
    harness.drain()
    assert {d["status"] for d in harness.deliveries(nid)} == {"sent"}
    assert len(harness.deliveries(nid)) == len(users)
    delivered = [m["target"] for m in harness.fcm.messages() if m["answer"]["status"] == 200]
    assert sorted(delivered) == sorted(f"fcm-token-{u}-{n:04}" for n, u in enumerate(users))


def test_a_failing_token_endpoint_claims_nothing_and_the_batch_goes_out_once_later(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The OAuth token is fetched before any claim: were it fetched inside the send (as the
    SDK would), a slow token endpoint could outlast the deadline with claims taken."""
    users = _crowd(harness, 3)
    monkeypatch.setattr(delivery, "CREDENTIALS_RETRY_SECONDS", 1.0)
    credential = _firebase_app().credential.get_credential()
    credential.token, credential.expiry = None, None  # a cold container: no token yet
    asked_before = harness.fcm.standin.token_requests
    harness.fcm.standin.fail_token_requests(3)  # google-auth's three attempts all fail
    assert harness.post_event(_bulletin(users)).status == 202
    harness.drain(rounds=1)
    assert harness.fcm.standin.token_requests - asked_before == 3
    assert harness.fcm.messages() == []
    nid = notification_id("evt-scale-1", "document.available")
    assert harness.deliveries(nid) == []  # no claim taken, none to wait out
    time.sleep(1.2)
    harness.drain()
    tokens = _tokens(harness)
    assert sorted(tokens) == sorted(f"fcm-token-{u}-{n:04}" for n, u in enumerate(users))
    assert {d["status"] for d in harness.deliveries(nid)} == {"sent"}


def test_an_invocation_killed_while_fetching_credentials_leaves_no_claim_and_no_duplicate(
    harness: Harness,
) -> None:
    """Lambda kills an invocation at its Timeout wherever it is. Fetching the FCM token happens
    before anything is claimed, so a kill there strands nothing: the retry sends each device
    exactly once, without waiting out any lease."""
    users = _crowd(harness, 3)
    credential = _firebase_app().credential.get_credential()
    credential.token, credential.expiry = None, None  # a cold container: no token yet
    harness.fcm.standin.slow_token_requests(1, 4.0)  # longer than the 2 s timeout below
    harness.dispatch = LocalFunction(harness.dispatch.spec, timeout_s=2.0)
    harness.sqs.set_queue_attributes(
        QueueUrl=harness.queue_url, Attributes={"VisibilityTimeout": "0"}
    )
    with pytest.raises(InvocationTimedOut):
        harness.invoke_dispatch([json.dumps({"kind": "event", "event": _bulletin(users)})])
    nid = notification_id("evt-scale-1", "document.available")
    assert harness.deliveries(nid) == []  # killed before any claim
    assert harness.fcm.messages() == []
    time.sleep(4.2)  # the slow token answer arrives meanwhile, on the pool's thread
    harness.dispatch = LocalFunction(harness.dispatch.spec)
    harness.drain()
    tokens = _tokens(harness)
    assert sorted(tokens) == sorted(f"fcm-token-{u}-{n:04}" for n, u in enumerate(users))
    assert {d["status"] for d in harness.deliveries(nid)} == {"sent"}
