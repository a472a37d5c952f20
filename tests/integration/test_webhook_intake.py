"""POST /ecm/events through the real handler, moto and Powertools idempotency."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import boto3
import pytest

from devstack.api_router import proxy_event
from ecmpush.domain.intake.events import event_adapter
from ecmpush.entrypoints.webhook_signature import sign
from tests.conftest import SAMPLE_EVENT_NAMES, sample_event
from tests.integration.harness import WEBHOOK_SECRET, Harness, table_unreachable


def _queued(h: Harness) -> list[dict[str, Any]]:
    messages = h.sqs.receive_message(QueueUrl=h.queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


@pytest.mark.parametrize("name", SAMPLE_EVENT_NAMES)
def test_every_event_type_is_stored_and_enqueued(harness: Harness, name: str) -> None:
    event = sample_event(name)
    reply = harness.post_event(event)
    assert reply.status == 202
    assert reply.body == {"id": event["id"], "status": "accepted"}
    stored = harness.table("EventsTable").get_item(Key={"event_id": event["id"]})["Item"]
    assert stored["type"] == event["type"]
    assert event_adapter.validate_python(stored["event"]) == event_adapter.validate_python(event)
    assert stored["expires_at"] > time.time()
    queued = _queued(harness)
    assert [m["event"]["id"] for m in queued] == [event["id"]]
    assert queued[0]["kind"] == "event"


def test_resent_event_is_a_duplicate_and_enqueued_once(harness: Harness) -> None:
    event = sample_event("task_assigned")
    assert harness.post_event(event).status == 202
    again = harness.post_event(event)
    assert again.status == 200
    assert again.body == {"id": event["id"], "status": "duplicate"}
    assert harness.queue_depth() == 1


def test_idempotency_records_keep_the_names_earlier_releases_wrote(harness: Harness) -> None:
    """A deploy must still recognise events accepted before it: the records' keys are named
    after the guarded function, which refactors must not rename."""
    event = sample_event("task_assigned")
    assert harness.post_event(event).status == 202
    [record] = harness.table("IdempotencyTable").scan()["Items"]
    # Powertools' key: `<Lambda function name>.<module>.<qualname>#md5(json of the event id)`,
    # as written since the guarded function was `bootstrap.accept_event_once`'s inner `accept`
    # (outside Lambda the function name is Powertools' "test-func").
    digest = hashlib.md5(json.dumps(event["id"]).encode()).hexdigest()  # noqa: S324
    assert record["id"] == f"test-func.ecmpush.bootstrap.accept_event_once.<locals>.accept#{digest}"


def test_same_id_with_different_payload_is_a_conflict(harness: Harness) -> None:
    event = sample_event("task_assigned")
    assert harness.post_event(event).status == 202
    event["data"]["task"]["title"] = "Something else entirely"
    reply = harness.post_event(event)
    assert reply.status == 409
    assert reply.body["status"] == "conflict"
    assert harness.queue_depth() == 1


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("garbage", "malformed"),
        ("t=abc,v1=00", "malformed"),
        ("t=1", "needs t= and at least one v1="),
    ],
)
def test_bad_signature_headers_are_refused(
    harness: Harness, header: str | None, reason: str
) -> None:
    body = json.dumps(sample_event("task_assigned")).encode()
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Ecmpush-Signature"] = header
    reply = harness.post_raw(body, headers)
    assert reply.status == 401
    assert reason in reply.body["message"]
    assert harness.queue_depth() == 0


def test_wrong_secret_is_refused(harness: Harness) -> None:
    reply = harness.post_event(sample_event("task_assigned"), secret="not-the-secret")
    assert reply.status == 401
    assert harness.queue_depth() == 0
    assert "Item" not in harness.table("EventsTable").get_item(
        Key={"event_id": "evt-sample-task-assigned-0001"}
    )


@pytest.mark.parametrize("age", [310, -310])
def test_timestamp_outside_the_replay_window_is_refused(harness: Harness, age: int) -> None:
    reply = harness.post_event(sample_event("task_assigned"), timestamp=int(time.time()) - age)
    assert reply.status == 401
    assert "replay window" in reply.body["message"]


def test_previous_secret_still_passes_after_rotation(harness: Harness) -> None:
    # A warm container has cached the active set before the rotation.
    assert harness.post_event(sample_event("document_available")).status == 202
    client = boto3.client("secretsmanager")
    client.put_secret_value(SecretId="WebhookSecret", SecretString="the-new-secret")
    first = sample_event("task_assigned")
    assert harness.post_event(first, secret=WEBHOOK_SECRET).status == 202
    second = sample_event("task_completed")
    assert harness.post_event(second, secret="the-new-secret").status == 202


def test_wrong_secrets_rereads_secrets_manager_at_most_once_per_interval(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecmpush import bootstrap

    store = bootstrap.build_secret_store()
    original = store.active_values
    forced: list[bool] = []

    def counting(secret_id: str, force: bool = False) -> list[bytes]:
        forced.append(force)
        return original(secret_id, force)

    monkeypatch.setattr(store, "active_values", counting)
    for _ in range(5):
        assert harness.post_event(sample_event("task_assigned"), secret="forged").status == 401
    assert forced.count(True) == 1


def test_one_of_several_signatures_matching_passes(harness: Harness) -> None:
    body = json.dumps(sample_event("task_assigned")).encode()
    now = int(time.time())
    good = sign(WEBHOOK_SECRET.encode(), now, body).split(",")[1]
    header = f"t={now},v1={'0' * 64},{good}"
    reply = harness.post_raw(
        body, {"Content-Type": "application/json", "X-Ecmpush-Signature": header}
    )
    assert reply.status == 202


def test_oversize_body_is_413_before_anything_else(harness: Harness) -> None:
    body = b'{"pad":"' + b"x" * (256 * 1024) + b'"}'
    reply = harness.post_raw(body, {"Content-Type": "application/json"})
    assert reply.status == 413
    assert harness.queue_depth() == 0


def test_wrong_content_type_is_415(harness: Harness) -> None:
    reply = harness.post_event(sample_event("task_assigned"), content_type="text/plain")
    assert reply.status == 415


def test_content_type_with_charset_is_accepted(harness: Harness) -> None:
    reply = harness.post_event(
        sample_event("task_assigned"), content_type="application/json; charset=utf-8"
    )
    assert reply.status == 202


def test_signed_non_json_is_400(harness: Harness) -> None:
    reply = harness.post_event(b"{not json")
    assert reply.status == 400
    assert "not valid JSON" in reply.body["message"]


def test_schema_errors_are_422_with_field_paths(harness: Harness) -> None:
    event = sample_event("task_assigned")
    del event["data"]["assignee"]
    event["data"]["task"]["due_at"] = "tomorrow"
    event["data"]["task"]["stage"] = "vote"
    reply = harness.post_event(event)
    assert reply.status == 422
    paths = {error["path"] for error in reply.body["errors"]}
    assert {"data.assignee", "data.task.due_at", "data.task.stage"} <= paths
    assert harness.queue_depth() == 0


def test_timestamps_without_offset_are_422(harness: Harness) -> None:
    event = sample_event("task_assigned")
    event["occurred_at"] = "2026-11-28T10:00:00"
    reply = harness.post_event(event)
    assert reply.status == 422
    assert reply.body["errors"][0]["path"] == "occurred_at"


def test_unknown_type_is_422(harness: Harness) -> None:
    event = sample_event("task_assigned")
    event["type"] = "task.exploded"
    reply = harness.post_event(event)
    assert reply.status == 422
    assert reply.body["errors"] == [{"path": "type", "message": reply.body["errors"][0]["message"]}]
    assert "task.assigned" in reply.body["errors"][0]["message"]


def test_unknown_fields_are_refused(harness: Harness) -> None:
    event = sample_event("task_assigned")
    event["data"]["assignee"]["password"] = "hunter2"
    reply = harness.post_event(event)
    assert reply.status == 422
    assert reply.body["errors"][0]["path"] == "data.assignee.password"


def test_batch_is_answered_item_by_item(harness: Harness) -> None:
    good = sample_event("task_assigned")
    bad = sample_event("task_completed")
    del bad["data"]["task"]
    reply = harness.post_event({"events": [good, bad, good]})
    assert reply.status == 207
    statuses = [(r["id"], r["status"]) for r in reply.body["results"]]
    assert statuses == [
        (good["id"], "accepted"),
        (bad["id"], "invalid"),
        (good["id"], "duplicate"),
    ]
    assert reply.body["results"][1]["errors"][0]["path"] == "data.task"
    assert harness.queue_depth() == 1


def test_batch_of_more_than_50_is_refused_whole(harness: Harness) -> None:
    events = []
    for i in range(51):
        event = sample_event("task_completed")
        event["id"] = f"evt-{i}"
        events.append(event)
    reply = harness.post_event({"events": events})
    assert reply.status == 422
    assert reply.body["errors"][0]["path"] == "events"
    assert harness.queue_depth() == 0


def test_base64_encoded_body_is_verified_on_its_bytes(harness: Harness) -> None:
    body = json.dumps(sample_event("task_assigned")).encode()
    signature = sign(WEBHOOK_SECRET.encode(), int(time.time()), body)
    event = proxy_event(
        "POST",
        "/ecm/events",
        "/ecm/events",
        headers={"Content-Type": ["application/json"], "X-Ecmpush-Signature": [signature]},
    )
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    result = harness.webhook.invoke(event)
    assert result["statusCode"] == 202
    event["body"] = event["body"][:-2] + "!!"  # API Gateway says base64; it is not
    refused = harness.webhook.invoke(event)
    assert refused["statusCode"] == 400
    assert json.loads(refused["body"])["message"] == "body is not valid base64"
    assert harness.queue_depth() == 1  # only the first


def test_enqueue_failure_loses_nothing_and_the_retry_enqueues_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    from ecmpush.adapters.sqs_publisher import SqsPublisher

    original = SqsPublisher.publish
    failures = iter([EndpointConnectionError(endpoint_url="https://sqs")])

    def flaky(self: SqsPublisher, message: Any) -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return original(self, message)

    monkeypatch.setattr(SqsPublisher, "publish", flaky)
    event = sample_event("task_assigned")
    first = harness.post_event(event)
    assert first.status == 503
    assert first.headers["Retry-After"] == "5"
    assert harness.queue_depth() == 0

    retry = harness.post_event(event)  # ECM retries: accepted now, not "duplicate"
    assert retry.status == 202
    assert retry.body["status"] == "accepted"
    assert [m["event"]["id"] for m in _queued(harness)] == [event["id"]]
    assert harness.post_event(event).body["status"] == "duplicate"


def test_idempotency_store_outage_is_503_and_nothing_is_enqueued(harness: Harness) -> None:
    with table_unreachable("IdempotencyTable"):
        reply = harness.post_event(sample_event("task_assigned"))
    assert reply.status == 503
    assert reply.body["status"] == "unavailable"
    assert harness.queue_depth() == 0


def test_on_lambda_the_records_prefix_is_powertools_default_for_the_old_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deployed, Powertools' default prefix starts with the function's name: `key_prefix`
    must reproduce it, or every accepted event would be forgotten by the deploy."""
    from ecmpush.adapters.idempotent_acceptance import idempotency_key_prefix

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ecmpush-WebhookIntakeFunction-AbC")
    assert idempotency_key_prefix() == (
        "ecmpush-WebhookIntakeFunction-AbC.ecmpush.bootstrap.accept_event_once.<locals>.accept"
    )
