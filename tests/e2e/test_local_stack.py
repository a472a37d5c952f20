"""End to end over HTTP against a started local stack: ECM → webhook → SQS → dispatch → FCM."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.demo import wait_for
from tests.conftest import sample_event
from tests.e2e.conftest import RunningStack, devstack

pytestmark = pytest.mark.e2e


def _register(stack: RunningStack, user: str, installation_id: str, token: str) -> None:
    response = requests.put(
        f"{stack.api}/devices/{installation_id}",
        json={"token": token, "platform": "android"},
        headers={"Authorization": f"Bearer {stack.token(user)}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def _post(stack: RunningStack, event: dict[str, Any], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    """Through the CLI a person uses: `python -m devstack post <file>`."""
    path = tmp_path / f"{event['id']}.json"
    path.write_text(json.dumps(event))
    result = devstack(stack.state_dir, "post", str(path))
    status, _, body = result.stdout.strip().partition(" ")
    return int(status), json.loads(body)


def test_make_run_demo_passes(tmp_path: Path) -> None:
    """What `make run` does first: start everything, replay the demo, report."""
    result = devstack(tmp_path, "run", "--exit-after-demo", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Demo passed." in result.stdout
    assert "Approval needed: Approve supplier contract ACME-2026-114" in result.stdout
    assert '"status":"duplicate"' in result.stdout
    assert "disposition  Approve (by asmith)" in result.stdout
    assert "Confirmation push: Recorded: Approved" in result.stdout
    assert (
        "dlee (legal)   Contract expires in 30 days: Master Services Agreement Globex"
        in result.stdout
    )
    assert (
        "bjones   Escalation: Acknowledge updated travel policy is overdue with asmith"
        in result.stdout
    )
    assert "cust-globex-001 (external, ios)  New service report: Q4 service report" in result.stdout
    # The approver's API: the field push's document opened as the user, and refused to another.
    assert "GET /me/documents/88001/content as cwu → 200 application/pdf" in result.stdout
    assert "GET /me/documents/88001/content as asmith → 403" in result.stdout


def test_approval_push_over_http(running_stack: RunningStack, tmp_path: Path) -> None:
    _register(running_stack, "e2e-user-1", "e2e-phone-1-9f2c6a", "fcm-e2e-token-phone-0001")
    event = sample_event("task_assigned")
    event["id"] = "evt-e2e-approval"
    event["data"]["assignee"]["user_id"] = "e2e-user-1"
    assert _post(running_stack, event, tmp_path) == (202, {"id": event["id"], "status": "accepted"})

    messages = wait_for(lambda: running_stack.fcm_messages("fcm-e2e-token-phone-0001"))
    assert len(messages) == 1
    data = messages[0]["message"]["data"]
    assert data["title"].startswith("Approval needed:")
    assert data["action_token"].startswith("v1.")

    assert _post(running_stack, event, tmp_path) == (
        200,
        {"id": event["id"], "status": "duplicate"},
    )
    time.sleep(1.5)
    assert len(running_stack.fcm_messages("fcm-e2e-token-phone-0001")) == 1


def test_unregistered_token_is_removed_over_http(
    running_stack: RunningStack, tmp_path: Path
) -> None:
    token = "fcm-e2e-token-dead-0002"
    _register(running_stack, "e2e-user-2", "e2e-phone-2-9f2c6a", token)
    fault = {"match_token": token, "error": "UNREGISTERED"}
    requests.post(
        f"{running_stack.urls['fcm']}/_inspect/faults", json=fault, timeout=5
    ).raise_for_status()
    event = sample_event("task_assigned")
    event["id"] = "evt-e2e-dead-token"
    event["data"]["assignee"]["user_id"] = "e2e-user-2"
    assert _post(running_stack, event, tmp_path)[0] == 202
    wait_for(lambda: running_stack.fcm_messages(token))
    bearer = {"Authorization": f"Bearer {running_stack.token('e2e-user-2')}"}
    gone = wait_for(
        lambda: (
            requests.delete(
                f"{running_stack.api}/devices/e2e-phone-2-9f2c6a", headers=bearer, timeout=5
            ).status_code
            == 404
        )
    )
    assert gone


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Type": "application/json"}, b"{}", 401),
        ({"Content-Type": "text/plain"}, b"{}", 415),
        ({"Content-Type": "application/json"}, b"x" * (256 * 1024 + 1), 413),
        # Without the ECM sender's API key API Gateway answers before the function runs.
        ({"Content-Type": "application/json", "x-api-key": None}, b"{}", 403),
        ({"Content-Type": "application/json", "x-api-key": "not-the-key"}, b"{}", 403),
    ],
)
def test_webhook_refusals_over_http(
    running_stack: RunningStack, headers: dict[str, str | None], body: bytes, status: int
) -> None:
    key = (running_stack.state_dir / "webhook_api_key").read_text().strip()
    sent = {"x-api-key": key, **headers}
    response = requests.post(
        f"{running_stack.api}/ecm/events",
        data=body,
        headers={k: v for k, v in sent.items() if v is not None},
        timeout=10,
    )
    assert response.status_code == status
    assert "message" in response.json()


def test_unknown_route_answers_like_api_gateway(running_stack: RunningStack) -> None:
    response = requests.get(f"{running_stack.api}/nope", timeout=5)
    assert response.status_code == 403
