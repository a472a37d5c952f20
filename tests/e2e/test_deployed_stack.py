"""The same contract against a deployed stack, as aws-samples' serverless-test-samples do: set
`AWS_SAM_STACK_NAME` (and AWS credentials for its account and region) and these tests find the
API, the webhook API key and the webhook secret from the stack's outputs and exercise what a
sender and an app meet over HTTPS. Without the variable they are skipped: CI has no AWS account.
They send one signed `task.assigned` for an unknown assignee (accepted, then a duplicate), so
nothing reaches a real person."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from ecmpush.entrypoints.webhook_signature import sign
from tests.conftest import sample_event

STACK = os.environ.get("AWS_SAM_STACK_NAME")
pytestmark = pytest.mark.skipif(
    not STACK, reason="AWS_SAM_STACK_NAME is not set (no deployed stack)"
)


@dataclass(frozen=True)
class Deployed:
    api: str
    api_key: str
    webhook_secret: bytes


@pytest.fixture(scope="module")
def deployed() -> Deployed:
    import boto3

    stack = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    key = boto3.client("apigateway").get_api_key(
        apiKey=outputs["WebhookApiKeyId"], includeValue=True
    )["value"]
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=outputs["WebhookSecretArn"])
    return Deployed(outputs["ApiBaseUrl"].rstrip("/"), key, secret["SecretString"].encode())


def _post(deployed: Deployed, body: bytes, **headers: str) -> requests.Response:
    return requests.post(
        f"{deployed.api}/ecm/events",
        data=body,
        headers={"Content-Type": "application/json", "x-api-key": deployed.api_key, **headers},
        timeout=15,
    )


def _event() -> dict[str, Any]:
    event = sample_event("task_assigned")
    event["id"] = f"e2e-{uuid.uuid4()}"
    event["data"]["assignee"] = {"user_id": "ecmpush-e2e-nobody"}
    return event


def test_a_signed_event_is_accepted_once_then_answered_duplicate(deployed: Deployed) -> None:
    body = json.dumps(_event()).encode()
    signature = sign(deployed.webhook_secret, int(time.time()), body)
    first = _post(deployed, body, **{"X-Ecmpush-Signature": signature})
    assert first.status_code == 202, first.text
    again = _post(deployed, body, **{"X-Ecmpush-Signature": signature})
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "duplicate"


def test_the_webhook_refuses_what_it_cannot_trust(deployed: Deployed) -> None:
    body = json.dumps(_event()).encode()
    assert _post(deployed, body).status_code == 401  # no signature
    forged = sign(b"not-the-secret", int(time.time()), body)
    assert _post(deployed, body, **{"X-Ecmpush-Signature": forged}).status_code == 401
    no_key = requests.post(
        f"{deployed.api}/ecm/events",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=15,
    )
    assert no_key.status_code == 403  # API Gateway: the usage plan's key is missing


def test_the_app_api_needs_a_firebase_id_token(deployed: Deployed) -> None:
    for method, path in (("GET", "/me/notifications"), ("POST", "/responses")):
        answer = requests.request(method, f"{deployed.api}{path}", json={}, timeout=15)
        assert answer.status_code == 401, (path, answer.text)
