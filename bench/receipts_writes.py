"""receipts_writes: DynamoDB calls per receipt of `POST /me/receipts` (issue 23: at most one
write per receipt), counted on the service and repository the Devices function builds, against
moto in-process, on deliveries written the way Dispatch writes them (claim, then the outcome).

Cases, each one full request of MAX_RECEIPTS receipts:
- first_reports: one receipt each for 25 different deliveries (25 writes: one per receipt);
- same_delivery: received/displayed/opened/dismissed reported together for a few deliveries
  (one write per delivery, not per receipt);
- repeat: the first request again (every report already kept: no write);
- unknown: 25 receipts for installations of another user (refused: no write).
Calls are counted by wrapping botocore's `_make_api_call`; times are moto's, not AWS's (the
count is the figure that transfers)."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._common import Json, Row, Spec, stats
from bench.webhook_intake import count_api_calls

NAME = "receipts_writes"
REPETITIONS = 5
WRITES = frozenset({"dynamodb.UpdateItem", "dynamodb.PutItem", "dynamodb.BatchWriteItem"})


def _table() -> Any:
    import boto3

    dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
    return dynamodb.create_table(
        TableName="DeliveriesTable",
        KeySchema=[
            {"AttributeName": "notification_id", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "notification_id", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _sent(table: Any, owner: str, devices: int, now: datetime) -> list[tuple[str, str]]:
    """Notifications sent to `devices` installations of `owner`, written as Dispatch does."""
    from ecmpush.adapters.deliveries_repository import DeliveriesRepository
    from ecmpush.domain.delivery.notifications import Notification, notification_id
    from ecmpush.domain.delivery.outcomes import DeliveryOutcome, DeliveryStatus, DeliveryTarget

    repository = DeliveriesRepository(table, retention_days=30)
    sent = []
    for n in range(devices):
        notification = Notification(
            id=notification_id(f"evt-bench-receipts-{owner}-{n}", "task.assigned"),
            type="task.assigned",
            category="approval",
            source_id=f"evt-{n}",
            recipients=[owner],
            template="task.assigned.approval",
            deep_link="https://app.example.com/tasks/1",
            apns_category="ECM_APPROVAL",
            created_at=now,
        )
        target = DeliveryTarget(owner, f"phone-{n:04d}-8d3f1a6c2e", "android")
        repository.save_notification(notification, [owner], now)
        repository.claim(notification, [target], now, lease_seconds=60)
        outcome = DeliveryOutcome(target, DeliveryStatus.SENT, message_id=f"m-{n}")
        repository.save_outcomes(notification, now, [outcome])
        sent.append((notification.id, target.installation_id))
    return sent


def _batch(pairs: list[tuple[str, str]], events: list[str], at: datetime) -> Any:
    from ecmpush.domain.delivery.receipts import ReceiptBatch

    receipts = [
        {"notification_id": nid, "installation_id": iid, "event": event, "at": at.isoformat()}
        for nid, iid in pairs
        for event in events
    ]
    return ReceiptBatch.model_validate({"receipts": receipts})


def _measure(service: Any, principal: Any, batch: Any) -> tuple[Json, Counter[str], Any]:
    with count_api_calls() as calls:
        report = service.report(principal, batch)
    started = time.perf_counter()
    service.report(principal, batch)  # timed repeat: the same calls as a repeat request
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed}, calls, report


def run(quick: bool) -> Json:
    from moto import mock_aws

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "testing")
    from ecmpush.adapters.receipts_repository import ReceiptsRepository
    from ecmpush.domain.delivery.receipts import MAX_RECEIPTS
    from ecmpush.domain.identity import Principal
    from ecmpush.services.receipts import ReceiptsService

    cases: Json = {}
    with mock_aws():
        table = _table()
        now = datetime.now(UTC) - timedelta(minutes=1)
        repetitions = 1 if quick else REPETITIONS
        for rep in range(repetitions):
            owner = f"bench{rep}"
            principal = Principal(f"uid-{rep}", owner)
            service = ReceiptsService(lambda: ReceiptsRepository(table), lambda: datetime.now(UTC))
            many = _sent(table, owner, MAX_RECEIPTS, now)
            few = _sent(table, f"{owner}few", 6, now)
            others = _sent(table, f"{owner}other", MAX_RECEIPTS, now)
            plans = {
                "first_reports": (principal, _batch(many, ["received"], now)),
                "same_delivery": (
                    Principal(f"uid-few-{rep}", f"{owner}few"),
                    _batch(few, ["received", "displayed", "opened", "dismissed"], now),
                ),
                "repeat": (principal, _batch(many, ["received"], now)),
                "unknown": (principal, _batch(others, ["opened"], now)),
            }
            for case, (caller, batch) in plans.items():
                timing, calls, report = _measure(service, caller, batch)
                receipts = len(batch.receipts)
                writes = sum(count for op, count in calls.items() if op in WRITES)
                entry = cases.setdefault(case, {"seconds": [], "receipts": receipts})
                entry["seconds"].append(timing["seconds"])
                entry["calls"] = dict(sorted(calls.items()))
                entry["writes_per_receipt"] = round(writes / receipts, 3)
                entry["results"] = report.body()["counts"]
    for entry in cases.values():
        entry["seconds"] = stats(entry["seconds"])
    return {"parameters": {"receipts_per_request": MAX_RECEIPTS}, "cases": cases}


def headline(result: Json) -> list[Row]:
    return [
        (f"{case} writes/receipt", str(entry["writes_per_receipt"]))
        for case, entry in result["cases"].items()
    ]


SPEC = Spec(
    NAME, "DynamoDB writes per receipt of POST /me/receipts (target: at most 1)", run, headline
)
