"""Withdrawal by every path (issue 23, item 2): what reached the FCM stand-in, what DynamoDB
keeps (withdrawn deliveries, the decision on the header and the task), and the 409 of a
withdrawn push's button naming who decided."""

from __future__ import annotations

from typing import Any

from ecmpush.domain.delivery.notifications import notification_id
from tests.conftest import sample_event
from tests.integration.ecm_steps import GROUP_TASK
from tests.integration.harness import Harness

PHONE = "fcm-token-asmith-phone-withdraw-1"
BROWSER = "fcm-token-asmith-browser-withdraw"
PHONE_ID = "asmith-phone-7c1e9b2d4f"
BROWSER_ID = "asmith-browser-3a8d6e0f"


def _assigned(
    event_id: str, user: str, task: tuple[int, int, int] = (4711, 4711, 1), stage: str = "approval"
) -> dict[str, Any]:
    event = sample_event("task_assigned")
    event["id"] = event_id
    process_id, subprocess_id, task_id = (str(i) for i in task)
    event["data"]["task"].update(
        process_id=process_id, subprocess_id=subprocess_id, task_id=task_id, stage=stage
    )
    event["data"]["assignee"]["user_id"] = user
    event["data"].pop("supervisor", None)
    event["data"].pop("backup", None)
    return event


def _completed(event_id: str, by: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"task": {"process_id": "4711", "subprocess_id": "4711", "task_id": "1"}}
    if by:
        data["completed_by"] = {"user_id": by}
    return {
        "id": event_id,
        "type": "task.completed",
        "occurred_at": "2026-12-01T10:42:00Z",
        "tenant": "acme",
        "data": data,
    }


def _withdrawals(h: Harness, token: str) -> list[dict[str, Any]]:
    return [
        m["message"]
        for m in h.fcm.messages(token=token)
        if m["message"]["data"].get("type") == "withdrawn"
    ]


def _last_push(h: Harness, token: str) -> dict[str, str]:
    data: dict[str, str] = h.fcm.messages(token=token)[-1]["message"]["data"]
    return data


def _reply(h: Harness, data: dict[str, str], user: str, installation_id: str, action: str) -> Any:
    body = {"action_token": data["action_token"], "action": action}
    body["installation_id"] = installation_id
    return h.reply(body, bearer=h.identity.mint_id_token(user))


def _delivery(h: Harness, nid: str, owner: str, installation_id: str) -> dict[str, Any]:
    item: dict[str, Any] = h.table("DeliveriesTable").get_item(
        Key={"notification_id": nid, "sk": f"d#{owner}#{installation_id}"}
    )["Item"]
    return item


def _header(h: Harness, nid: str) -> dict[str, Any]:
    item: dict[str, Any] = h.table("DeliveriesTable").get_item(
        Key={"notification_id": nid, "sk": "#notification"}
    )["Item"]
    return item


def test_approve_on_the_phone_withdraws_the_browser_push_and_its_button_names_the_decider(
    harness: Harness,
) -> None:
    h = harness
    h.register("asmith", PHONE_ID, PHONE, "android")
    h.register("asmith", BROWSER_ID, BROWSER, "web", locale="de-DE", timezone="Europe/Berlin")
    assert h.post_event(_assigned("evt-withdraw-1", "asmith")).status == 202
    h.drain()
    nid = notification_id("evt-withdraw-1", "task.assigned")
    original = h.fcm.messages(token=BROWSER)[-1]["message"]
    assert _header(h, nid)["task_key"] == "4711/4711/1"  # found through by_task
    assert original["apns"]["headers"]["apns-collapse-id"] == "task-4711-4711-1"

    reply = _reply(h, _last_push(h, PHONE), "asmith", PHONE_ID, "approve")
    assert reply.status == 202, reply
    h.drain()

    [withdrawal] = _withdrawals(h, BROWSER)
    data = withdrawal["data"]
    assert "notification" not in withdrawal  # data-only: the service worker closes the push
    assert data["notification_id"] == nid
    assert (data["decision"], data["decided_by"], data["decided_platform"]) == (
        "approve",
        "asmith",
        "android",
    )
    assert data["tag"] == original["webpush"]["notification"]["tag"] == "task-4711-4711-1"
    assert data["body"].startswith("Erledigt: genehmigt auf Android um ")  # the browser's language
    assert withdrawal["android"]["collapse_key"] == "task-4711-4711-1"
    assert withdrawal["apns"]["headers"]["apns-collapse-id"] == "task-4711-4711-1"
    assert "sound" not in withdrawal["apns"]["payload"]["aps"]  # the quiet replacement

    browser = _delivery(h, nid, "asmith", BROWSER_ID)
    assert browser["withdrawal"] == "replied"
    assert browser["withdrawn_at"]
    assert _header(h, nid)["decision"]["by"] == "asmith"
    task = h.table("TasksTable").get_item(Key={"task_key": "4711/4711/1"})["Item"]
    assert (task["decision"]["action"], task["decision"]["platform"]) == ("approve", "android")

    # The inbox says who decided, and which device had the push withdrawn.
    inbox = h.app_call(
        h.devices_fn, "GET", "/me/notifications", bearer=h.identity.mint_id_token("asmith")
    ).body["notifications"]
    entry = next(n for n in inbox if n["notification_id"] == nid)
    assert (entry["decision"]["by"], entry["decision"]["action"]) == ("asmith", "approve")
    withdrawn = {d["installation_id"]: d.get("withdrawal") for d in entry["deliveries"]}
    assert withdrawn == {PHONE_ID: "replied", BROWSER_ID: "replied"}
    assert _withdrawals(h, PHONE) == []  # the phone got the confirmation, which replaces it

    # The browser's button, tapped after the withdrawal: 409 naming who decided.
    late = _reply(h, original["data"], "asmith", BROWSER_ID, "reject")
    assert late.status == 409
    assert "already decided: approved by asmith on Android at " in str(late.body)

    # Content Server's own task.completed afterwards withdraws nothing twice, changes no decision.
    sent_before = len(h.fcm.messages())
    assert h.post_event(_completed("evt-withdraw-1-done", by="asmith")).status == 202
    h.drain()
    assert [
        m for m in h.fcm.messages()[sent_before:] if m["message"]["data"]["type"] == "withdrawn"
    ] == []
    assert _header(h, nid)["decision"]["platform"] == "android"


def test_task_completed_in_content_server_withdraws_every_push_about_it(harness: Harness) -> None:
    h = harness
    h.register("asmith", PHONE_ID, PHONE, "android", locale="fr-FR")
    assert h.post_event(_assigned("evt-withdraw-2", "asmith")).status == 202
    h.drain()
    nid = notification_id("evt-withdraw-2", "task.assigned")
    assert h.post_event(_completed("evt-withdraw-2-done", by="bjones")).status == 202
    h.drain()
    [withdrawal] = _withdrawals(h, PHONE)
    assert withdrawal["data"]["notification_id"] == nid
    assert withdrawal["data"]["decided_by"] == "bjones"
    assert withdrawal["data"]["body"] == "Terminé : terminé dans Content Server à 10:42"
    assert _delivery(h, nid, "asmith", PHONE_ID)["withdrawal"] == "completed"


def test_a_group_step_keeps_every_members_push_until_one_answers(harness: Harness) -> None:
    """A group step reaches its members as one assignment each; Content Server still lists
    both as holders, so the second assignment withdraws nothing. cwu accepts and sends it on
    through ecmpush: asmith's push is withdrawn, naming cwu."""
    h = harness
    h.ecm.seed({"tasks": [GROUP_TASK]})
    h.register("asmith", PHONE_ID, PHONE, "android")
    h.register("cwu", "cwu-phone-5e2a7c9d1b", "fcm-token-cwu-phone-withdraw-01", "android")
    step = (4800, 4800, 1)
    for user in ("asmith", "cwu"):
        assert h.post_event(_assigned(f"evt-group-{user}", user, step, "task")).status == 202
    h.drain()
    assert _withdrawals(h, PHONE) == []  # both still hold the step

    reply = _reply(
        h,
        _last_push(h, "fcm-token-cwu-phone-withdraw-01"),
        "cwu",
        "cwu-phone-5e2a7c9d1b",
        "acknowledge",
    )
    assert reply.status == 202, reply
    h.drain()
    [withdrawal] = _withdrawals(h, PHONE)
    assert withdrawal["data"]["notification_id"] == notification_id(
        "evt-group-asmith", "task.assigned"
    )
    assert (withdrawal["data"]["decided_by"], withdrawal["data"]["decision"]) == (
        "cwu",
        "acknowledge",
    )


def test_a_reassignment_withdraws_the_push_of_whoever_no_longer_holds_the_step(
    harness: Harness,
) -> None:
    """4713/4713/2 is bjones's in Content Server; an earlier assignment told asmith."""
    h = harness
    h.register("asmith", PHONE_ID, PHONE, "android")
    h.register("bjones", "bjones-phone-6f3b8d0e2c", "fcm-token-bjones-phone-withdraw1", "android")
    step = (4713, 4713, 2)
    assert h.post_event(_assigned("evt-reassign-1", "asmith", step)).status == 202
    h.drain()
    assert h.post_event(_assigned("evt-reassign-2", "bjones", step)).status == 202
    h.drain()
    [withdrawal] = _withdrawals(h, PHONE)
    assert withdrawal["data"]["decision"] == "reassigned"
    assert _withdrawals(h, "fcm-token-bjones-phone-withdraw1") == []  # the new assignee keeps it
    nid = notification_id("evt-reassign-1", "task.assigned")
    assert _delivery(h, nid, "asmith", PHONE_ID)["withdrawal"] == "reassigned"
