"""Issue 9, finding 8 (unbounded work): a webhook body may name only so many recipients. An
event over the per-event caps is refused (422, with the field and the counts), a request over
the total is refused whole (413); either way nothing is stored in EventsTable or queued for
Dispatch. Within the caps large audiences still go through: teams are expanded by Dispatch."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import sample_event
from tests.integration.harness import Harness


def _available(event_id: str, users: int = 0, teams: int = 0) -> dict[str, Any]:
    event = sample_event("document_available")
    event["id"] = event_id
    event["data"]["audience"] = {
        "users": [{"user_id": f"field-{n:04d}"} for n in range(users)],
        "teams": [f"team-{n:03d}" for n in range(teams)],
    }
    return event


def _stored(h: Harness, event_id: str) -> bool:
    return "Item" in h.table("EventsTable").get_item(Key={"event_id": event_id})


def test_an_event_naming_too_many_users_is_422_and_nothing_is_stored(harness: Harness) -> None:
    reply = harness.post_event(_available("evt-many-users", users=251))
    assert reply.status == 422, reply
    assert reply.body["errors"][0]["path"] == "data.audience.users"
    assert "251 users" in reply.body["errors"][0]["message"]
    assert not _stored(harness, "evt-many-users")
    assert harness.queue_depth() == 0


def test_an_event_naming_too_many_teams_is_422(harness: Harness) -> None:
    reply = harness.post_event(_available("evt-many-teams", teams=26))
    assert reply.status == 422, reply
    assert reply.body["errors"][0]["path"] == "data.audience.teams"
    assert not _stored(harness, "evt-many-teams")
    assert harness.queue_depth() == 0


def test_a_request_naming_too_many_recipients_in_all_is_413_and_nothing_is_accepted(
    harness: Harness,
) -> None:
    events = [_available(f"evt-total-{n}", users=249) for n in range(11)]  # 2,739 > 2,500
    reply = harness.post_event({"events": events})
    assert reply.status == 413, reply
    assert "2739 recipients" in reply.body["message"]
    assert not any(_stored(harness, e["id"]) for e in events)
    assert harness.queue_depth() == 0


def test_a_batch_refuses_only_its_oversized_event(harness: Harness) -> None:
    events = [_available("evt-ok-a", users=3), _available("evt-big", users=300)]
    reply = harness.post_event({"events": events})
    assert reply.status == 207, reply
    assert [r["status"] for r in reply.body["results"]] == ["accepted", "invalid"]
    assert _stored(harness, "evt-ok-a")
    assert not _stored(harness, "evt-big")
    assert harness.queue_depth() == 1


def test_within_the_caps_large_audiences_go_through(harness: Harness) -> None:
    events = [_available(f"evt-wide-{n}", users=249, teams=1) for n in range(9)]
    events.append(_available("evt-teams", teams=25))  # every member of 25 teams, via Dispatch
    reply = harness.post_event({"events": events})
    assert reply.status == 207, reply
    assert {r["status"] for r in reply.body["results"]} == {"accepted"}
    assert harness.queue_depth() == len(events)


def test_the_caps_come_from_the_environment(harness: Harness, monkeypatch: Any) -> None:
    from ecmpush import bootstrap

    monkeypatch.setenv("ECMPUSH_MAX_USERS_PER_EVENT", "2")
    bootstrap.reset()
    reply = harness.post_event(_available("evt-three", users=3))
    assert reply.status == 422
    assert json.dumps(reply.body).count("at most 2 per event") == 1
