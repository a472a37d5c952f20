"""Issue 20, findings 9 and 7: one spelling per user id and external id, at every door.

Finding 9: `ASmith`, its full-width form, `asmith` + U+200B and combining marks were
accepted and reached nobody; an ID token with `ecm_user: "   "` registered a device. Now case and
compatibility forms fold into the one spelling (the push reaches asmith), invisible characters
and loose marks are refused with the field path, and a blank claim is 401.

Finding 7: devices of `rtcust` and `rtcust#victim` and one publication to both put the victim's
installation id and status in `rtcust`'s inbox (`d#ext:rtcust#` is a prefix of
`d#ext:rtcust#victim#...`). Now `#` is refused in every id, and the inbox reads only the caller's
own delivery items even where an old key would match."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from ecmpush.adapters.devices_repository import DevicesRepository
from ecmpush.domain.delivery.devices import Device
from tests.conftest import fullwidth, sample_event
from tests.integration.harness import Harness, Reply

ASMITH_TOKEN = "fcm-asmith-phone-0001"
ASMITH_PHONE = "asmith-phone-4b7e1c9a"


def _assigned_to(user_id: str, event_id: str = "evt-user-ids-0001") -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(sample_event("task_assigned"))
    event["id"] = event_id
    event["data"]["assignee"] = {"user_id": user_id}
    event["data"].pop("supervisor", None)
    event["data"].pop("backup", None)
    return event


def _stored(h: Harness, event_id: str) -> bool:
    return "Item" in h.table("EventsTable").get_item(Key={"event_id": event_id})


def _inbox(h: Harness, bearer: str) -> Reply:
    return h.app_call(h.devices_fn, "GET", "/me/notifications", bearer=bearer)


# --- finding 9: one spelling per ECM user ------------------------------------------------------


@pytest.mark.parametrize("spelling", ["ASmith", fullwidth("asmith"), " ASMITH "])
def test_case_and_width_spellings_of_a_user_reach_that_user(
    harness: Harness, spelling: str
) -> None:
    harness.register("asmith", ASMITH_PHONE, ASMITH_TOKEN)
    assert harness.post_event(_assigned_to(spelling)).status == 202
    harness.drain()
    [message] = harness.fcm.messages(token=ASMITH_TOKEN)
    assert message["message"]["data"]["type"] == "task.assigned"
    stored = harness.table("EventsTable").get_item(Key={"event_id": "evt-user-ids-0001"})["Item"]
    assert "asmith" in str(stored)
    assert spelling.strip() not in str(stored)
    [delivery] = harness.deliveries(message["message"]["data"]["notification_id"])
    assert (delivery["owner"], delivery["status"]) == ("asmith", "sent")


@pytest.mark.parametrize(
    "spelling",
    [
        "asmith\u200b",  # zero-width space
        "as\u00admith",  # soft hyphen
        "asmith\u0301",  # a combining acute NFKC cannot compose with h
        "a\u0308\u0301smith",  # two marks on one letter: the second survives NFKC
        "asmith\U000e0041",  # a tag character
        "\u3164",  # Hangul filler: looks blank
        "asmith\u202e",  # bidi override
    ],
)
def test_invisible_characters_and_loose_marks_are_refused_with_the_field(
    harness: Harness, spelling: str
) -> None:
    harness.register("asmith", ASMITH_PHONE, ASMITH_TOKEN)
    reply = harness.post_event(_assigned_to(spelling))
    assert reply.status == 422, reply
    assert [e["path"] for e in reply.body["errors"]] == ["data.assignee.user_id"]
    harness.drain()
    assert harness.fcm.messages(token=ASMITH_TOKEN) == []
    assert not _stored(harness, "evt-user-ids-0001")


def test_in_a_batch_only_the_event_with_the_bad_id_is_refused(harness: Harness) -> None:
    harness.register("asmith", ASMITH_PHONE, ASMITH_TOKEN)
    good = _assigned_to("ASmith", "evt-user-ids-good")
    bad = _assigned_to("asmith\u200b", "evt-user-ids-bad")
    bad["data"]["task"]["task_id"] = "2"
    reply = harness.post_event({"events": [good, bad]})
    assert reply.status == 207
    assert [r["status"] for r in reply.body["results"]] == ["accepted", "invalid"]
    assert reply.body["results"][1]["errors"][0]["path"] == "data.assignee.user_id"
    assert not _stored(harness, "evt-user-ids-bad")


@pytest.mark.parametrize("claim", ["   ", "", "\u200b", "asmith\u200b", "ext\uff1acust-1"])
def test_a_blank_or_invisible_ecm_user_claim_is_401_and_registers_nothing(
    harness: Harness, claim: str
) -> None:
    bearer = harness.identity.mint_id_token(claim, uid="fb-blank-claim")
    body = {"token": "fcm-blank-0001", "platform": "android"}
    reply = harness.device_call("PUT", "blank-claim-4b7e1c9a6d", body, bearer=bearer)
    assert reply.status == 401, reply
    assert harness.table("DevicesTable").scan()["Items"] == []


def test_a_claim_in_another_case_registers_under_the_one_spelling(harness: Harness) -> None:
    harness.register("ASmith", ASMITH_PHONE, ASMITH_TOKEN)
    assert [d["installation_id"] for d in harness.devices_of("asmith")] == [ASMITH_PHONE]
    assert harness.devices_of("ASmith") == []
    assert harness.post_event(_assigned_to("asmith")).status == 202
    harness.drain()
    assert len(harness.fcm.messages(token=ASMITH_TOKEN)) == 1
    # ... and the inbox of the other spelling is the same inbox
    inbox = _inbox(harness, harness.identity.mint_id_token(fullwidth("ASMITH")))
    assert inbox.status == 200
    [entry] = inbox.body["notifications"]
    assert [d["installation_id"] for d in entry["deliveries"]] == [ASMITH_PHONE]


# --- finding 7: external ids cannot collide ---------------------------------------------------

RTCUST_PHONE = "rtcust-phone-7d2b6e4a9c"
VICTIM_PHONE = "victim-phone-5f3a9c1e2b"


def _register_external(h: Harness, external_id: str, installation_id: str) -> Reply:
    bearer = h.identity.mint_id_token(None, external_id=external_id)
    body = {"token": f"fcm-{installation_id}", "platform": "ios", "audience": "external"}
    return h.device_call("PUT", installation_id, body, bearer=bearer)


def _published_to(*external_ids: str, event_id: str = "evt-rtcust-0001") -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(sample_event("document_published"))
    event["id"] = event_id
    event["data"]["audience"]["external_ids"] = list(external_ids)
    return event


def test_external_ids_cannot_read_each_others_deliveries(harness: Harness) -> None:
    """The attack end to end: a victim id that extends the attacker's with `#`."""
    assert _register_external(harness, "rtcust", RTCUST_PHONE).status == 201
    assert _register_external(harness, "rtcust#victim", VICTIM_PHONE).status == 401
    assert harness.devices_of("ext:rtcust#victim") == []

    both = _published_to("rtcust", "rtcust#victim")
    reply = harness.post_event(both)
    assert reply.status == 422, reply
    assert [e["path"] for e in reply.body["errors"]] == ["data.audience.external_ids.1"]
    assert not _stored(harness, both["id"])

    assert harness.post_event(_published_to("rtcust", event_id="evt-rtcust-0002")).status == 202
    harness.drain()
    inbox = _inbox(harness, harness.identity.mint_id_token(None, external_id="rtcust"))
    [entry] = inbox.body["notifications"]
    assert [d["installation_id"] for d in entry["deliveries"]] == [RTCUST_PHONE]
    assert VICTIM_PHONE not in str(inbox.body)
    assert harness.fcm.messages(token=f"fcm-{VICTIM_PHONE}") == []


def test_an_inbox_never_lists_a_delivery_whose_key_only_starts_like_its_own(
    harness: Harness,
) -> None:
    """Items written before the fix (`d#ext:rtcust#victim#…` beside `d#ext:rtcust#…`) stay in
    the table until they expire: the inbox keeps to the items its owner holds."""
    assert _register_external(harness, "rtcust", RTCUST_PHONE).status == 201
    assert harness.post_event(_published_to("rtcust")).status == 202
    harness.drain()
    [own] = [d for d in harness.table("DeliveriesTable").scan()["Items"] if d["sk"][:2] == "d#"]
    legacy = {
        **own,
        "sk": f"d#ext:rtcust#victim#{VICTIM_PHONE}",
        "owner": "ext:rtcust#victim",
        "installation_id": VICTIM_PHONE,
    }
    harness.table("DeliveriesTable").put_item(Item=legacy)
    inbox = _inbox(harness, harness.identity.mint_id_token(None, external_id="rtcust"))
    [entry] = inbox.body["notifications"]
    assert [d["installation_id"] for d in entry["deliveries"]] == [RTCUST_PHONE]


def test_a_device_stored_under_an_older_spelling_moves_on_its_next_registration(
    harness: Harness,
) -> None:
    """What docs/security.md promises for devices registered before the one spelling: the app's
    next registration of the installation, with its FCM token, moves it to `asmith`."""
    then = datetime(2026, 11, 1, tzinfo=UTC)
    legacy = Device(
        owner="ASmith",
        installation_id=ASMITH_PHONE,
        token=ASMITH_TOKEN,
        platform="android",
        created_at=then,
        updated_at=then,
    )
    DevicesRepository(harness.table("DevicesTable")).upsert(legacy)
    harness.register("ASmith", ASMITH_PHONE, ASMITH_TOKEN)
    assert harness.devices_of("ASmith") == []
    assert [d["installation_id"] for d in harness.devices_of("asmith")] == [ASMITH_PHONE]
