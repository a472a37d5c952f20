"""Handlers of the template, invoked in-process against moto (`mock_aws`) and the FCM stand-in,
with the environment the template gives them: the integration layer between unit tests and the
HTTP end-to-end tests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

import boto3
import botocore.client
from boto3.dynamodb.conditions import Key
from botocore.exceptions import EndpointConnectionError

from devstack import template as cfn
from devstack.api_router import proxy_event
from devstack.ecm_standin import EcmStandIn
from devstack.fcm_standin import RunningFcmStandIn
from devstack.identity import LocalIdentity
from devstack.lambda_runtime import LocalFunction
from devstack.resources import Provisioned
from devstack.sqs_poller import SqsPoller
from ecmpush.entrypoints.webhook_signature import sign
from tests.iam import IamEnforcer

WEBHOOK_SECRET = "test-webhook-secret-current"
ACTION_TOKEN_KEY = "test-action-token-key"


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _reply(result: dict[str, Any]) -> Reply:
    raw = result.get("body") or ""
    try:
        body = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        body = raw
    headers = dict(result.get("headers") or {})
    headers.update({k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items() if v})
    return Reply(int(result["statusCode"]), body, headers)


def _drain(poller: SqsPoller, rounds: int) -> int:
    total = 0
    for _ in range(rounds):
        received = poller.poll_once()
        total += received
        if not received:
            break
    return total


@contextmanager
def table_unreachable(table_name: str) -> Iterator[None]:
    """Every call on `table_name` fails as if DynamoDB could not be reached; others go through."""
    real_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if params.get("TableName") == table_name:
            raise EndpointConnectionError(endpoint_url="https://dynamodb")
        return real_call(client, operation, params)

    with patch.object(botocore.client.BaseClient, "_make_api_call", call):
        yield


class Harness:
    def __init__(
        self,
        provisioned: Provisioned,
        identity: LocalIdentity,
        fcm: RunningFcmStandIn,
        ecm: EcmStandIn,
    ) -> None:
        self.provisioned = provisioned
        self.identity = identity
        self.fcm = fcm
        self.ecm = ecm
        specs = cfn.functions(cfn.load())
        self.webhook = LocalFunction(specs["WebhookIntakeFunction"])
        self.devices_fn = LocalFunction(specs["DevicesFunction"])
        self.dispatch = LocalFunction(specs["DispatchFunction"])
        self.responses_fn = LocalFunction(specs["ResponseCallbackFunction"])
        self.write_back = LocalFunction(specs["WriteBackFunction"])
        self.approver_fn = LocalFunction(specs["ApproverFunction"])
        self._scheduled: dict[str, LocalFunction] = {}
        self.sqs = boto3.client("sqs")
        self.dynamodb = boto3.resource("dynamodb")
        self.iam: IamEnforcer | None = None  # set by the fixture: the template's IAM, enforced

    # -- AWS resources -------------------------------------------------------------------------
    @property
    def queue_url(self) -> str:
        return self.provisioned.refs["DispatchQueue"]

    @property
    def write_back_url(self) -> str:
        return self.provisioned.refs["WriteBackQueue"]

    @property
    def dlq_url(self) -> str:
        return self.provisioned.refs["DispatchDeadLetterQueue"]

    def table(self, logical_id: str) -> Any:
        return self.dynamodb.Table(self.provisioned.refs[logical_id])

    def queue_depth(self, url: str | None = None) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url or self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def deliveries(self, notification_id: str) -> list[dict[str, Any]]:
        items = self.table("DeliveriesTable").query(
            KeyConditionExpression=Key("notification_id").eq(notification_id)
        )["Items"]
        return [item for item in items if str(item["sk"]).startswith("d#")]

    def devices_of(self, owner: str) -> list[dict[str, Any]]:
        """The owner's items in DevicesTable, but the roster (an index of the others)."""
        from ecmpush.adapters.devices_repository import ROSTER_KEY  # not at collection time

        items = self.table("DevicesTable").query(KeyConditionExpression=Key("owner").eq(owner))
        return [i for i in items["Items"] if i["installation_id"] != ROSTER_KEY]

    def roster_of(self, owner: str) -> dict[str, Any] | None:
        """The devices Dispatch reads for `owner`, by installation id (None: no roster yet)."""
        from ecmpush.adapters.devices_repository import ROSTER_KEY

        item = self.table("DevicesTable").get_item(
            Key={"owner": owner, "installation_id": ROSTER_KEY}, ConsistentRead=True
        )
        return dict(item["Item"]["devices"]) if "Item" in item else None

    # -- webhook ---------------------------------------------------------------------------------
    def post_raw(self, body: bytes, headers: dict[str, str]) -> Reply:
        event = proxy_event(
            "POST",
            "/ecm/events",
            "/ecm/events",
            headers={k: [v] for k, v in headers.items()},
            body=body,
        )
        return _reply(self.webhook.invoke(event))

    def post_event(
        self,
        event: dict[str, Any] | bytes,
        *,
        secret: str = WEBHOOK_SECRET,
        timestamp: int | None = None,
        content_type: str = "application/json",
    ) -> Reply:
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        signature = sign(secret.encode(), timestamp or int(time.time()), body)
        return self.post_raw(body, {"Content-Type": content_type, "X-Ecmpush-Signature": signature})

    # -- app API (Firebase ID token) -------------------------------------------------------------
    def app_call(
        self,
        function: LocalFunction,
        method: str,
        path: str,
        body: Any = None,
        *,
        bearer: str | None = None,
        resource: str | None = None,
        path_params: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Reply:
        """One request to an app-facing function, the way API Gateway would deliver it."""
        headers = {"Content-Type": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        event = proxy_event(
            method,
            path,
            resource or path,
            headers={k: [v] for k, v in headers.items()},
            body=json.dumps(body).encode() if body is not None else b"",
            path_params=path_params,
            query={k: [v] for k, v in (query or {}).items()},
        )
        return _reply(function.invoke(event))

    def device_call(
        self,
        method: str,
        installation_id: str,
        body: dict[str, Any] | None = None,
        *,
        bearer: str | None = None,
        resource: str = "/devices/{installation_id}",
    ) -> Reply:
        templated = "{" in resource
        return self.app_call(
            self.devices_fn,
            method,
            resource.replace("{installation_id}", installation_id),
            body,
            bearer=bearer,
            resource=resource,
            path_params={"installation_id": installation_id} if templated else None,
        )

    def register(
        self,
        user: str,
        installation_id: str,
        token: str,
        platform: str = "android",
        **extra: Any,
    ) -> Reply:
        reply = self.device_call(
            "PUT",
            installation_id,
            {"token": token, "platform": platform, **extra},
            bearer=self.identity.mint_id_token(user),
        )
        assert reply.status in (200, 201), reply
        return reply

    # -- dispatch --------------------------------------------------------------------------------
    def poller(self) -> SqsPoller:
        return SqsPoller(self.queue_url, self.provisioned.arns["DispatchQueue"], self.dispatch)

    def drain(self, rounds: int = 5) -> int:
        """Deliver everything visible on the dispatch queue, like the event source mapping."""
        return _drain(self.poller(), rounds)

    def invoke_dispatch(self, bodies: list[str]) -> dict[str, Any]:
        """Invoke Dispatch with records whose receipt handles are real (sent, then received)."""
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )["Messages"]
        poller = self.poller()
        event = {"Records": [poller._record(m) for m in messages]}
        result: dict[str, Any] = self.dispatch.invoke(event)
        return result

    # -- replies ---------------------------------------------------------------------------------
    def reply(self, body: dict[str, Any], *, bearer: str | None) -> Reply:
        return self.app_call(self.responses_fn, "POST", "/responses", body, bearer=bearer)

    def drain_write_back(self, rounds: int = 5) -> int:
        arn = self.provisioned.arns["WriteBackQueue"]
        return _drain(SqsPoller(self.write_back_url, arn, self.write_back), rounds)

    # -- scheduled functions -------------------------------------------------------------------
    def scheduled(
        self, logical_id: str, now: str | None = None, *, context: Any = None
    ) -> dict[str, Any]:
        """Invoke a scheduled function as its schedule does (`{"now": <scheduled time>}`); with
        `context`, the handler runs with that Lambda context (e.g. a scripted time budget)."""
        if logical_id not in self._scheduled:
            self._scheduled[logical_id] = LocalFunction(cfn.functions(cfn.load())[logical_id])
        function = self._scheduled[logical_id]
        event = {"now": now} if now else {}
        if context is None:
            result: dict[str, Any] = function.invoke(event)
        else:
            result = function.module.lambda_handler(event, context)
        return result

    def sweep_sla(self, now: str | None = None, *, context: Any = None) -> dict[str, Any]:
        return self.scheduled("SlaSweepFunction", now, context=context)

    def sweep_expiry(self, now: str | None = None, *, context: Any = None) -> dict[str, Any]:
        return self.scheduled("ExpirySweepFunction", now, context=context)

    def record_item(self, record_key: str) -> dict[str, Any] | None:
        """The RecordsTable item of a record (None when not stored)."""
        item: dict[str, Any] | None = (
            self.table("RecordsTable")
            .get_item(Key={"record_key": record_key}, ConsistentRead=True)
            .get("Item")
        )
        return item
