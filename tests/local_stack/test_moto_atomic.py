"""The local stand-in's transactions stay all-or-nothing after devstack stops moto from copying
whole tables for the rollback: a cancelled transaction leaves every item it named as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack.moto_atomic import make_dynamodb_atomic


@pytest.fixture
def table() -> Iterator[Any]:
    make_dynamodb_atomic()
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="eu-central-1")
        created = resource.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        created.put_item(Item={"pk": "n-1", "sk": "a", "status": "old", "tags": {"x": [1, 2]}})
        yield created


def _update(sk: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": "t",
            "Key": {"pk": "n-1", "sk": sk},
            "UpdateExpression": "SET #s = :new REMOVE tags",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":new": "new"},
        }
    }


def _items(table: Any) -> dict[str, Any]:
    return {i["sk"]: i for i in table.scan()["Items"]}


def test_a_cancelled_transaction_puts_back_every_item_it_touched(table: Any) -> None:
    before = _items(table)
    failing = {
        "ConditionCheck": {
            "TableName": "t",
            "Key": {"pk": "n-1", "sk": "missing"},
            "ConditionExpression": "attribute_exists(sk)",
        }
    }
    put = {"Put": {"TableName": "t", "Item": {"pk": "n-1", "sk": "b", "status": "new"}}}
    with pytest.raises(ClientError, match="TransactionCanceled"):
        table.meta.client.transact_write_items(TransactItems=[_update("a"), put, failing])
    assert _items(table) == before


def test_a_committed_transaction_writes_every_item(table: Any) -> None:
    put = {"Put": {"TableName": "t", "Item": {"pk": "n-1", "sk": "b", "status": "new"}}}
    table.meta.client.transact_write_items(TransactItems=[_update("a"), put])
    items = _items(table)
    assert {k: v["status"] for k, v in items.items()} == {"a": "new", "b": "new"}
    assert "tags" not in items["a"]
