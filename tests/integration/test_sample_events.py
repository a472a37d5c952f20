"""The API Gateway and SQS samples in events/ (for `sam local invoke -e`) drive the real
handlers; only their placeholders (signature, ID token) are filled in."""

from __future__ import annotations

import json
import time
from typing import Any

from ecmpush.entrypoints.webhook_signature import sign
from tests.conftest import EVENTS
from tests.integration.harness import WEBHOOK_SECRET, Harness


def _sample(path: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / path).read_text())
    return event


def test_webhook_sample_is_accepted_once_signed(harness: Harness) -> None:
    event = _sample("api/webhook_task_assigned.json")
    body = event["body"].encode()
    event["headers"]["X-Ecmpush-Signature"] = sign(WEBHOOK_SECRET.encode(), int(time.time()), body)
    event["multiValueHeaders"]["X-Ecmpush-Signature"] = [event["headers"]["X-Ecmpush-Signature"]]
    result = harness.webhook.invoke(event)
    assert result["statusCode"] == 202
    assert harness.queue_depth() == 1


def test_webhook_sample_as_shipped_is_refused(harness: Harness) -> None:
    assert harness.webhook.invoke(_sample("api/webhook_task_assigned.json"))["statusCode"] == 401


def test_device_samples_register_and_remove(harness: Harness) -> None:
    bearer = f"Bearer {harness.identity.mint_id_token('asmith')}"
    for name, status in (("devices_put", 201), ("devices_delete", 204)):
        event = _sample(f"api/{name}.json")
        event["headers"]["Authorization"] = bearer
        event["multiValueHeaders"]["Authorization"] = [bearer]
        assert harness.devices_fn.invoke(event)["statusCode"] == status
    assert harness.devices_of("asmith") == []


def test_dispatch_sample_delivers(harness: Harness) -> None:
    harness.register("asmith", "phone-1-8d3f1a6c2e", "fcm-token-sample-0001")
    result = harness.dispatch.invoke(_sample("sqs/dispatch_task_assigned.json"))
    assert result == {"batchItemFailures": []}
    [message] = harness.fcm.messages(token="fcm-token-sample-0001")
    assert message["message"]["data"]["type"] == "task.assigned"
