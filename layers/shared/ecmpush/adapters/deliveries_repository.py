"""Notifications and their per-device deliveries, one item collection per notification:
`sk = #notification` holds what was sent, `sk = d#<owner>#<installation_id>` one delivery each.

A delivery is claimed with a conditional write before the push goes out, so a redelivered SQS
message (or a second consumer) never sends twice to a device already served; a claim left by a
crashed attempt can be taken over once its lease has passed. Claims go 100 to a transaction and
answers 25 to a batch write, so a broadcast costs a few calls per hundred devices, not three per
device."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import batched
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from ecmpush.adapters.dynamo_batch import (
    MAX_TRANSACT,
    Refusal,
    TransactionConflict,
    batch_put,
    transact,
)
from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.outcomes import (
    NO_DEVICE_ID,
    Claim,
    DeliveryOutcome,
    DeliveryStatus,
    DeliveryTarget,
    PolicyOutcome,
)
from ecmpush.domain.delivery.withdrawal import Decision, decision_item, withdrawable
from ecmpush.domain.user_ids import KEY_SEPARATOR

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

HEADER = "#notification"
BY_TASK = "by_task"  # sparse: headers of pushes that are withdrawn once their task is decided
_CONFLICT_PATIENCE = 5  # transaction conflicts (another attempt on the same items) in a row


def item_key(kind: str, *parts: str) -> str:
    """`kind#part#part`. A part holding the separator could read as another key's prefix
    (`d#ext:rtcust#victim#…` begins with `d#ext:rtcust#`, issue 20 finding 7), so it is refused:
    ids reach here through `domain/user_ids.py`, which refuses `#` at every door."""
    for part in parts:
        if KEY_SEPARATOR in part:
            raise ValueError(f"a {kind!r} key part must not contain {KEY_SEPARATOR!r}")
    return KEY_SEPARATOR.join((kind, *parts))


def policy_key(owner: str) -> str:
    return item_key("p", owner)


def inbox_key(recipient: str) -> str:
    return item_key("i", recipient)


def delivery_key(owner: str, installation_id: str) -> str:
    return item_key("d", owner, installation_id)


class DeliveriesRepository:
    def __init__(self, table: Table, retention_days: int) -> None:
        self._table = table
        self._retention = timedelta(days=retention_days)

    def _expires(self, now: datetime) -> int:
        return int((now + self._retention).timestamp())

    def save_notification(
        self,
        notification: Notification,
        recipients: Sequence[str],
        now: datetime,
        *,
        header: bool = True,
    ) -> None:
        """Write the header, and one inbox entry for each of `recipients` (the only items in
        the `by_recipient` index: a user's history is one entry per notification). Repeating
        it writes the same items again: a redelivery changes nothing a reader sees. The header
        keeps what was sent, not to whom: an audience of 100,000 would not fit in one item. A large
        audience is saved in parts, side by side; `header` says which part writes it."""
        item: dict[str, Any] = {
            "notification_id": notification.id,
            "sk": HEADER,
            "notification": notification.model_dump(mode="json", exclude={"recipients"}),
            "created_at": rfc3339(notification.created_at),
            "expires_at": self._expires(now),
        }
        if notification.task is not None and withdrawable(notification):
            item["task_key"] = notification.task.key
        inbox = [
            {
                "notification_id": notification.id,
                "sk": inbox_key(recipient),
                "recipient": recipient,
                "type": notification.type,
                "category": notification.category,
                "created_at": rfc3339(notification.created_at),
                "expires_at": self._expires(now),
            }
            for recipient in dict.fromkeys(recipients)
        ]
        batch_put(self._table, [item, *inbox] if header else inbox)

    def claim(
        self,
        notification: Notification,
        targets: Sequence[DeliveryTarget],
        now: datetime,
        lease_seconds: int,
    ) -> list[Claim]:
        """Take the right to send to each target now, or say who has it; one answer per
        target, in order. Claims go 100 to a transaction: a refused claim cancels its
        transaction, which is then repeated without it (the refusal says why: answered, or
        held by another attempt whose lease is fresh)."""
        answers: list[Claim] = []
        for chunk in batched(targets, MAX_TRANSACT, strict=False):
            answers.extend(self._claim_chunk(notification, chunk, now, lease_seconds))
        return answers

    def _claim_chunk(
        self,
        notification: Notification,
        targets: Sequence[DeliveryTarget],
        now: datetime,
        lease_seconds: int,
    ) -> list[Claim]:
        actions = [self._claim_action(notification, t, now, lease_seconds) for t in targets]
        return [
            Claim.CLAIMED if refusal is None else _claim_refused(refusal)
            for refusal in self._without_refused(actions)
        ]

    def _claim_action(
        self,
        notification: Notification,
        target: DeliveryTarget,
        now: datetime,
        lease_seconds: int,
    ) -> dict[str, Any]:
        """A conditional Put of the whole claim (an Update would do the same, at a multiple of
        the cost in the local stand-in's expression parser; DynamoDB charges both alike)."""
        return {
            "Put": {
                "Item": {
                    "notification_id": notification.id,
                    "sk": delivery_key(target.owner, target.installation_id),
                    "status": DeliveryStatus.SENDING.value,
                    "owner": target.owner,
                    "installation_id": target.installation_id,
                    "platform": target.platform,
                    "notification_type": notification.type,
                    "claimed_at": rfc3339(now),
                    "created_at": rfc3339(now),
                    "updated_at": rfc3339(now),
                    "expires_at": self._expires(now),
                },
                "ConditionExpression": (
                    "attribute_not_exists(sk) OR #status = :retrying "
                    "OR (#status = :sending AND claimed_at < :stale)"
                ),
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":sending": DeliveryStatus.SENDING.value,
                    ":retrying": DeliveryStatus.RETRYING.value,
                    ":stale": rfc3339(now - timedelta(seconds=lease_seconds)),
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def save_outcomes(
        self,
        notification: Notification,
        now: datetime,
        deliveries: Sequence[DeliveryOutcome] = (),
        policies: Sequence[PolicyOutcome] = (),
    ) -> None:
        """Write what became of deliveries and what preferences did, 25 items to a call. Each
        item is written whole (BatchWriteItem cannot update), so it carries everything the
        claim wrote as well; writing it twice writes the same facts."""
        items = [self._delivery_item(notification, o, now) for o in deliveries]
        items += [self._policy_item(notification, p, now) for p in policies]
        if items:
            batch_put(self._table, items)

    def _delivery_item(
        self, notification: Notification, outcome: DeliveryOutcome, now: datetime
    ) -> dict[str, Any]:
        target = outcome.target
        item: dict[str, Any] = {
            "notification_id": notification.id,
            "sk": delivery_key(target.owner, target.installation_id),
            "owner": target.owner,
            "installation_id": target.installation_id,
            "notification_type": notification.type,
            "status": outcome.status.value,
            "created_at": rfc3339(now),
            "updated_at": rfc3339(now),
            "expires_at": self._expires(now),
        }
        if target.installation_id != NO_DEVICE_ID:
            item["platform"] = target.platform
        for name, value in (
            ("fcm_message_id", outcome.message_id),
            ("error_code", outcome.error_code),
            ("error_message", outcome.error_message[:500] if outcome.error_message else None),
        ):
            if value is not None:
                item[name] = value
        return item

    def _policy_item(
        self, notification: Notification, policy: PolicyOutcome, now: datetime
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "notification_id": notification.id,
            "sk": policy_key(policy.owner),
            "owner": policy.owner,
            "outcome": policy.outcome,
            "updated_at": rfc3339(now),
            "expires_at": self._expires(now),
        }
        if policy.detail:
            item["detail"] = policy.detail
        return item

    def deliveries(self, notification_id: str) -> list[dict[str, Any]]:
        page = self._table.query(
            KeyConditionExpression=Key("notification_id").eq(notification_id)
            & Key("sk").begins_with("d#")
        )
        return list(page.get("Items", []))

    # --- withdrawals (domain/delivery/withdrawal.py) -------------------------------------------

    def about_task(self, task_key: str) -> list[dict[str, Any]]:
        """Every withdrawable notification ever sent about the task, oldest first, from the
        sparse `by_task` index: `notification_id` and `notification` (what was sent)."""
        kwargs: dict[str, Any] = {
            "IndexName": BY_TASK,
            "KeyConditionExpression": Key("task_key").eq(task_key),
        }
        items: list[dict[str, Any]] = []
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def withdraw(
        self, deliveries: Sequence[tuple[str, str, str]], reason: str, now: datetime
    ) -> list[bool]:
        """Mark sent deliveries (notification id, owner, installation id) withdrawn, 100 to a
        transaction; per delivery whether this call marked it: False when it was not sent or
        is withdrawn already (a repeated withdrawal message sends nothing twice)."""
        return self._each_once(
            [
                {
                    "Update": {
                        "Key": {"notification_id": nid, "sk": delivery_key(owner, installation)},
                        "UpdateExpression": "SET withdrawn_at = :now, withdrawal = :reason",
                        "ConditionExpression": (
                            "#status = :sent AND attribute_not_exists(withdrawn_at)"
                        ),
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":now": rfc3339(now),
                            ":reason": reason,
                            ":sent": DeliveryStatus.SENT.value,
                        },
                    }
                }
                for nid, owner, installation in deliveries
            ]
        )

    def record_decision(self, notification_ids: Sequence[str], decision: Decision) -> None:
        """Who decided the notifications' task, on their headers, 100 to a transaction; the
        first decision stays, a header gone (expired) is skipped."""
        self._each_once(
            [
                {
                    "Update": {
                        "Key": {"notification_id": nid, "sk": HEADER},
                        "UpdateExpression": "SET decision = if_not_exists(decision, :decision)",
                        "ConditionExpression": "attribute_exists(sk)",
                        "ExpressionAttributeValues": {":decision": decision_item(decision)},
                    }
                }
                for nid in notification_ids
            ]
        )

    def _each_once(self, actions: Sequence[dict[str, Any]]) -> list[bool]:
        """Conditional writes of distinct items, 100 to a transaction: a refused condition
        cancels its transaction, which is repeated without it; per action whether it was
        written."""
        answers: list[bool] = []
        for chunk in batched(actions, MAX_TRANSACT, strict=False):
            answers.extend(refusal is None for refusal in self._without_refused(chunk))
        return answers

    def _without_refused(self, actions: Sequence[dict[str, Any]]) -> list[Refusal | None]:
        """One transaction of up to 100 conditional writes, repeated without the refused ones
        until the rest is written (a conflict with another attempt waits and tries again); per
        action its refusal, or None once written."""
        refusals: dict[int, Refusal | None] = {}
        open_ = list(range(len(actions)))
        conflicts = 0
        while open_:
            try:
                refused = transact(self._table, [actions[i] for i in open_])
            except TransactionConflict:
                conflicts += 1
                if conflicts > _CONFLICT_PATIENCE:
                    raise
                time.sleep(0.05 * conflicts)
                continue
            if not refused:
                refusals.update(dict.fromkeys(open_))
                break
            refusals.update({open_[r.index]: r for r in refused})
            open_ = [i for i in open_ if i not in refusals]
        return [refusals[i] for i in range(len(actions))]

    def seen_by(self, owner: str, notification_ids: Sequence[str]) -> bool:
        """Whether a device of `owner` displayed or opened any of the pushes (the receipts
        `displayed_at` / `opened_at` on its deliveries): one strongly consistent query per
        push, over that owner's deliveries only."""
        prefix = item_key("d", owner) + KEY_SEPARATOR
        for notification_id in notification_ids:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": Key("notification_id").eq(notification_id)
                & Key("sk").begins_with(prefix),
                "ConsistentRead": True,
                "ProjectionExpression": "displayed_at, opened_at",
            }
            while True:
                page = self._table.query(**kwargs)
                if any("displayed_at" in i or "opened_at" in i for i in page.get("Items", [])):
                    return True
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return False


def _claim_refused(refusal: Refusal) -> Claim:
    """Why a claim was refused: another attempt holds it (its lease fresh), or it was answered."""
    current = refusal.current or {}
    in_flight = current.get("status") == DeliveryStatus.SENDING.value
    return Claim.IN_FLIGHT if in_flight else Claim.DONE
