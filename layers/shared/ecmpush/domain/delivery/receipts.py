"""Receipts: what a device says became of a push it was sent (received, displayed, opened,
dismissed). They are claims of the caller's app, judged against the delivery ecmpush recorded
for that caller's installation: only a push FCM accepted for the caller's own device can be
reported, never before it was sent nor in the future, and the first report of each kind is
the one kept. Why: docs/design/receipts.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from ecmpush.domain.delivery.installation_ids import INSTALLATION_ID_PATTERN

# One request's receipts: 25 of the longest entries (128-character installation ids) stay under
# the app API's 8 KiB body limit (entrypoints/app_api.MAX_APP_BODY_BYTES); a longer backlog goes
# in several requests.
MAX_RECEIPTS = 25
# How far a device's clock may run ahead of ecmpush's (or behind, for "before the send").
CLOCK_SKEW = timedelta(minutes=5)
# Notification ids are UUID5 (domain/delivery/notifications.py); IAM lets the devices API touch
# only such partitions of DeliveriesTable, so anything else is refused by the schema first.
NOTIFICATION_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$"
# The delivery status of a push FCM accepted; only those can reach a device.
SENT = "sent"
# Statuses of a delivery whose answer is not known yet: the device may already hold the push.
PENDING = frozenset({"sending", "retrying"})


class ReceiptEvent(StrEnum):
    RECEIVED = "received"  # the push reached the app (service worker, messaging service)
    DISPLAYED = "displayed"  # the notification was shown
    OPENED = "opened"  # the user tapped or clicked it
    DISMISSED = "dismissed"  # the user swiped or closed it

    @property
    def attribute(self) -> str:
        """The delivery item's attribute holding the first report: `opened_at`."""
        return f"{self.value}_at"


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    notification_id: Annotated[str, StringConstraints(pattern=NOTIFICATION_ID_PATTERN)]
    installation_id: Annotated[str, StringConstraints(pattern=INSTALLATION_ID_PATTERN)]
    event: ReceiptEvent
    at: AwareDatetime

    @property
    def delivery(self) -> DeliveryRef:
        return DeliveryRef(self.notification_id, self.installation_id)


class ReceiptBatch(BaseModel):
    """`POST /me/receipts`: at most MAX_RECEIPTS receipts of the caller's own deliveries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    receipts: list[Receipt] = Field(min_length=1, max_length=MAX_RECEIPTS)


class ReceiptResult(StrEnum):
    """What became of one receipt. Only `not_sent_yet` is worth sending again (later)."""

    RECORDED = "recorded"  # the first report of this kind for this delivery: kept
    UNCHANGED = "unchanged"  # already reported (the earlier report stays)
    UNKNOWN_DELIVERY = "unknown_delivery"  # no push was sent to this installation of the caller
    NOT_SENT_YET = "not_sent_yet"  # FCM's answer is not recorded yet: send it again later
    BEFORE_SEND = "before_send"  # dated before the push was sent (beyond the clock skew)


@dataclass(frozen=True)
class DeliveryRef:
    notification_id: str
    installation_id: str


@dataclass(frozen=True)
class DeliveryState:
    """What ecmpush recorded for one delivery of the caller: its status, when it was sent, and
    the receipts already kept. `version` is the stored send time, exactly as written: the write
    is conditional on it, so it lands on the delivery that was judged."""

    status: str
    sent_at: datetime
    version: str
    flow: str
    stage: str
    recorded: Mapping[ReceiptEvent, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceiptPlan:
    """Each receipt's result (in request order) and, per delivery, the reports to write."""

    results: tuple[ReceiptResult, ...]
    writes: Mapping[DeliveryRef, Mapping[ReceiptEvent, datetime]]
    # For each write, the receipts (by index) it records: a write that finds a report already
    # there (a concurrent request got there first) turns those into `unchanged`.
    recorded_by: Mapping[DeliveryRef, Mapping[ReceiptEvent, int]]


def future_receipts(receipts: Sequence[Receipt], now: datetime) -> list[int]:
    """Indexes of receipts dated later than `now` plus the clock skew: the whole request is
    refused for them, nothing is written (a device with a wrong clock must notice)."""
    latest = now + CLOCK_SKEW
    return [i for i, receipt in enumerate(receipts) if receipt.at > latest]


def _judge(receipt: Receipt, state: DeliveryState | None) -> ReceiptResult | None:
    """A refusal or `unchanged`, or None when the receipt may be recorded."""
    if state is None:
        return ReceiptResult.UNKNOWN_DELIVERY
    if state.status in PENDING:
        return ReceiptResult.NOT_SENT_YET
    if state.status != SENT:
        return ReceiptResult.UNKNOWN_DELIVERY  # FCM refused it: no device can hold it
    if receipt.at < state.sent_at - CLOCK_SKEW:
        return ReceiptResult.BEFORE_SEND
    if receipt.event in state.recorded:
        return ReceiptResult.UNCHANGED
    return None


def plan_receipts(
    receipts: Sequence[Receipt], states: Mapping[DeliveryRef, DeliveryState]
) -> ReceiptPlan:
    """Judge every receipt against the caller's delivery. Several reports of one kind for one
    delivery in a request: the earliest is recorded, the others are `unchanged`."""
    results: list[ReceiptResult] = []
    earliest: dict[DeliveryRef, dict[ReceiptEvent, int]] = {}
    for index, receipt in enumerate(receipts):
        refusal = _judge(receipt, states.get(receipt.delivery))
        results.append(refusal or ReceiptResult.RECORDED)
        if refusal is not None:
            continue
        chosen = earliest.setdefault(receipt.delivery, {})
        other = chosen.get(receipt.event)
        if other is None or receipt.at < receipts[other].at:
            if other is not None:
                results[other] = ReceiptResult.UNCHANGED
            chosen[receipt.event] = index
        else:
            results[index] = ReceiptResult.UNCHANGED
    writes = {
        ref: {event: receipts[index].at for event, index in chosen.items()}
        for ref, chosen in earliest.items()
    }
    return ReceiptPlan(tuple(results), writes, earliest)


def time_to_open(state: DeliveryState, opened_at: datetime) -> float:
    """Seconds from the send to the first open (never negative: a clock within the skew)."""
    return max(0.0, (opened_at - state.sent_at).total_seconds())
