"""POST /me/receipts and the read marks through the Devices function, against moto: receipts
land on the caller's delivery item (the first of each kind), show in the inbox, and every
hostile request (another user's installation, unknown ids, future times, 10,000 receipts, a
malformed entry) is refused with DeliveriesTable unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ecmpush.domain.delivery.notifications import notification_id
from ecmpush.domain.delivery.receipts import MAX_RECEIPTS
from ecmpush_ops.timeline import build, read_collection, render
from tests.conftest import sample_event
from tests.integration.harness import Harness, Reply

PHONE = "phone-1-8d3f1a6c2e"
OTHER_PHONE = "phone-2-7c1e9b3d5f"


def _call(h: Harness, method: str, path: str, user: str, body: Any = None) -> Reply:
    return h.app_call(h.devices_fn, method, path, body, bearer=h.identity.mint_id_token(user))


def _receipts(h: Harness, user: str, *receipts: dict[str, Any]) -> Reply:
    return _call(h, "POST", "/me/receipts", user, {"receipts": list(receipts)})


def _sent(h: Harness) -> str:
    """asmith's phone gets a task.assigned push; bjones has a phone too. The notification id."""
    h.register("asmith", PHONE, "fcm-token-asmith-0001")
    h.register("bjones", OTHER_PHONE, "fcm-token-bjones-0001")
    h.post_event(sample_event("task_assigned"))
    h.drain()
    data = h.fcm.messages(token="fcm-token-asmith-0001")[0]["message"]["data"]
    return str(data["notification_id"])


def _now(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


def _receipt(nid: str, event: str, at: str | None = None, installation_id: str = PHONE) -> Any:
    return {
        "notification_id": nid,
        "installation_id": installation_id,
        "event": event,
        "at": at or _now(),
    }


def _table(h: Harness) -> list[dict[str, Any]]:
    items = h.table("DeliveriesTable").scan(ConsistentRead=True)["Items"]
    return sorted((dict(i) for i in items), key=lambda i: (i["notification_id"], i["sk"]))


def test_receipts_are_kept_once_and_shown_in_the_inbox(harness: Harness) -> None:
    nid = _sent(harness)
    displayed = _now(timedelta(seconds=-1))
    reply = _receipts(
        harness,
        "asmith",
        _receipt(nid, "received"),
        _receipt(nid, "displayed", displayed),
        _receipt(nid, "opened"),
    )
    assert reply.status == 200, reply
    assert reply.body["results"] == ["recorded", "recorded", "recorded"]
    [delivery] = [d for d in harness.deliveries(nid) if d["owner"] == "asmith"]
    assert delivery["displayed_at"] == displayed
    assert {"received_at", "opened_at"} <= set(delivery)
    before = _table(harness)
    again = _receipts(harness, "asmith", _receipt(nid, "displayed"), _receipt(nid, "dismissed"))
    assert again.body["results"] == ["unchanged", "recorded"]
    after = _table(harness)
    changed = [a for b, a in zip(before, after, strict=True) if a != b]
    assert [set(a) - set(delivery) for a in changed] == [{"dismissed_at"}]
    assert changed[0]["displayed_at"] == displayed  # the first report stays
    inbox = _call(harness, "GET", "/me/notifications", "asmith").body
    [entry] = [e for e in inbox["notifications"] if e["notification_id"] == nid]
    assert entry["deliveries"][0]["displayed_at"] == displayed
    assert entry["deliveries"][0]["dismissed_at"] is not None
    assert entry["read"] is False  # opening does not mark it read (docs/design/receipts.md)


def test_read_marks_one_and_all_and_only_the_callers(harness: Harness) -> None:
    nid = _sent(harness)
    for n in range(2):
        event = sample_event("task_assigned")
        event["id"] = f"evt-read-{n}"
        harness.post_event(event)
    harness.drain()
    assert _call(harness, "GET", "/me/notifications", "asmith").body["unread"] == 3
    assert _call(harness, "POST", f"/me/notifications/{nid}/read", "bjones").status == 404
    marked = _call(harness, "POST", f"/me/notifications/{nid}/read", "asmith")
    assert marked.status == 200
    again = _call(harness, "POST", f"/me/notifications/{nid}/read", "asmith")
    assert again.body["read_at"] == marked.body["read_at"]
    inbox = _call(harness, "GET", "/me/notifications", "asmith").body
    assert inbox["unread"] == 2
    assert [e["read"] for e in inbox["notifications"] if e["notification_id"] == nid] == [True]
    assert _call(harness, "POST", "/me/notifications/read", "asmith").body == {
        "marked": 2,
        "more": False,
    }
    assert _call(harness, "GET", "/me/notifications", "asmith").body["unread"] == 0
    assert _call(harness, "POST", "/me/notifications/not-an-id/read", "asmith").status == 422


def test_hostile_receipts_write_nothing(harness: Harness) -> None:
    nid = _sent(harness)
    before = _table(harness)
    unknown = notification_id("evt-never-sent", "task.assigned")
    # Another user's installation, the caller's id on another user's push, unknown ids.
    reply = _receipts(
        harness,
        "asmith",
        _receipt(nid, "opened", installation_id=OTHER_PHONE),
        _receipt(unknown, "opened"),
        _receipt(nid, "opened", installation_id="phone-9-never-registered"),
    )
    assert reply.status == 200
    assert reply.body["results"] == ["unknown_delivery"] * 3
    assert _receipts(harness, "bjones", _receipt(nid, "opened")).body["results"] == [
        "unknown_delivery"
    ]
    # Before the send (beyond the clock skew): refused per receipt.
    early = _receipts(harness, "asmith", _receipt(nid, "received", _now(timedelta(hours=-1))))
    assert early.body["results"] == ["before_send"]
    # In the future: the whole request, even with a good receipt in it.
    future = _receipts(
        harness,
        "asmith",
        _receipt(nid, "received"),
        _receipt(nid, "opened", _now(timedelta(hours=1))),
    )
    assert future.status == 422
    assert [e["path"] for e in future.body["errors"]] == ["receipts.1.at"]
    # Malformed entries and too many: schema errors, nothing written.
    malformed = _receipts(harness, "asmith", _receipt(nid, "received"), {"event": "opened"})
    assert malformed.status == 422
    not_uuid5 = _receipt("00000000-0000-4000-8000-000000000000", "opened")
    assert _receipts(harness, "asmith", not_uuid5).status == 422
    too_many = _receipts(harness, "asmith", *[_receipt(nid, "received")] * (MAX_RECEIPTS + 1))
    assert too_many.status in (413, 422)
    flood = harness.app_call(
        harness.devices_fn,
        "POST",
        "/me/receipts",
        {"receipts": [_receipt(nid, "received")] * 10_000},
        bearer=harness.identity.mint_id_token("asmith"),
    )
    assert flood.status == 413
    assert _table(harness) == before
    # Unauthenticated.
    anonymous = harness.app_call(
        harness.devices_fn, "POST", "/me/receipts", {"receipts": [_receipt(nid, "opened")]}
    )
    assert anonymous.status == 401
    assert _table(harness) == before


def test_a_full_batch_of_the_longest_receipts_fits_the_body_limit(harness: Harness) -> None:
    nid = _sent(harness)
    longest_id = ("abcdefgh" * 16)[:128]
    harness.register("asmith", longest_id, "fcm-token-asmith-0002")
    at = (datetime.now(UTC) - timedelta(microseconds=1)).astimezone(
        timezone(timedelta(hours=-9, minutes=-30))
    )
    longest = _receipt(nid, "dismissed", at.isoformat(), installation_id=longest_id)
    body = {"receipts": [longest] * MAX_RECEIPTS}
    # Imported here: the handlers' Powertools objects must be built with the harness's env.
    from ecmpush.entrypoints.app_api import MAX_APP_BODY_BYTES

    assert len(json.dumps(body)) <= MAX_APP_BODY_BYTES
    reply = _call(harness, "POST", "/me/receipts", "asmith", body)
    assert reply.status == 200, reply
    assert reply.body["counts"]["unknown_delivery"] == MAX_RECEIPTS  # registered after the send


def test_the_timeline_orders_send_receipts_read_and_reply(harness: Harness) -> None:
    nid = _sent(harness)
    [delivery] = [d for d in harness.deliveries(nid) if d["owner"] == "asmith"]
    sent_at = datetime.fromisoformat(delivery["created_at"])
    displayed = (sent_at + timedelta(milliseconds=1)).isoformat()
    opened = (sent_at + timedelta(milliseconds=2)).isoformat()
    both = (_receipt(nid, "opened", opened), _receipt(nid, "displayed", displayed))
    assert _receipts(harness, "asmith", *both).body["results"] == ["recorded", "recorded"]
    data = harness.fcm.messages(token="fcm-token-asmith-0001")[0]["message"]["data"]
    reply = harness.reply(
        {"action_token": data["action_token"], "action": "approve", "installation_id": PHONE},
        bearer=harness.identity.mint_id_token("asmith"),
    )
    assert reply.status == 202
    entries = build(read_collection(harness.table("DeliveriesTable"), nid))
    mine = [(e.what, e.device) for e in entries if e.who in ("asmith", "")]
    assert mine[0] == ("created", "")
    assert mine[1] == ("accepted by FCM", PHONE)
    assert mine.index(("displayed", PHONE)) < mine.index(("opened", PHONE))
    assert mine.index(("opened", PHONE)) < mine.index(("acted on: approve", PHONE))
    assert ("accepted by FCM", OTHER_PHONE) not in [(e.what, e.device) for e in entries]
    rendered = render(entries)
    assert "accepted by FCM" in rendered
    assert opened.replace("+00:00", "Z") in rendered


def test_the_first_open_emits_time_to_open_per_flow_and_stage(harness: Harness, capfd: Any) -> None:
    nid = _sent(harness)
    # Powertools prints a single_metric whatever POWERTOOLS_METRICS_DISABLED says.
    capfd.readouterr()
    assert _receipts(harness, "asmith", _receipt(nid, "opened")).body["results"] == ["recorded"]
    assert _receipts(harness, "asmith", _receipt(nid, "opened")).body["results"] == ["unchanged"]
    emitted = [
        json.loads(line)
        for line in capfd.readouterr().out.splitlines()
        if line.startswith("{") and '"TimeToOpen"' in line
    ]
    assert len(emitted) == 1, emitted  # the repeat emits nothing
    (metric,) = emitted
    assert (metric["flow"], metric["stage"]) == ("task.assigned", "approval")
    (definition,) = metric["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == "Ecmpush"
    assert definition["Dimensions"] == [["flow", "stage", "service"]]
    assert 0 <= metric["TimeToOpen"][0] < 60
