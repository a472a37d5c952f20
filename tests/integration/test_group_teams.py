"""Teams kept as Content Server groups: the stand-in's members route as strict as public sources
allow, the client reading it, and a `document.available` for such a team reaching every member's
device exactly once through the real handlers, page by page, member groups and cycles included."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.ecm_standin import EcmStandIn
from ecmpush import bootstrap
from ecmpush.domain.ecm.errors import EcmNotFound, EcmRejected
from tests.conftest import sample_event
from tests.integration.harness import Harness
from tests.integration.test_ecm_client import password_client
from tests.local_stack.test_ecm_standin import login

TIMEOUT = 5
FIELD_OPS = 20001  # devstack/ecm_seed.json: cwu, dlee and the group 20002 (bjones)


def members(url: str, group: int, **params: Any) -> requests.Response:
    return requests.get(
        f"{url}/api/v2/members/{group}/members",
        params=params,
        headers=login(url),
        timeout=TIMEOUT,
    )


def _crowd(count: int, first_id: int = 50_000) -> list[dict[str, Any]]:
    return [{"login": f"worker{n:04}", "id": first_id + n, "password": "x"} for n in range(count)]


# --- the stand-in's route -----------------------------------------------------------------------


def test_members_route_lists_direct_members_by_type_with_paging(
    ecm: tuple[EcmStandIn, str],
) -> None:
    _, url = ecm
    both = members(url, FIELD_OPS).json()
    props = [r["data"]["properties"] for r in both["results"]]
    assert [(p["id"], p["name"], p["type"]) for p in props] == [
        (1003, "cwu", 0),
        (1004, "dlee", 0),
        (20002, "Field Contractors", 1),  # a member group is listed, not expanded
    ]
    users = members(url, FIELD_OPS, where_type=0, limit=1, page=2).json()
    assert [r["data"]["properties"]["name"] for r in users["results"]] == ["dlee"]
    paging = users["collection"]["paging"]
    assert (paging["page"], paging["limit"], paging["page_total"], paging["total_count"]) == (
        2,
        1,
        2,
        2,
    )
    groups = members(url, FIELD_OPS, where_type=1).json()
    assert [r["data"]["properties"]["id"] for r in groups["results"]] == [20002]


def test_members_route_refuses_what_content_server_refuses(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    unknown = members(url, 999_999)  # REST API 2.0.2's answers, 500s both
    assert (unknown.status_code, unknown.json()["error"]) == (
        500,
        "Could not get a member for 999999",
    )
    user = members(url, 1003)  # a user, not a group
    assert (user.status_code, user.json()["error"]) == (500, "Invalid group 1003")
    for bad in ({"where_type": 2}, {"limit": 0}, {"page": "x"}, {"page": 0}):
        answer = members(url, FIELD_OPS, **bad)
        assert answer.status_code == 400, bad
        assert "error" in answer.json()
    anonymous = requests.get(f"{url}/api/v2/members/{FIELD_OPS}/members", timeout=TIMEOUT)
    assert anonymous.status_code == 401


def test_the_server_decides_the_page_size(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    app.seed({"users": _crowd(150), "groups": [{"id": 30001, "name": "Crowd",
              "members": [u["login"] for u in _crowd(150)]}]})  # fmt: skip
    page = members(url, 30001, where_type=0, limit=500).json()
    assert len(page["results"]) == 100  # at most 100 a page, whatever was asked
    assert (page["collection"]["paging"]["limit"], page["collection"]["paging"]["page_total"]) == (
        100,
        2,
    )


# --- the client -------------------------------------------------------------------------------


def test_client_reads_users_and_member_groups_page_by_page(ecm: tuple[EcmStandIn, str]) -> None:
    app, url = ecm
    crowd = _crowd(230)
    app.seed({"users": crowd, "groups": [{"id": 30001, "name": "Crowd",
              "members": [u["login"] for u in crowd], "member_groups": [FIELD_OPS]}]})  # fmt: skip
    client = password_client(url)
    pages = [client.group_members(30001, member_type="users", page=n) for n in (1, 2, 3)]
    assert [p.page_total for p in pages] == [3, 3, 3]
    assert [u for p in pages for u in p.users] == [u["login"] for u in crowd]
    assert all(p.groups == () for p in pages)
    nested = client.group_members(30001, member_type="groups", page=1)
    assert (nested.users, nested.groups) == ((), (FIELD_OPS,))
    sent = app.requests("/api/v2/members/30001/members")
    assert [r["status"] for r in sent] == [200] * 4


def test_client_errors_say_whether_to_retry(ecm: tuple[EcmStandIn, str]) -> None:
    _, url = ecm
    client = password_client(url)
    with pytest.raises(EcmNotFound):
        client.group_members(999_999, member_type="users", page=1)
    with pytest.raises(EcmRejected):
        client.group_members(1003, member_type="users", page=1)


# --- through the handlers -------------------------------------------------------------------------


@pytest.fixture
def group_routing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "routing.json"
    path.write_text(
        json.dumps(
            {
                "teams": {
                    "crowd": {"ecm_group": 30001},
                    "small": {"ecm_group": 30001, "max_members": 100},
                    "missing": {"ecm_group": 999999},
                }
            }
        )
    )
    monkeypatch.setenv("ECMPUSH_ROUTING_FILE", str(path))
    bootstrap.reset()
    return path


def _bulletin(team: str, event_id: str) -> dict[str, Any]:
    event = sample_event("document_available")
    event["id"] = event_id
    event["data"]["audience"] = {"teams": [team], "users": [{"user_id": "worker0001"}]}
    return event


def _seed_crowd(harness: Harness, count: int, with_devices: range) -> list[str]:
    """A group of `count` users, FIELD_OPS as a member group, and FIELD_OPS's own member
    group 20002 made to contain the crowd again (a cycle)."""
    crowd = _crowd(count)
    logins = [u["login"] for u in crowd]
    harness.ecm.seed(
        {
            "users": crowd,
            "groups": [
                {"id": 30001, "name": "Crowd", "members": logins, "member_groups": [FIELD_OPS]},
                {"id": 20002, "name": "Field Contractors", "members": ["bjones"],
                 "member_groups": [30001]},
            ],
        }
    )  # fmt: skip
    for n in with_devices:
        harness.register(logins[n], f"{logins[n]}-phone-4f9a2c7e", f"fcm-token-{logins[n]}")
    for user in ("cwu", "bjones"):
        harness.register(user, f"{user}-phone-4f9a2c7e", f"fcm-token-{user}")
    return logins


def test_a_group_team_reaches_every_member_once_nested_groups_and_cycles_included(
    harness: Harness, group_routing: Path
) -> None:
    with_devices = range(0, 250, 10)  # 25 of 250 members have a phone
    logins = _seed_crowd(harness, 250, with_devices)
    assert harness.post_event(_bulletin("crowd", "evt-group-1")).status == 202
    harness.drain(rounds=12)
    tokens = [m["target"] for m in harness.fcm.messages()]
    expected = {f"fcm-token-{logins[n]}" for n in with_devices} | {
        "fcm-token-cwu",  # through the member group FIELD_OPS
        "fcm-token-bjones",  # through FIELD_OPS's member group 20002
    }
    assert sorted(tokens) == sorted(expected)  # worker0001 listed too, and still one push
    assert len(tokens) == len(set(tokens))
    reads = harness.ecm.requests("/api/v2/members/")
    paths = sorted(r["path"] for r in reads)
    assert paths.count("/api/v2/members/30001/members") == 4  # 3 users pages + 1 groups page
    assert paths.count(f"/api/v2/members/{FIELD_OPS}/members") == 2
    assert paths.count("/api/v2/members/20002/members") == 2  # its member 30001 not walked again
    assert {r["user"] for r in reads} == {"svc-ecmpush"}  # read as the service account
    assert harness.queue_depth(harness.dlq_url) == 0


def test_a_group_over_its_teams_limit_or_unknown_sends_nothing_and_is_not_retried(
    harness: Harness, group_routing: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An unknown group answers 500 "Could not get a member for {id}" (REST API 2.0.2): a
    refusal, logged once as such, not an outage retried into the DLQ."""
    _seed_crowd(harness, 150, range(0, 150, 50))
    assert harness.post_event(_bulletin("small", "evt-group-2")).status == 202
    assert harness.post_event(_bulletin("missing", "evt-group-3")).status == 202
    with caplog.at_level(logging.ERROR, logger="ecmpush.services.dispatch"):
        harness.drain(rounds=6)
    # Only the user named in the event itself hears of it (worker0001 has no phone).
    assert harness.fcm.messages() == []
    assert harness.queue_depth() == 0
    assert harness.queue_depth(harness.dlq_url) == 0
    refused = [r.getMessage() for r in caplog.records if "is not sent to" in r.getMessage()]
    assert len([m for m in refused if "Could not get a member for 999999" in m]) == 1
    assert [r["status"] for r in harness.ecm.requests("/api/v2/members/999999")] == [500]


def test_content_server_down_mid_walk_delays_pages_and_loses_none(
    harness: Harness, group_routing: Path
) -> None:
    logins = _seed_crowd(harness, 250, range(0, 250, 25))
    assert harness.post_event(_bulletin("crowd", "evt-group-4")).status == 202
    harness.drain(rounds=1)  # the event: page 1 is queued
    harness.ecm.outage(seconds=3600, retry_after=1)
    harness.drain(rounds=1)  # page 1 meets the outage and goes back for its Retry-After
    assert harness.fcm.messages() == []
    harness.ecm.outage(seconds=0)
    time.sleep(1.2)
    harness.drain(rounds=15)
    tokens = sorted(m["target"] for m in harness.fcm.messages())
    expected = {f"fcm-token-{logins[n]}" for n in range(0, 250, 25)}
    assert sorted(tokens) == sorted(expected | {"fcm-token-cwu", "fcm-token-bjones"})
