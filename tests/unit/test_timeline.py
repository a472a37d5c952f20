"""The evidence timeline (ecmpush_ops/timeline.py): every kind of item of a notification's
collection becomes entries in time order, including what the withdraw flow writes (the decision
on the header, `withdrawn_at` on deliveries); and `python -m ecmpush_ops timeline` finds the
stack's DeliveriesTable through CloudFormation (moto) and prints them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ecmpush_ops.__main__ import main
from ecmpush_ops.timeline import build, render

NID = "a188d93b-7a4c-5f99-9406-a9f43e1bc996"
ITEMS: list[dict[str, Any]] = [
    {
        "notification_id": NID,
        "sk": "d#bjones#phone-1",
        "owner": "bjones",
        "installation_id": "phone-1",
        "platform": "android",
        "status": "sent",
        "fcm_message_id": "projects/p/messages/1",
        "created_at": "2026-12-08T10:00:01.204Z",
        "received_at": "2026-12-08T10:00:01.910Z",
        "opened_at": "2026-12-08T10:42:13Z",
        "withdrawn_at": "2026-12-08T10:43:00Z",
        "withdrawal": "decided elsewhere",
    },
    {
        "notification_id": NID,
        "sk": "#notification",
        "created_at": "2026-12-08T10:00:00Z",
        "notification": {
            "type": "task.assigned",
            "category": "approval",
            "task": {"process_id": "4711", "subprocess_id": "4711", "task_id": "3"},
        },
        "decision": {
            "by": "asmith",
            "action": "approve",
            "platform": "web",
            "at": "2026-12-08T10:42:59+00:00",
        },
    },
    {
        "notification_id": NID,
        "sk": "d#bjones#laptop-1",
        "owner": "bjones",
        "installation_id": "laptop-1",
        "platform": "web",
        "status": "failed",
        "error_code": "INVALID_ARGUMENT",
        "created_at": "2026-12-08T10:00:01.300Z",
    },
    {
        "notification_id": NID,
        "sk": "i#bjones",
        "recipient": "bjones",
        "created_at": "2026-12-08T10:00:00Z",
        "read_at": "2026-12-08T10:42:14Z",
    },
    {
        "notification_id": NID,
        "sk": "p#cdoe",
        "owner": "cdoe",
        "outcome": "muted",
        "updated_at": "2026-12-08T10:00:01Z",
    },
    {
        "notification_id": NID,
        "sk": "r#asmith",
        "owner": "asmith",
        "action": "approve",
        "status": "applied",
        "replied_at": "2026-12-08T10:42:58Z",
        "updated_at": "2026-12-08T10:42:59.5Z",
        "installation_id": "web-1",
        "platform": "web",
    },
]


def test_every_kind_of_item_in_time_order() -> None:
    entries = build(ITEMS)
    assert [(e.what, e.who, e.device) for e in entries] == [
        ("created", "", ""),
        ("preferences: muted", "cdoe", ""),
        ("accepted by FCM", "bjones", "phone-1"),
        ("refused by FCM", "bjones", "laptop-1"),
        ("received", "bjones", "phone-1"),
        ("opened", "bjones", "phone-1"),
        ("marked read", "bjones", ""),
        ("acted on: approve", "asmith", "web-1"),
        ("decided: approve", "asmith", ""),
        ("reply applied in Content Server", "asmith", ""),
        ("withdrawn", "bjones", "phone-1"),
    ]
    assert entries[0].detail == "task.assigned (approval) task 4711/4711/3"
    assert entries[3].detail == "INVALID_ARGUMENT"
    assert entries[-1].detail == "decided elsewhere"
    assert "withdrawn" in render(entries)
    assert render([]).startswith("no items")


@mock_aws
def test_the_operator_command_reads_the_stacks_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    template = {
        "Resources": {
            "DeliveriesTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [
                        {"AttributeName": "notification_id", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "AttributeDefinitions": [
                        {"AttributeName": "notification_id", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                    ],
                },
            }
        }
    }
    cloudformation = boto3.client("cloudformation", region_name="eu-central-1")
    cloudformation.create_stack(StackName="ecmpush-prod", TemplateBody=json.dumps(template))
    name = cloudformation.describe_stack_resource(
        StackName="ecmpush-prod", LogicalResourceId="DeliveriesTable"
    )["StackResourceDetail"]["PhysicalResourceId"]
    table = boto3.resource("dynamodb", region_name="eu-central-1").Table(name)
    for item in ITEMS:
        table.put_item(Item=item)
    args = ["timeline", NID, "--stack", "ecmpush-prod", "--region", "eu-central-1", "--json"]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [e["what"] for e in printed][:3] == ["created", "preferences: muted", "accepted by FCM"]
    assert main(["timeline", NID, "--stack", "ecmpush-prod", "--region", "eu-central-1"]) == 0
    assert "reply applied in Content Server" in capsys.readouterr().out
