"""What the webhook accepts is always deliverable (contract §1; issue 20 findings 4, 6, 11a): a
body in UTF-8 without a BOM, event times in years 2000 to 2100, links https on the operator's
hosts. Anything else is refused whole for that event (400 / 422 with the field), and nothing
of it is stored in EventsTable or queued for Dispatch."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import sample_event
from tests.integration.harness import Harness


def _stored(h: Harness, event_id: str) -> bool:
    return "Item" in h.table("EventsTable").get_item(Key={"event_id": event_id})


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_other_encodings_are_400_and_nothing_is_kept(harness: Harness, codec: str) -> None:
    event = sample_event("task_assigned")
    reply = harness.post_event(json.dumps(event).encode(codec))
    assert reply.status == 400, reply
    assert "UTF-8" in reply.body["message"]
    assert harness.queue_depth() == 0
    assert not _stored(harness, event["id"])


def test_the_same_event_in_plain_utf8_is_accepted(harness: Harness) -> None:
    event: dict[str, Any] = sample_event("task_assigned")
    assert harness.post_event(json.dumps(event, ensure_ascii=False).encode()).status == 202
    assert harness.queue_depth() == 1


# --- finding 6: event times in years 2000 to 2100 ------------------------------------------------

OUT_OF_RANGE = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z"]


def _with(name: str, path: str, value: str) -> dict[str, Any]:
    event: dict[str, Any] = sample_event(name)
    event["id"] = f"evt-bounds-{name}-{value[:10]}"
    node: dict[str, Any] = event
    *parents, leaf = path.split(".")
    for key in parents:
        node = node[key]
    node[leaf] = value
    return event


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("task_assigned", "data.task.due_at"),
        ("record_expiry_scheduled", "data.record.expires_at"),
        ("governance_alert", "occurred_at"),
    ],
)
def test_event_times_outside_2000_to_2100_are_422_with_the_field(
    harness: Harness, name: str, path: str, value: str
) -> None:
    event = _with(name, path, value)
    reply = harness.post_event(event)
    assert reply.status == 422, reply
    assert [e["path"] for e in reply.body["errors"]] == [path]
    assert "2000 to 2100" in reply.body["errors"][0]["message"]
    assert harness.queue_depth() == 0
    assert not _stored(harness, event["id"])


def test_in_a_batch_only_the_event_with_the_odd_time_is_refused(harness: Harness) -> None:
    odd = _with("task_assigned", "data.task.due_at", "9999-12-31T23:59:59Z")
    good = _with("task_assigned", "data.task.due_at", "2100-12-31T23:59:59Z")
    reply = harness.post_event({"events": [odd, good]})
    assert reply.status == 207
    assert [r["status"] for r in reply.body["results"]] == ["invalid", "accepted"]
    assert reply.body["results"][0]["errors"][0]["path"] == "data.task.due_at"
    assert harness.queue_depth() == 1
    assert not _stored(harness, odd["id"])


def test_a_queued_push_with_an_odd_due_time_still_reaches_everyone_who_can_show_it(
    harness: Harness,
) -> None:
    """Bypassing intake (queued before the bound, or by hand): the device in a zone where year
    9999 overflows is failed and recorded, the message completes, the others get their push."""
    from ecmpush.domain.delivery.messages import NotificationMessage
    from ecmpush.domain.delivery.notifications import Notification
    from ecmpush.domain.ecm.task_ref import TaskRef

    harness.register(
        "asmith", "phone-utc-8d3f1a6c2e", "fcm-token-asmith-utc-000001", timezone="UTC"
    )
    harness.register(
        "asmith", "browser-tokyo-2a9e7c4d", "fcm-token-asmith-tokyo-00002", "web",
        timezone="Asia/Tokyo",
    )  # fmt: skip
    harness.register("bjones", "phone-bj-5c1e9a7f3b", "fcm-token-bjones-00000000003")
    due = "9999-12-31T23:59:59+00:00"
    notification = Notification(
        id="n-odd-due-0001",
        type="sla.reminder",
        category="sla",
        source_id="sweep-odd",
        recipients=["asmith", "bjones"],
        template="task.assigned.approval",
        params={"task_title": "Sign the contract", "due_at": due},
        deep_link="https://app.test/tasks/1/2/3?n=n-odd-due-0001",
        actions=["approve", "reject"],
        apns_category="ECM_APPROVAL",
        due_at=due,
        task=TaskRef(process_id="1", subprocess_id="2", task_id="3"),
        created_at="2026-11-28T10:00:00Z",
    )
    body = NotificationMessage(notification=notification).model_dump_json()
    # The record is not failed: it is deleted, never retried towards the DLQ.
    assert harness.invoke_dispatch([body]) == {"batchItemFailures": []}
    assert len(harness.fcm.messages(token="fcm-token-asmith-utc-000001")) == 1
    assert len(harness.fcm.messages(token="fcm-token-bjones-00000000003")) == 1
    assert harness.fcm.messages(token="fcm-token-asmith-tokyo-00002") == []
    deliveries = {d["installation_id"]: d for d in harness.deliveries("n-odd-due-0001")}
    assert {k: v["status"] for k, v in deliveries.items()} == {
        "phone-utc-8d3f1a6c2e": "sent",
        "browser-tokyo-2a9e7c4d": "failed",
        "phone-bj-5c1e9a7f3b": "sent",
    }
    assert deliveries["browser-tokyo-2a9e7c4d"]["error_code"] == "RENDER_FAILED"


# --- finding 4: links are https on the operator's hosts ------------------------------------------

FOREIGN_LINKS = [
    "http://pay-acme.evil.example/login",
    "https://evil.example/reset",
    "https://app.test@evil.example/",
    "http://portal.example.com/docs/99001",
    "https://portal.example.com.evil.example/",
]


@pytest.mark.parametrize("url", FOREIGN_LINKS)
@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("document_published", "data.document.url"),
        ("governance_alert", "data.node.url"),
        ("record_expiry_scheduled", "data.record.url"),
    ],
)
def test_event_links_off_the_listed_hosts_are_422_and_nothing_is_kept(
    harness: Harness, name: str, path: str, url: str
) -> None:
    event = _with(name, path, url)
    event["id"] = f"evt-link-{name}"
    reply = harness.post_event(event)
    assert reply.status == 422, reply
    assert [e["path"] for e in reply.body["errors"]] == [path]
    assert harness.queue_depth() == 0
    assert not _stored(harness, event["id"])


@pytest.mark.parametrize(
    "url",
    [
        "https://app.test/documents/99001",  # AppBaseUrl's host
        "https://portal.example.com/docs/99001",  # LinkHosts
        "https://PORTAL.example.com/docs/99001",
    ],
)
def test_links_on_listed_hosts_are_accepted_and_pushed(harness: Harness, url: str) -> None:
    harness.register("cwu", "phone-cwu-4b8e2f6a1d", "fcm-token-cwu-web-000000001", "web")
    event = _with("governance_alert", "data.node.url", url)
    assert harness.post_event(event).status == 202
    harness.drain()
    [sent] = harness.fcm.messages(token="fcm-token-cwu-web-000000001")
    assert sent["message"]["data"]["deep_link"] == url
    assert sent["message"]["webpush"]["fcm_options"]["link"] == url


@pytest.mark.parametrize("url", FOREIGN_LINKS)
def test_a_queued_critical_alert_with_a_foreign_link_is_pushed_with_the_apps_own(
    harness: Harness, url: str
) -> None:
    """Bypassing intake (accepted before the rule, or queued by hand): the critical alert,
    which passes mutes and quiet hours, still carries no foreign link in any field."""
    from ecmpush.domain.delivery.messages import EventMessage
    from ecmpush.domain.intake.events import event_adapter

    harness.register("cwu", "phone-cwu-4b8e2f6a1d", "fcm-token-cwu-web-000000001", "web")
    event = event_adapter.validate_python(_with("governance_alert", "data.node.url", url))
    body = EventMessage(event=event).model_dump_json()
    assert harness.invoke_dispatch([body]) == {"batchItemFailures": []}
    [sent] = harness.fcm.messages(token="fcm-token-cwu-web-000000001")
    assert sent["message"]["data"]["severity"] == "critical"
    assert sent["message"]["data"]["deep_link"] == "https://app.test/documents/55001"
    assert sent["message"]["webpush"]["fcm_options"]["link"] == "https://app.test/documents/55001"
    assert "evil" not in json.dumps(sent)
