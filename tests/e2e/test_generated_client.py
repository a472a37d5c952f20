"""docs/openapi.json drives a real client: openapi-python-client generates one into a temporary
directory, and that client (typed models, nothing hand-written but the webhook's signature hook)
registers a device, posts a signed event, reads the inbox, answers the push and reads the
refusals back as the document's error model, against the local stack."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import requests

from devstack.demo import wait_for
from devstack.openapi import OUTPUT
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

PACKAGE = "ecmpush_api_client"
USER = "apiclient"
INSTALLATION_ID = "3f0c9a62-5b1e-4d0a-9c55-1d2e3f4a5b6c"
FCM_TOKEN = "fcm-generated-client-0001"
TASK = {"process_id": 9801, "subprocess_id": 9801, "task_id": 1}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package generated from the checked-in document, imported."""
    root = tmp_path_factory.mktemp("client")
    config = root / "config.yaml"
    config.write_text("post_hooks: []\n")
    result = subprocess.run(  # noqa: S603 - the pinned generator from the venv
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(OUTPUT),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _signer(secret: str) -> Any:
    """An httpx request hook that signs the body as contract §1 says."""

    def sign(request: httpx.Request) -> None:
        t = int(time.time())
        body = request.read()
        v1 = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        request.headers["X-Ecmpush-Signature"] = f"t={t},v1={v1}"

    return sign


def _seed_task(stack: RunningStack) -> None:
    task = {
        **TASK,
        "stage": "approval",
        "title": "Approve generated client contract",
        "assignee": USER,
        "initiator": "bjones",
        "actions": [{"key": "SendOn", "label": "Send On"}],
        "custom_actions": [
            {"key": "Approve", "label": "Approve"},
            {"key": "Reject", "label": "Reject"},
        ],
    }
    user = {"login": USER, "id": 9801, "first_name": "Api", "last_name": "Client"}
    requests.post(
        f"{stack.urls['ecm']}/_inspect/seed", json={"users": [user], "tasks": [task]}, timeout=10
    ).raise_for_status()


def _push_data(stack: RunningStack) -> dict[str, str]:
    def received() -> list[dict[str, Any]]:
        response = requests.get(
            f"{stack.urls['fcm']}/_inspect/messages", params={"token": FCM_TOKEN}, timeout=5
        )
        response.raise_for_status()
        return list(response.json()["messages"])

    messages = wait_for(received)
    assert len(messages) == 1
    return dict(messages[0]["message"]["data"])


def test_generated_client_registers_posts_reads_and_replies(
    running_stack: RunningStack, generated: ModuleType
) -> None:
    models = _module("models")
    app = generated.AuthenticatedClient(base_url=running_stack.api, token=running_stack.token(USER))
    api_key = (running_stack.state_dir / "webhook_api_key").read_text().strip()
    secret = (running_stack.state_dir / "webhook_secret").read_text().strip()
    ecm = generated.AuthenticatedClient(
        base_url=running_stack.api,
        token=api_key,
        prefix="",
        auth_header_name="x-api-key",
        httpx_args={"event_hooks": {"request": [_signer(secret)]}},
    )
    _seed_task(running_stack)

    registration = models.DeviceRegistration(
        token=FCM_TOKEN, platform=models.DeviceRegistrationPlatform.ANDROID
    )
    registered = _module("api.devices.register_device").sync_detailed(
        INSTALLATION_ID, client=app, body=registration
    )
    assert registered.status_code == 201
    assert isinstance(registered.parsed, models.RegisteredDevice)
    assert registered.parsed.owner == USER
    assert registered.parsed.installation_id == INSTALLATION_ID

    event = models.TaskAssigned.from_dict(
        {
            "id": "evt-generated-client-0001",
            "type": "task.assigned",
            "occurred_at": "2026-11-28T10:00:00Z",
            "tenant": "acme",
            "data": {
                "task": {**TASK, "title": "Approve generated client contract", "stage": "approval"},
                "assignee": {"user_id": USER},
            },
        }
    )
    posted = _module("api.ecm.post_ecm_events").sync_detailed(client=ecm, body=event)
    assert posted.status_code == 202, posted.content
    assert isinstance(posted.parsed, models.EventResult)
    assert posted.parsed.status == models.EventResultStatus.ACCEPTED

    data = _push_data(running_stack)
    assert data["actions"] == "approve,reject,request_info"

    page = _module("api.notifications.list_notifications").sync(client=app, limit=10)
    assert isinstance(page, models.NotificationPage)
    assert [n.notification_id for n in page.notifications] == [data["notification_id"]]
    assert page.notifications[0].deliveries[0].status == "sent"

    reply = models.ReplyRequest(
        action_token=data["action_token"],
        action=models.ReplyRequestAction.APPROVE,
        comment="fine by the generated client",
        installation_id=INSTALLATION_ID,
    )
    answered = _module("api.replies.post_response").sync_detailed(client=app, body=reply)
    assert answered.status_code == 202, answered.content
    assert isinstance(answered.parsed, models.ReplyAccepted)
    assert answered.parsed.status == models.ReplyAcceptedStatus.APPLIED
    task = requests.get(f"{running_stack.urls['ecm']}/_inspect/tasks/9801/9801/1", timeout=5)
    assert task.json()["status"] == "completed"

    again = _module("api.replies.post_response").sync_detailed(client=app, body=reply)
    assert again.status_code == 409
    assert isinstance(again.parsed, models.ErrorBody)
    assert again.parsed.message


def test_generated_client_reads_schema_refusals_and_preferences(
    running_stack: RunningStack, generated: ModuleType
) -> None:
    models = _module("models")
    app = generated.AuthenticatedClient(
        base_url=running_stack.api, token=running_stack.token("apiclient-2")
    )
    preferences = models.Preferences.from_dict(
        {
            "muted_categories": ["expiry"],
            "quiet_hours": {"start": "22:00", "end": "06:00", "timezone": "Europe/Berlin"},
        }
    )
    saved = _module("api.preferences.put_preferences").sync(client=app, body=preferences)
    assert isinstance(saved, models.Preferences)
    read = _module("api.preferences.get_preferences").sync(client=app)
    assert isinstance(read, models.Preferences)
    assert read.to_dict() == saved.to_dict()
    assert read.quiet_hours.timezone == "Europe/Berlin"

    weak = models.DeviceRegistration(
        token=FCM_TOKEN, platform=models.DeviceRegistrationPlatform.WEB
    )
    refused = _module("api.devices.register_device").sync_detailed(
        "my-phone", client=app, body=weak
    )
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.ErrorBody)
    assert [error.path for error in refused.parsed.errors] == ["installation_id"]

    gone = _module("api.devices.unregister_device").sync_detailed(INSTALLATION_ID, client=app)
    assert gone.status_code == 404
    assert isinstance(gone.parsed, models.ErrorBody)
