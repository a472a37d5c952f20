"""DynamoDB's batch calls may answer 200 and leave part of the request undone; the helpers
resend exactly that part and give up loudly, never silently. Transactions report which item's
condition failed, with the item as it stood, in Python values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ecmpush.adapters.dynamo_batch import (
    TransactionConflict,
    Unprocessed,
    batch_get,
    batch_put,
    transact,
)


class ScriptedClient:
    """Answers batch calls from a script: each answer leaves `undone[i]` of the request."""

    def __init__(self, undone: list[dict[str, Any]]) -> None:
        self.undone = undone
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        keys = RequestItems["t"]["Keys"]
        left = self.undone.pop(0) if self.undone else {}
        left_keys = left.get("t", {}).get("Keys", [])
        done = [k for k in keys if k not in left_keys]
        return {"Responses": {"t": [{**k, "found": True} for k in done]}, "UnprocessedKeys": left}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        return {"UnprocessedItems": self.undone.pop(0) if self.undone else {}}


class ScriptedTable:
    name = "t"

    def __init__(self, client: Any) -> None:
        self.meta = type("Meta", (), {"client": client})()


def test_batch_get_resends_the_unprocessed_keys_and_returns_every_item() -> None:
    keys = [{"owner": f"u{n}", "installation_id": "#roster"} for n in range(3)]
    client = ScriptedClient([{"t": {"Keys": keys[1:], "ConsistentRead": True}}])
    found = batch_get(ScriptedTable(client), keys, sleep=lambda _: None)  # type: ignore[arg-type]
    assert sorted(i["owner"] for i in found) == ["u0", "u1", "u2"]
    assert [r["t"]["Keys"] for r in client.requests] == [keys, keys[1:]]


def test_batch_put_goes_25_to_a_call_and_gives_up_loudly_when_never_done() -> None:
    items = [{"pk": str(n)} for n in range(30)]
    client = ScriptedClient([])
    assert batch_put(ScriptedTable(client), items, sleep=lambda _: None) == 2  # type: ignore[arg-type]
    assert [len(r["t"]) for r in client.requests] == [25, 5]
    stuck = {"t": [{"PutRequest": {"Item": {"pk": "0"}}}]}
    client = ScriptedClient([stuck] * 20)
    with pytest.raises(Unprocessed):
        batch_put(ScriptedTable(client), items[:1], sleep=lambda _: None)  # type: ignore[arg-type]


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="eu-central-1")
        yield resource.create_table(
            TableName="claims",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def _claim(pk: str) -> dict[str, Any]:
    return {
        "Put": {
            "Item": {"pk": pk, "status": "sending", "n": 1},
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def test_a_refused_transaction_names_the_item_and_writes_nothing(table: Any) -> None:
    assert transact(table, [_claim("a")]) == []
    refused = transact(table, [_claim("b"), _claim("a")])
    assert [(r.index, r.current) for r in refused] == [
        (1, {"pk": "a", "status": "sending", "n": 1})
    ]
    assert "Item" not in table.get_item(Key={"pk": "b"})  # all or nothing


class ConflictingClient:
    """What DynamoDB answers when another transaction held one of the items at that moment."""

    def transact_write_items(self, TransactItems: list[Any]) -> None:
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
            },
            "TransactWriteItems",
        )


def test_a_transaction_cancelled_without_a_failed_condition_is_a_conflict() -> None:
    conflicting = ScriptedTable(ConflictingClient())
    with pytest.raises(TransactionConflict):
        transact(conflicting, [_claim("c"), _claim("d")])  # type: ignore[arg-type]


def test_more_than_a_hundred_actions_are_refused_before_calling(table: Any) -> None:
    with pytest.raises(ValueError, match="at most 100"):
        transact(table, [_claim(str(n)) for n in range(101)])


def test_every_table_client_has_a_pool_for_dispatch_threads_and_bounded_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ecmpush.adapters.dynamo import table

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws():
        config: Any = table("any").meta.client.meta.config  # botocore.config.Config
    assert config.max_pool_connections >= 16  # Dispatch's worker threads
    assert (config.connect_timeout, config.read_timeout) == (2, 5)
    assert config.retries["mode"] == "standard"
    assert config.retries["total_max_attempts"] == 3
