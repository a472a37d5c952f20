"""GET/PUT /me/preferences and GET /me/notifications through the Devices function."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.conftest import sample_event
from tests.integration.harness import Harness, Reply


def _me(
    h: Harness, method: str, path: str, user: str | None, body: Any = None, **query: str
) -> Reply:
    bearer = h.identity.mint_id_token(user) if user is not None else None
    return h.app_call(h.devices_fn, method, path, body, bearer=bearer, query=query)


def test_preferences_default_then_saved(harness: Harness) -> None:
    assert _me(harness, "GET", "/me/preferences", "asmith").body == {
        "muted_categories": [],
        "quiet_hours": None,
    }
    # Quiet hours that cannot contain the wall-clock time this test runs at (the push below
    # must go out now): they start six hours from now, in the user's zone.
    berlin = datetime.now(ZoneInfo("Europe/Berlin"))
    start, end = berlin + timedelta(hours=6), berlin + timedelta(hours=7)
    prefs = {
        "muted_categories": ["expiry"],
        "quiet_hours": {
            "start": start.strftime("%H:00"),
            "end": end.strftime("%H:00"),
            "timezone": "Europe/Berlin",
        },
    }
    assert _me(harness, "PUT", "/me/preferences", "asmith", prefs).status == 200
    assert _me(harness, "GET", "/me/preferences", "asmith").body == prefs
    assert _me(harness, "GET", "/me/preferences", "bjones").body["muted_categories"] == []
    # Preferences share the user's partition with devices but are never taken for a device.
    harness.register("asmith", "phone-1-8d3f1a6c2e", "fcm-token-asmith-0001")
    assert [d["installation_id"] for d in harness.devices_of("asmith")] == [
        "#preferences",
        "phone-1-8d3f1a6c2e",
    ]
    harness.post_event(sample_event("task_assigned"))
    harness.drain()
    assert len(harness.fcm.messages()) == 1


def test_preferences_are_validated_and_authenticated(harness: Harness) -> None:
    bad = {"quiet_hours": {"start": "7pm", "end": "07:00", "timezone": "Europe/Berlin"}}
    reply = _me(harness, "PUT", "/me/preferences", "asmith", bad)
    assert reply.status == 422
    assert reply.body["errors"][0]["path"] == "quiet_hours.start"
    assert _me(harness, "GET", "/me/preferences", None).status == 401


def test_history_newest_first_with_deliveries_and_replies(harness: Harness) -> None:
    harness.register("asmith", "phone-1-8d3f1a6c2e", "fcm-token-asmith-0001")
    for n in range(3):
        event = sample_event("task_assigned")
        event["id"] = f"evt-history-{n}"
        event["occurred_at"] = f"2026-11-28T10:0{n}:00Z"
        event["data"]["task"]["title"] = f"Task {n}"
        harness.post_event(event)
        harness.drain()
    first = _me(harness, "GET", "/me/notifications", "asmith", limit="2")
    assert first.status == 200
    titles = [n["title"] for n in first.body["notifications"]]
    assert titles == ["Approval needed: Task 2", "Approval needed: Task 1"]
    entry = first.body["notifications"][0]
    assert entry["deliveries"] == [
        {
            "installation_id": "phone-1-8d3f1a6c2e",
            "platform": "android",
            "status": "sent",
            "error_code": None,
            "updated_at": entry["deliveries"][0]["updated_at"],
            "received_at": None,
            "displayed_at": None,
            "opened_at": None,
            "dismissed_at": None,
        }
    ]
    assert entry["response"] is None
    second = _me(
        harness, "GET", "/me/notifications", "asmith", limit="2", cursor=first.body["next_cursor"]
    )
    assert [n["title"] for n in second.body["notifications"]] == ["Approval needed: Task 0"]
    assert entry["read"] is False
    assert first.body["unread"] == 3
    assert _me(harness, "GET", "/me/notifications", "bjones").body == {
        "notifications": [],
        "next_cursor": None,
        "unread": 0,
    }


def test_history_shows_the_reply(harness: Harness) -> None:
    harness.register("asmith", "phone-1-8d3f1a6c2e", "fcm-token-asmith-0001")
    harness.post_event(sample_event("task_assigned"))
    harness.drain()
    data = harness.fcm.messages(token="fcm-token-asmith-0001")[0]["message"]["data"]
    reply = harness.reply(
        {
            "action_token": data["action_token"],
            "action": "approve",
            "installation_id": "phone-1-8d3f1a6c2e",
        },
        bearer=harness.identity.mint_id_token("asmith"),
    )
    assert reply.status == 202
    harness.drain()
    entries = _me(harness, "GET", "/me/notifications", "asmith").body["notifications"]
    approval = next(e for e in entries if e["type"] == "task.assigned")
    assert approval["response"]["action"] == "approve"
    assert approval["response"]["status"] == "applied"
    assert any(e["type"] == "response.confirmed" for e in entries)


def test_bad_or_foreign_cursor_is_400(harness: Harness) -> None:
    harness.register("asmith", "phone-1-8d3f1a6c2e", "fcm-token-asmith-0001")
    for n in range(2):
        event = sample_event("task_assigned")
        event["id"] = f"evt-cursor-{n}"
        harness.post_event(event)
    harness.drain()
    page = _me(harness, "GET", "/me/notifications", "asmith", limit="1")
    cursor = page.body["next_cursor"]
    assert cursor
    assert _me(harness, "GET", "/me/notifications", "bjones", cursor=cursor).status == 400
    assert _me(harness, "GET", "/me/notifications", "asmith", cursor="garbage!").status == 400
    assert _me(harness, "GET", "/me/notifications", "asmith", limit="0").status == 422


def test_quiet_hours_longer_than_twelve_hours_are_refused_and_nothing_is_saved(
    harness: Harness,
) -> None:
    """Issue 20, finding 11d: 00:01 to 00:00 deferred every push by ~96 SQS hops."""
    endless = {"quiet_hours": {"start": "00:01", "end": "00:00", "timezone": "Europe/Berlin"}}
    reply = _me(harness, "PUT", "/me/preferences", "asmith", endless)
    assert reply.status == 422
    assert reply.body["errors"][0]["path"] == "quiet_hours.end"
    assert "at most 12 hours" in reply.body["errors"][0]["message"]
    assert harness.devices_of("asmith") == []  # no #preferences item
    night = {"quiet_hours": {"start": "20:00", "end": "08:00", "timezone": "Europe/Berlin"}}
    assert _me(harness, "PUT", "/me/preferences", "asmith", night).status == 200
