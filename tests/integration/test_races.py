"""Issue 20, finding 12: the checks a registration or a reply makes hold when Lambda runs them
concurrently. The local runtime runs invocations of a function in parallel up to its
concurrency (devstack/lambda_runtime.py); these tests start the requests together (a barrier)
from threads, through that runtime, and assert what DynamoDB, the FCM stand-in and Content
Server hold afterwards: one owner per FCM token, the per-user cap, one reply applied."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from boto3.dynamodb.conditions import Key

from ecmpush.adapters.devices_repository import token_hash
from tests.integration.harness import Harness, Reply
from tests.integration.test_response_callback import APPROVAL, _answer, _ecm_task, _push

MAX_DEVICES = 10  # MaxDevicesPerUser's default, as the harness deploys it


def together[T](calls: list[Callable[[], T]]) -> list[T]:
    """Run `calls` on threads of their own, released at the same moment."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def put_device(h: Harness, user: str, installation_id: str, token: str) -> Callable[[], Reply]:
    def call() -> Reply:
        body = {"token": token, "platform": "android"}
        bearer = h.identity.mint_id_token(user)
        return h.device_call("PUT", installation_id, body, bearer=bearer)

    return call


def holders(h: Harness, token: str) -> list[tuple[str, str]]:
    """Device items holding `token`, read from the table (not the service)."""
    items = h.table("DevicesTable").scan()["Items"]
    return sorted(
        (str(i["owner"]), str(i["installation_id"]))
        for i in items
        if i.get("token_hash") == token_hash(token)
    )


def test_the_runtime_runs_a_functions_invocations_at_once(harness: Harness) -> None:
    """What the races below rely on: the Devices function is not serialized locally."""
    assert harness.devices_fn.concurrency == 10
    users = [f"racer{n}" for n in range(4)]
    replies = together(
        [put_device(harness, u, f"{u}-phone-4b7e1c9a", f"fcm-{u}-0001") for u in users]
    )
    assert [r.status for r in replies] == [201] * 4, replies
    for user in users:  # each request read its own body (devstack/powertools_threads.py)
        assert holders(harness, f"fcm-{user}-0001") == [(user, f"{user}-phone-4b7e1c9a")]
    assert harness.devices_fn.most_at_once > 1


def test_one_fcm_token_registered_by_several_users_at_once_gets_one_owner(
    harness: Harness,
) -> None:
    users = [f"tablet{n}" for n in range(6)]
    for round_ in range(3):
        token = f"fcm-shared-tablet-{round_:04d}"
        replies = together(
            [put_device(harness, u, f"{u}-tablet-{round_}-7c1e9b", token) for u in users]
        )
        statuses = sorted(r.status for r in replies)
        assert statuses == [201] + [409] * (len(users) - 1), (token, replies)
        [(owner, installation_id)] = holders(harness, token)
        winner = users[[r.status for r in replies].index(201)]
        assert (owner, installation_id) == (winner, f"{winner}-tablet-{round_}-7c1e9b")
        # The FCM stand-in only hears of it through pushes: none was sent to anyone else.
        assert harness.fcm.messages(token=token) == []


def test_more_new_devices_than_the_cap_at_once_leave_the_user_at_the_cap(
    harness: Harness,
) -> None:
    user = "manyphones"
    first = [
        put_device(harness, user, f"{user}-a{n:02d}-9f2c4e7b1d", f"fcm-{user}-a{n}")
        for n in range(6)
    ]
    assert {r.status for r in together(first)} == {201}
    rush = [
        put_device(harness, user, f"{user}-b{n:02d}-9f2c4e7b1d", f"fcm-{user}-b{n}")
        for n in range(14)
    ]
    replies = together(rush)
    assert {r.status for r in replies} <= {201, 409}, replies
    assert sum(r.status == 201 for r in replies) >= MAX_DEVICES - 6
    devices = [d for d in harness.devices_of(user) if not str(d["installation_id"]).startswith("#")]
    assert len(devices) == MAX_DEVICES
    roster = harness.roster_of(user)
    assert roster is not None
    assert set(roster) == {d["installation_id"] for d in devices}


def test_the_same_action_token_answered_twice_at_once_is_applied_once(harness: Harness) -> None:
    data = _push(harness, APPROVAL)

    def approve() -> Any:
        return _answer(harness, data, "approve", "asmith", "Checked.")

    replies = together([approve, approve, approve])
    assert sorted(r.status for r in replies) == [202, 409, 409], replies
    collection = harness.table("DeliveriesTable").query(
        KeyConditionExpression=Key("notification_id").eq(data["notification_id"])
        & Key("sk").begins_with("r#")
    )["Items"]
    assert [(r["sk"], r["status"]) for r in collection] == [("r#asmith", "applied")]
    task = _ecm_task(harness, APPROVAL)
    assert task["disposition_taken"] == "Approve"
    assert len(task["comments"]) == 1  # one send-on in the workflow's audit trail
    assert harness.responses_fn.most_at_once > 1


def test_a_token_claim_follows_the_device_that_holds_the_token(harness: Harness) -> None:
    """Claims are never released, only found stale: a token whose device was removed, moved
    with its installation, or refreshed to another token can be registered by someone else;
    while a device holds it, nobody else can."""
    token = "fcm-claim-lifecycle-0001"
    assert put_device(harness, "alice", "alice-phone-6d2f8a1c", token)().status == 201
    assert put_device(harness, "bob", "bob-phone-3e9a7c5b", token)().status == 409
    # Alice removes her device: the claim is stale, Bob may take the token.
    bearer = harness.identity.mint_id_token("alice")
    assert harness.device_call("DELETE", "alice-phone-6d2f8a1c", bearer=bearer).status == 204
    assert put_device(harness, "bob", "bob-phone-3e9a7c5b", token)().status == 201
    assert put_device(harness, "alice", "alice-phone-6d2f8a1c", token)().status == 409
    # The shared tablet: Carol proves she holds the token of Bob's installation and takes it.
    assert put_device(harness, "carol", "bob-phone-3e9a7c5b", token)().status == 201
    assert holders(harness, token) == [("carol", "bob-phone-3e9a7c5b")]
    # Carol's app gets a new token: the old one is free again.
    assert (
        put_device(harness, "carol", "bob-phone-3e9a7c5b", "fcm-claim-lifecycle-0002")().status
        == 200
    )
    assert put_device(harness, "alice", "alice-phone-6d2f8a1c", token)().status == 201
    assert holders(harness, token) == [("alice", "alice-phone-6d2f8a1c")]
