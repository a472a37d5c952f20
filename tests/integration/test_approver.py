"""The approver's API (issue 25) through ApproverFunction, against the Content Server stand-in
and moto, with the template's IAM enforced: what is waiting is what Content Server lists for
the caller (asked as the caller), joined with ecmpush's push and reply; documents are read as
the caller, so Content Server's permissions decide (403), an unknown node is 404."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from devstack.api_router import proxy_event
from devstack.ecm_standin import EcmStandIn
from tests.conftest import sample_event
from tests.integration.harness import Harness

CONTENT = Path(__file__).resolve().parents[2] / "devstack" / "ecm_content"
TASK_ROUTE = "/me/tasks/{process_id}/{subprocess_id}/{task_id}"


def _get(
    h: Harness, path: str, user: str | None, *, resource: str | None = None,
    path_params: dict[str, str] | None = None, external_id: str | None = None,
) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
    """(status, JSON body or the raw bytes of a binary answer, headers)."""
    headers = {"Accept": ["application/pdf"]}
    if user is not None or external_id is not None:
        token = h.identity.mint_id_token(user, external_id=external_id)
        headers["Authorization"] = [f"Bearer {token}"]
    event = proxy_event("GET", path, resource or path, headers=headers, path_params=path_params)
    result = h.approver_fn.invoke(event)
    raw = result.get("body") or ""
    body: Any
    if result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = json.loads(raw) if raw else None
    answered: dict[str, str] = dict(result.get("headers") or {})
    answered.update({k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items() if v})
    return int(result["statusCode"]), body, answered


def _task(h: Harness, user: str, p: str, s: str, t: str) -> tuple[int, Any]:
    status, body, _ = _get(
        h,
        f"/me/tasks/{p}/{s}/{t}",
        user,
        resource=TASK_ROUTE,
        path_params={"process_id": p, "subprocess_id": s, "task_id": t},
    )
    return status, body


Answer = tuple[int, Any, dict[str, str]]


def _document(h: Harness, user: str | None, node_id: str, what: str) -> Answer:
    return _get(
        h,
        f"/me/documents/{node_id}/{what}",
        user,
        resource=f"/me/documents/{{node_id}}/{what}",
        path_params={"node_id": node_id},
    )


def _keys(body: Any) -> list[str]:
    return [f"{t['process_id']}/{t['subprocess_id']}/{t['task_id']}" for t in body["tasks"]]


def _seed_due_dates(ecm: EcmStandIn) -> None:
    """One step long overdue, one far ahead, both asmith's (no timed assertion: the dates are
    decades away from any clock this runs on)."""
    ecm.seed(
        {
            "tasks": [
                {"process_id": 4711, "subprocess_id": 4711, "task_id": 1, "stage": "approval",
                 "title": "Approve supplier contract ACME-2026-114", "assignee": "asmith",
                 "initiator": "bjones", "instructions": "Check the liability cap.",
                 "due_date": "2001-01-01T09:00:00", "priority": "high",
                 "actions": [{"key": "SendOn", "label": "Send On"}],
                 "custom_actions": [{"key": "Approve", "label": "Approve"},
                                    {"key": "Reject", "label": "Reject"}]},
                {"process_id": 4714, "subprocess_id": 4714, "task_id": 1, "stage": "task",
                 "title": "Acknowledge updated travel policy", "assignee": "asmith",
                 "initiator": "dlee", "due_date": "2099-06-30T12:00:00Z",
                 "actions": [{"key": "SendOn", "label": "Send On"}], "custom_actions": []},
            ]
        }
    )  # fmt: skip


def test_waiting_list_is_content_servers_with_the_push_state(
    harness: Harness, ecm_standin: EcmStandIn
) -> None:
    _seed_due_dates(ecm_standin)
    harness.register("asmith", "phone-1-8d3f1a6c2e", "fcm-token-asmith-0001")
    harness.post_event(sample_event("task_assigned"))  # step 4711/4711/1, document 90210
    harness.drain()

    status, body, _ = _get(harness, "/me/tasks", "asmith")
    assert status == 200
    # asmith's two open steps, overdue first; cwu's and bjones's steps are not listed.
    assert _keys(body) == ["4711/4711/1", "4714/4714/1"]
    overdue, ahead = body["tasks"]
    assert (overdue["overdue"], ahead["overdue"]) == (True, False)
    assert overdue["due_at"].startswith("2001-01-01T09:00:00")
    assert overdue["priority"] == "high"
    assert overdue["stage"] == "approval"
    assert overdue["sender"]["login"] == "bjones"
    assert overdue["sender"]["user_id"] == 1002
    assert overdue["document"]["node_id"] == "90210"
    push = overdue["push"]
    assert push["actions"] == ["approve", "reject", "request_info"]
    assert push["action_token"] == "open"
    assert push["reply"] is None
    # The step ecmpush never heard of is listed all the same, without a push.
    assert ahead["push"] is None
    assert ahead["document"] is None

    # cwu sees only cwu's steps.
    status, body, _ = _get(harness, "/me/tasks", "cwu")
    assert status == 200
    assert _keys(body) == ["4712/4712/1", "4715/4716/3"]


def test_a_reply_shows_as_answered_and_a_step_sent_on_disappears(
    harness: Harness, ecm_standin: EcmStandIn
) -> None:
    harness.register("asmith", "phone-1-8d3f1a6c2e", "fcm-token-asmith-0001")
    harness.post_event(sample_event("task_assigned"))
    harness.drain()
    _, body, _ = _get(harness, "/me/tasks", "asmith")
    nid = next(t for t in body["tasks"] if t["process_id"] == "4711")["push"]["notification_id"]
    token = next(
        m["message"]["data"]["action_token"]
        for m in harness.fcm.messages()
        if m["message"]["data"]["notification_id"] == nid
    )
    bearer = harness.identity.mint_id_token("asmith")
    reply = harness.reply({"action_token": token, "action": "approve"}, bearer=bearer)
    assert reply.status == 202
    harness.drain_write_back()
    # Content Server sent the step on: it is no longer in asmith's inbox, so it is not listed,
    # although ecmpush still tracks it.
    assert ecm_standin.task(4711, 4711, 1)["status"] != "open"
    _, body, _ = _get(harness, "/me/tasks", "asmith")
    assert "4711/4711/1" not in _keys(body)
    assert _task(harness, "asmith", "4711", "4711", "1")[0] == 404


def test_task_view_for_the_callers_step_only(harness: Harness, ecm_standin: EcmStandIn) -> None:
    _seed_due_dates(ecm_standin)
    harness.register("asmith", "phone-1-8d3f1a6c2e", "fcm-token-asmith-0001")
    harness.post_event(sample_event("task_assigned"))
    harness.drain()
    status, view = _task(harness, "asmith", "4711", "4711", "1")
    assert status == 200
    assert view["title"] == "Approve supplier contract ACME-2026-114"
    assert view["instructions"] == "Check the liability cap."
    assert [a["key"] for a in view["actions"]] == ["Approve", "Reject", "SendOn"]
    assert view["initiator"]["login"] == "bjones"
    assert [p["type"] for p in view["pushes"]] == ["task.assigned"]
    assert any(
        e["source"] == "ecmpush" and e["what"] == "push task.assigned" for e in view["history"]
    )
    # Another user's step: 404 whether it exists (cwu's 4712) or not.
    assert _task(harness, "asmith", "4712", "4712", "1")[0] == 404
    assert _task(harness, "asmith", "999", "999", "9")[0] == 404
    # Not a Content Server id: the schema refuses it.
    assert _task(harness, "asmith", "47x", "4711", "1")[0] == 422


def test_documents_are_read_as_the_caller(harness: Harness) -> None:
    pdf = (CONTENT / "lockout-tagout-procedure.pdf").read_bytes()
    # cwu is in "Field Operations", which may open the field team's safety form.
    status, body, headers = _document(harness, "cwu", "88001", "content")
    assert status == 200
    assert body == pdf
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Cache-Control"] == "private, no-store"
    # bjones is in "Field Contractors", a member group of "Field Operations": the photo opens.
    status, body, headers = _document(harness, "bjones", "88002", "content")
    assert status == 200
    assert headers["Content-Type"] == "image/png"
    assert body == (CONTENT / "pump-station-photo.png").read_bytes()
    # asmith may see the safety form (See) but not open it (no See Contents): 403 on content.
    status, body, _ = _document(harness, "asmith", "88001", "metadata")
    assert status == 200
    assert body == {
        "node_id": "88001",
        "name": "Lockout-tagout procedure rev. 7",
        "mime_type": "application/pdf",
        "size": len(pdf),
        "modified_at": "2026-11-02T16:30:00Z",
        "too_large": False,
        "max_bytes": 4 * 1024 * 1024,
    }
    assert _document(harness, "asmith", "88001", "content")[0] == 403
    # The photo is hidden from asmith altogether: 403, not the node's name.
    status, body, _ = _document(harness, "asmith", "88002", "metadata")
    assert status == 403
    assert "Pump" not in str(body)
    assert _document(harness, "asmith", "88002", "content")[0] == 403
    # No such node: 404; not an id: 422; no token: 401.
    assert _document(harness, "cwu", "99999", "content")[0] == 404
    assert _document(harness, "cwu", "99999", "metadata")[0] == 404
    assert _document(harness, "cwu", "8800x", "content")[0] == 422
    assert _document(harness, None, "88001", "content")[0] == 401


def test_content_server_saw_each_read_as_the_caller(
    harness: Harness, ecm_standin: EcmStandIn
) -> None:
    _document(harness, "cwu", "88001", "content")
    _get(harness, "/me/tasks", "asmith")
    reads = [
        (r["path"], r["user"])
        for r in ecm_standin.requests()
        if r["path"].startswith(("/api/v2/nodes/88001", "/api/v2/members/assignments"))
    ]
    assert ("/api/v2/nodes/88001/content", "cwu") in reads
    assert ("/api/v2/members/assignments", "asmith") in reads
    assert all(user != "svc-ecmpush" for path, user in reads if path.endswith("/content"))


def test_external_stakeholders_have_no_inbox(harness: Harness) -> None:
    status, _body, _ = _get(harness, "/me/tasks", None, external_id="cust-globex-001")
    assert status == 403
    status, _, _ = _document(harness, None, "88001", "content")
    assert status == 401


@pytest.mark.parametrize("path", ["/me/tasks", "/me/documents/88001/metadata"])
def test_content_server_down_is_503_with_retry_after(
    harness: Harness, ecm_standin: EcmStandIn, path: str
) -> None:
    ecm_standin.outage(60)
    resource = "/me/documents/{node_id}/metadata" if "documents" in path else path
    params = {"node_id": "88001"} if "documents" in path else None
    status, _, headers = _get(harness, path, "cwu", resource=resource, path_params=params)
    assert status == 503
    assert int(headers["Retry-After"]) >= 1
