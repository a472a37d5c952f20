"""The demo scenario `make run` replays once: two devices for one approver, a signed
`task.assigned` from ECM, the push landing on both devices, the delivery records, and a resent
event answered `duplicate` without a second push."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import requests
from boto3.dynamodb.conditions import Key

from devstack.control import SWEEPS
from devstack.schedules import invoke_scheduled
from devstack.stack import Stack
from devstack.template import REPO_ROOT
from ecmpush.clock import rfc3339
from senders.relay.webhook import post_event

USER = "asmith"
EVENTS = REPO_ROOT / "events" / "ecm"
DEVICES = (
    (
        "demo-pixel-8-5f3a9c1e",
        {
            "token": "fcm-demo-asmith-android-0001",
            "platform": "android",
            "locale": "en-GB",
            "timezone": "Europe/London",
            "app_version": "1.0.0",
        },
    ),
    (
        "demo-browser-7d2b6e4a",
        {
            "token": "fcm-demo-asmith-web-0002",
            "platform": "web",
            "locale": "de-DE",
            "timezone": "Europe/Berlin",
            "app_version": "1.0.0",
        },
    ),
)


def _post(stack: Stack, event: dict[str, Any]) -> requests.Response:
    """Sign and post as an ECM sender would: the webhook secret and the sender's API key."""
    return post_event(stack.urls["api"], stack.webhook_secret, event, api_key=stack.webhook_api_key)


def approval_event(event_id: str = "evt-demo-0001") -> dict[str, Any]:
    due = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=17, minute=0, second=0, microsecond=0
    )
    return {
        "id": event_id,
        "type": "task.assigned",
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "tenant": "acme",
        "data": {
            "task": {
                "process_id": "4711",
                "subprocess_id": "4711",
                "task_id": "1",
                "title": "Approve supplier contract ACME-2026-114",
                "stage": "approval",
                "instructions": "Check the liability cap in section 7 before approving.",
                "due_at": due.isoformat().replace("+00:00", "Z"),
                "priority": "high",
            },
            "document": {"node_id": "90210", "name": "ACME-2026-114 Supplier Agreement.pdf"},
            "assignee": {"user_id": USER},
            "supervisor": {"user_id": "bjones"},
        },
    }


def _say(text: str = "") -> None:
    print(text, flush=True)


def wait_for(predicate: Any, timeout: float = 15.0) -> Any:
    """Poll until `predicate()` is truthy or `timeout` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    return predicate()


def run_demo(stack: Stack) -> bool:
    api = stack.urls["api"]
    _say("── Demo: approval push ─────────────────────────────────────────────")
    id_token = stack.identity.mint_id_token(USER)
    for installation_id, body in DEVICES:
        response = requests.put(
            f"{api}/devices/{installation_id}",
            json=body,
            headers={"Authorization": f"Bearer {id_token}"},
            timeout=10,
        )
        _say(f"PUT /devices/{installation_id} ({body['platform']}) → {response.status_code}")

    event = approval_event()
    response = _post(stack, event)
    _say(f"POST /ecm/events {event['id']} (task.assigned) → {response.status_code} {response.text}")

    tokens = [body["token"] for _, body in DEVICES]
    landed = wait_for(lambda: all(stack.fcm.messages(token=t) for t in tokens))
    for token in tokens:
        for entry in stack.fcm.messages(token=token):
            _show_push(token, entry)
    if landed:
        _show_deliveries(stack, stack.fcm.messages(token=tokens[0])[0]["message"]["data"])

    before = len(stack.fcm.messages())
    response = _post(stack, event)
    time.sleep(2)
    after = len(stack.fcm.messages())
    _say(f"\nResent {event['id']} → {response.status_code} {response.text}")
    _say(f"FCM messages before the resend: {before}, after: {after}")
    ok = bool(landed) and response.json().get("status") == "duplicate" and before == after
    ok = ok and _tap_approve(stack, id_token, tokens[0])
    ok = _expiring_contract(stack) and ok
    ok = _overdue_task(stack) and ok
    ok = _audiences(stack) and ok
    ok = _approver_api(stack) and ok
    _say("Demo " + ("passed" if ok else "FAILED") + ".")
    return ok


def _register(stack: Stack, user: str, platform: str = "android", **claims: str) -> str:
    """A device for `user` (or an external stakeholder); returns its FCM token."""
    token = f"fcm-demo-{user}-{platform}"
    id_token = stack.identity.mint_id_token(user or None, **claims)  # type: ignore[arg-type]
    body = {"token": token, "platform": platform}
    if claims:
        body["audience"] = "external"
    requests.put(
        f"{stack.urls['api']}/devices/demo-{user or 'ext'}-{platform}-7d2b6e4a",
        json=body,
        headers={"Authorization": f"Bearer {id_token}"},
        timeout=10,
    ).raise_for_status()
    return token


def _await(stack: Stack, token: str, push_type: str) -> dict[str, str] | None:
    def landed() -> dict[str, str] | None:
        for entry in stack.fcm.messages(token=token):
            data: dict[str, str] = entry["message"].get("data", {})
            if data.get("type") == push_type:
                return data
        return None

    found: dict[str, str] | None = wait_for(landed)
    return found


def _sweep(stack: Stack, name: str, at: datetime) -> Any:
    return invoke_scheduled(stack.functions[SWEEPS[name]], at)


def _expiring_contract(stack: Stack) -> bool:
    _say("\n── Demo: a contract nears expiry (expiry sweep) ────────────────────")
    legal = _register(stack, "dlee")  # the legal role (devstack/routing.json)
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    event: dict[str, Any] = {
        "id": "evt-demo-expiry-0001",
        "type": "record.expiry_scheduled",
        "occurred_at": rfc3339(datetime.now(UTC)),
        "tenant": "acme",
        "data": {
            "record": {
                "node_id": "77001",
                "name": "Master Services Agreement Globex",
                "kind": "contract",
                "expires_at": rfc3339(expires),
            },
            "owners": [{"user_id": USER}],
            "notify_roles": ["legal"],
        },
    }
    response = _post(stack, event)
    _say(f"POST /ecm/events record.expiry_scheduled ({expires.date()}) → {response.status_code}")
    wait_for(lambda: _event_status(stack, event["id"]) == "tracked")  # Dispatch stored it
    report = _sweep(stack, "expiry", datetime.now(UTC))
    _say(f"expiry sweep → notified {report.get('notified')}, examined {report.get('examined')}")
    owner = _await(stack, DEVICES[0][1]["token"], "expiry.warning")
    role = _await(stack, legal, "expiry.warning")
    for who, data in ((USER, owner), ("dlee (legal)", role)):
        _say(f"  {who:<14} {data['title'] if data else 'nothing'}")
    return owner is not None and role is not None


def _overdue_task(stack: Stack) -> bool:
    _say("\n── Demo: a task misses its SLA (SLA sweep) ─────────────────────────")
    supervisor = _register(stack, "bjones")
    due = datetime.now(UTC) + timedelta(hours=1)
    event = {
        "id": "evt-demo-sla-0001",
        "type": "task.assigned",
        "occurred_at": rfc3339(datetime.now(UTC)),
        "tenant": "acme",
        "data": {
            "task": {
                "process_id": "4714",
                "subprocess_id": "4714",
                "task_id": "1",
                "title": "Acknowledge updated travel policy",
                "stage": "task",
                "due_at": rfc3339(due),
            },
            "assignee": {"user_id": USER},
            "supervisor": {"user_id": "bjones"},
        },
    }
    _post(stack, event)
    assignee = DEVICES[0][1]["token"]
    _await(stack, assignee, "task.assigned")
    _say(f"task.assigned due {due:%H:%M} UTC; the clock moves on (local override only):")
    for label, at in (
        ("at due +1 min", due + timedelta(minutes=1)),
        ("after the grace (+24 h)", due + timedelta(hours=24, minutes=2)),
    ):
        report = _sweep(stack, "sla", at)
        for _ in range(2):  # the next scheduled run would try again; the demo does it at once
            if not report.get("unchecked"):
                break
            _say(f"  SLA sweep {label:<24} → Content Server did not answer in time, again")
            report = _sweep(stack, "sla", at)
        _say(f"  SLA sweep {label:<24} → notified {report.get('notified')}")
    reminder = _await(stack, assignee, "sla.reminder")
    escalation = _await(stack, supervisor, "sla.escalation")
    _say(f"  {USER:<8} {reminder['title'] if reminder else 'nothing'}")
    actions = escalation.get("actions") if escalation else "-"
    _say(f"  bjones   {escalation['title'] if escalation else 'nothing'} (actions: {actions})")
    return reminder is not None and escalation is not None


def _audiences(stack: Stack) -> bool:
    _say("\n── Demo: field team, external stakeholder, governance ──────────────")
    field = _register(stack, "cwu")  # field-north, records manager and compliance officer
    external = _register(stack, "", "ios", external_id="cust-globex-001")
    contractor = _register(stack, "bjones")  # in the Content Server group "Field Contractors"
    for name in ("document_available", "document_published", "governance_alert"):
        event = json.loads((EVENTS / f"{name}.json").read_text())
        response = _post(stack, event)
        _say(f"POST /ecm/events {event['type']} → {response.status_code}")
    # The team field-ops is the Content Server group "Field Operations" (devstack/routing.json):
    # Dispatch reads its members, and its member group's, from Content Server page by page.
    bulletin = json.loads((EVENTS / "document_available.json").read_text())
    bulletin["id"] += "-field-ops"
    bulletin["data"]["audience"] = {"teams": ["field-ops"]}
    response = _post(stack, bulletin)
    _say(f"POST /ecm/events document.available to a group team → {response.status_code}")
    results = {
        "cwu (field team)": _await(stack, field, "document.available"),
        "bjones (group team, member group)": _await(stack, contractor, "document.available"),
        "cust-globex-001 (external, ios)": _await(stack, external, "document.published"),
        "cwu (compliance)": _await(stack, field, "governance.alert"),
        "dlee (compliance)": _await(stack, "fcm-demo-dlee-android", "governance.alert"),
    }
    for who, data in results.items():
        _say(f"  {who:<32} {data['title'] if data else 'nothing'}")
    return all(results.values())


def _approver_api(stack: Stack) -> bool:
    """The approver's API: what waits for asmith (Content Server's inbox), and the field push's
    document opened as cwu (Field Operations may) and as asmith (Content Server refuses)."""
    _say("\n── Demo: the approver's API (read from Content Server as the caller) ──")
    api = stack.urls["api"]

    def get(user: str, path: str) -> requests.Response:
        token = stack.identity.mint_id_token(user)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/octet-stream"}
        return requests.get(f"{api}{path}", headers=headers, timeout=30)

    waiting = get(USER, "/me/tasks")
    steps = waiting.json().get("tasks", []) if waiting.ok else []
    _say(f"GET /me/tasks as {USER} → {waiting.status_code}")
    for step in steps:
        late = "overdue" if step["overdue"] else (step["due_at"] or "no due date")
        _say(
            f"  {step['process_id']}/{step['subprocess_id']}/{step['task_id']:<4} "
            f"{late:<22} {step['title']}"
        )
    pushes = [m["message"]["data"] for m in stack.fcm.messages()]
    push: dict[str, str] = next((d for d in pushes if d.get("type") == "document.available"), {})
    node_id = str(push.get("deep_link", "")).rstrip("/").rsplit("/", 1)[-1] or "88001"
    opened = get("cwu", f"/me/documents/{node_id}/content")
    refused = get(USER, f"/me/documents/{node_id}/content")
    _say(
        f"GET /me/documents/{node_id}/content as cwu → {opened.status_code} "
        f"{opened.headers.get('Content-Type')}, {len(opened.content)} bytes"
    )
    _say(f"GET /me/documents/{node_id}/content as {USER} → {refused.status_code} {refused.text}")
    return (
        waiting.ok
        and opened.status_code == 200
        and opened.content.startswith(b"%PDF")
        and refused.status_code == 403
    )


def _event_status(stack: Stack, event_id: str) -> str | None:
    table = boto3.resource("dynamodb").Table(stack.provisioned.refs["EventsTable"])
    item = table.get_item(Key={"event_id": event_id}).get("Item") or {}
    return str(item["status"]) if "status" in item else None


def _tap_approve(stack: Stack, id_token: str, token: str) -> bool:
    """What the app does when the user taps Approve: POST /responses with the push's token."""
    _say("\n── Demo: the approver taps Approve ─────────────────────────────────")
    data = stack.fcm.messages(token=token)[0]["message"]["data"]
    response = requests.post(
        f"{stack.urls['api']}/responses",
        json={
            "action_token": data["action_token"],
            "action": "approve",
            "comment": "Liability cap checked, fine by me.",
            "installation_id": DEVICES[0][0],
        },
        headers={"Authorization": f"Bearer {id_token}"},
        timeout=30,
    )
    _say(f"POST /responses approve → {response.status_code} {response.text}")
    task = stack.ecm.task(4711, 4711, 1)
    _say("ECM stand-in task 4711/4711/1:")
    _say(f"  status       {task['status']}")
    _say(f"  disposition  {task['disposition_taken']} (by {task['acted_by']})")
    for entry in task["comments"]:
        _say(f"  comment      {entry['comment']}")
    confirmed = wait_for(
        lambda: [
            m
            for m in stack.fcm.messages(token=token)
            if m["message"]["data"].get("type") == "response.confirmed"
        ]
    )
    if confirmed:
        _say(f"Confirmation push: {confirmed[0]['message']['data']['title']}")
    applied = response.status_code == 202 and task["disposition_taken"] == "Approve"
    return applied and bool(confirmed)


def _show_push(token: str, entry: dict[str, Any]) -> None:
    message = entry["message"]
    data = message.get("data", {})
    category = message.get("apns", {}).get("payload", {}).get("aps", {}).get("category")
    _say(f"\nFCM stand-in received for {token} (answer {entry['answer']['status']}):")
    for key in ("title", "body", "due_at", "deep_link", "actions"):
        _say(f"  {key:<12} {data.get(key)}")
    _say(f"  {'apns':<12} category {category}")
    _say(f"  {'action_token':<12} {str(data.get('action_token'))[:48]}…")


def _show_deliveries(stack: Stack, data: dict[str, str]) -> None:
    table = boto3.resource("dynamodb").Table(stack.provisioned.refs["DeliveriesTable"])
    key = Key("notification_id").eq(data["notification_id"]) & Key("sk").begins_with("d#")
    _say(f"\nDeliveriesTable, notification {data['notification_id']}:")
    for item in table.query(KeyConditionExpression=key)["Items"]:
        row = [str(item.get(k, "")) for k in ("owner", "installation_id", "status")]
        _say(f"  {row[0]:<8} {row[1]:<14} {row[2]:<8} {item.get('fcm_message_id', '')!s}")


def print_howto(stack: Stack) -> None:
    urls = stack.urls
    _say("\n── Local stack ─────────────────────────────────────────────────────")
    routes = "POST /ecm/events, PUT/DELETE /devices/{id}, POST /responses"
    _say(f"  web client (PWA)    {urls['web']}   sign in as bjones, then post his task:")
    _say("    .venv/bin/python -m devstack post events/web/task_assigned_bjones.json")
    _say(f"  API docs (Swagger)  {urls['docs']}")
    _say(f"  API (API Gateway)   {urls['api']}   {routes}")
    _say(f"  moto (AWS)          {urls['moto']}")
    _say(f"  FCM stand-in        {urls['fcm']}   GET /_inspect/messages")
    _say(f"  ECM stand-in        {urls['ecm']}   GET /_inspect/tasks/4713/4713/2 (bjones's)")
    _say(f"  OTDS stand-in       {urls['ecm']}/otdsws   Sign in with OTDS: asmith / asmith-local")
    _say(f"  webhook secret      {stack.config.state_dir / 'webhook_secret'}")
    _say(f"  webhook API key     {stack.config.state_dir / 'webhook_api_key'}  (x-api-key)")
    _say("  ID token            .venv/bin/python -m devstack token bjones")
    _say('  by hand with curl   README.md, "Try it by hand"')
    _say("  figures             .venv/bin/python -m devstack status")
    _say("Serving until Ctrl-C.")


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
