"""Flows 4, 5 and 6 end to end in-process: field teams, external stakeholders on approved
channels only, governance alerts by role; preferences (mutes, quiet hours, critical bypass)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import sample_event
from tests.integration.harness import Harness


def quiet_now() -> dict[str, str]:
    """Quiet hours the wall-clock time this test runs at falls into (an hour ago to eleven
    hours on: within the 12-hour bound, issue 20)."""
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=11)
    return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "timezone": "UTC"}


def _set_preferences(h: Harness, user: str, preferences: dict[str, Any]) -> None:
    h.table("DevicesTable").put_item(
        Item={"owner": user, "installation_id": "#preferences", "preferences": preferences}
    )


def _pushes(h: Harness, token: str) -> list[dict[str, str]]:
    return [m["message"]["data"] for m in h.fcm.messages(token=token)]


def _policy(h: Harness, sample: str, owner: str) -> dict[str, Any] | None:
    from ecmpush.domain.delivery.notifications import notification_id

    event = sample_event(sample)
    nid = notification_id(event["id"], event["type"])
    key = {"notification_id": nid, "sk": f"p#{owner}"}
    item: dict[str, Any] | None = h.table("DeliveriesTable").get_item(Key=key).get("Item")
    return item


def test_field_team_members_and_named_users_each_get_it_once(harness: Harness) -> None:
    for user in ("cwu", "dlee", "bjones"):  # field-north = cwu, dlee (devstack/routing.json)
        harness.register(user, f"{user}-phone-4b7e1c9a", f"fcm-{user}-0001")
    assert harness.post_event(sample_event("document_available")).status == 202
    harness.drain()
    for user in ("cwu", "dlee"):
        [data] = _pushes(harness, f"fcm-{user}-0001")
        assert data["type"] == "document.available"
        assert data["title"] == "New safety form: Lockout-tagout procedure rev. 7"
        assert data["deep_link"] == "https://app.test/documents/88001"
        assert data["category"] == "field"
        assert "action_token" not in data
    assert _pushes(harness, "fcm-bjones-0001") == []


def test_external_stakeholders_only_on_approved_channels_never_internal(harness: Harness) -> None:
    external = harness.identity.mint_id_token(None, external_id="cust-globex-001")
    for installation_id, platform in (("ext-ios-7d2b6e4a9c", "ios"), ("ext-web-7d2b6e4a9c", "web")):
        body = {
            "token": f"fcm-{installation_id.removesuffix('-7d2b6e4a9c')}-0001",
            "platform": platform,
            "audience": "external",
        }
        assert harness.device_call("PUT", installation_id, body, bearer=external).status == 201
    harness.register("asmith", "asmith-phone-4b7e1c9a", "fcm-asmith-0001")  # an internal device
    assert harness.post_event(sample_event("document_published")).status == 202
    harness.drain()
    [data] = _pushes(harness, "fcm-ext-ios-0001")  # ios is approved (devstack/routing.json)
    assert data["title"] == "New service report: Q4 service report"
    assert data["deep_link"] == "https://portal.example.com/docs/99001"
    assert set(data) == {
        "notification_id",
        "type",
        "title",
        "body",
        "deep_link",
        "category",
        "actions",
    }
    assert _pushes(harness, "fcm-ext-web-0001") == []  # web is not approved for externals
    assert _pushes(harness, "fcm-asmith-0001") == []


def test_critical_governance_alert_bypasses_quiet_hours_and_mutes_and_records_it(
    harness: Harness,
) -> None:
    for user in ("cwu", "dlee"):  # compliance officers; dlee is also the administrator
        harness.register(user, f"{user}-phone-4b7e1c9a", f"fcm-{user}-0001")
    _set_preferences(
        harness, "cwu", {"muted_categories": ["governance"], "quiet_hours": quiet_now()}
    )
    assert harness.post_event(sample_event("governance_alert")).status == 202
    harness.drain()
    for user in ("cwu", "dlee"):
        [data] = _pushes(harness, f"fcm-{user}-0001")
        assert (data["title"], data["severity"]) == ("Unauthorized access", "critical")
        assert "mallory" not in str(data)
    policy = _policy(harness, "governance_alert", "cwu")
    assert policy is not None
    assert (policy["outcome"], policy["detail"]) == ("bypassed", "muted,quiet_hours")


def test_quiet_hours_defer_a_warning_and_it_is_delivered_when_they_end(harness: Harness) -> None:
    harness.register("cwu", "cwu-phone-4b7e1c9a", "fcm-cwu-0001")
    _set_preferences(harness, "cwu", {"quiet_hours": quiet_now()})
    event = sample_event("governance_alert")
    event["data"]["severity"] = "warning"
    harness.post_event(event)
    harness.drain()
    assert _pushes(harness, "fcm-cwu-0001") == []
    policy = _policy(harness, "governance_alert", "cwu")
    assert policy is not None
    assert policy["outcome"] == "deferred"
    assert harness.queue_depth() == 1  # waiting on the queue, not dropped
    _set_preferences(harness, "cwu", {})  # the quiet period is over (as good as)
    deferred = harness.sqs.receive_message(QueueUrl=harness.queue_url, VisibilityTimeout=0)
    assert deferred.get("Messages") is None  # delayed: invisible until the hop ends
    harness.sqs.purge_queue(QueueUrl=harness.queue_url)


def test_muted_category_is_not_sent_but_recorded(harness: Harness) -> None:
    harness.register("cwu", "cwu-phone-4b7e1c9a", "fcm-cwu-0001")
    _set_preferences(harness, "cwu", {"muted_categories": ["field"]})
    harness.post_event(sample_event("document_available"))
    harness.drain()
    assert _pushes(harness, "fcm-cwu-0001") == []
    policy = _policy(harness, "document_available", "cwu")
    assert policy is not None
    assert policy["outcome"] == "muted"


def test_governance_personal_data_never_reaches_the_logs(
    harness: Harness, capsys: Any, caplog: Any
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    harness.register("cwu", "cwu-phone-4b7e1c9a", "fcm-cwu-0001")
    event = sample_event("governance_alert")
    event["data"]["actor"] = {"user_id": "actor-7f3a-secret"}
    event["data"]["details"] = {"ip_address": "203.0.113.77"}
    assert harness.post_event(event).status == 202
    harness.drain()
    assert _pushes(harness, "fcm-cwu-0001")  # it was processed and delivered
    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    assert "actor-7f3a-secret" not in logged
    assert "203.0.113.77" not in logged
