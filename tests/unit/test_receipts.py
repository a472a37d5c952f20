"""Receipts judged against the caller's deliveries (domain/delivery/receipts.py) and reported by
ReceiptsService on an in-memory store: only the caller's sent deliveries take receipts, the
first report of each kind is kept, a future time refuses the request before anything is read,
and at most one write goes to each delivery however many receipts it gets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from ecmpush.domain.delivery.receipts import (
    CLOCK_SKEW,
    MAX_RECEIPTS,
    DeliveryRef,
    DeliveryState,
    Receipt,
    ReceiptBatch,
    ReceiptEvent,
    ReceiptResult,
    plan_receipts,
)
from ecmpush.domain.identity import Principal
from ecmpush.services.receipts import ReceiptsRefused, ReceiptsService

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
SENT_AT = NOW - timedelta(minutes=10)
NID = "a188d93b-7a4c-5f99-9406-a9f43e1bc996"
PHONE = "phone-1-8d3f1a6c2e"
LAPTOP = "web-4f1c9a2b7d3e6a80"


def _receipt(event: str, at: datetime = NOW, installation_id: str = PHONE) -> Receipt:
    return Receipt(notification_id=NID, installation_id=installation_id, event=event, at=at)


def _state(status: str = "sent", **recorded: datetime) -> DeliveryState:
    return DeliveryState(
        status=status,
        sent_at=SENT_AT,
        version="v1",
        flow="task.assigned",
        stage="approval",
        recorded={ReceiptEvent(name): at for name, at in recorded.items()},
    )


class Store:
    """The caller's deliveries by owner; `record` applies `if_not_exists` like DynamoDB."""

    def __init__(self, states: dict[tuple[str, DeliveryRef], DeliveryState]) -> None:
        self.states_by_owner = states
        self.reads: list[str] = []
        self.writes: list[tuple[DeliveryRef, dict[ReceiptEvent, datetime]]] = []
        self.concurrent: frozenset[ReceiptEvent] | None = frozenset()

    def states(
        self, owner: str, refs: Sequence[DeliveryRef]
    ) -> Mapping[DeliveryRef, DeliveryState]:
        self.reads.append(owner)
        return {r: s for (o, r), s in self.states_by_owner.items() if o == owner and r in refs}

    def record(
        self,
        owner: str,
        ref: DeliveryRef,
        state: DeliveryState,
        reports: Mapping[ReceiptEvent, datetime],
    ) -> frozenset[ReceiptEvent] | None:
        self.writes.append((ref, dict(reports)))
        return self.concurrent


def _service(store: Store) -> ReceiptsService:
    return ReceiptsService(lambda: store, lambda: NOW)


def _report(store: Store, *receipts: Receipt, user: str = "asmith") -> Any:
    batch = ReceiptBatch(receipts=list(receipts))
    return _service(store).report(Principal("uid", user), batch)


PHONE_REF = DeliveryRef(NID, PHONE)


def test_each_kind_is_recorded_once_in_one_write_per_delivery() -> None:
    store = Store({("asmith", PHONE_REF): _state(received=SENT_AT)})
    report = _report(
        store,
        _receipt("received"),
        _receipt("displayed", NOW - timedelta(minutes=2)),
        _receipt("displayed", NOW - timedelta(minutes=3)),
        _receipt("opened"),
    )
    assert [r.value for r in report.results] == ["unchanged", "unchanged", "recorded", "recorded"]
    assert store.writes == [
        (
            PHONE_REF,
            {
                ReceiptEvent.DISPLAYED: NOW - timedelta(minutes=3),
                ReceiptEvent.OPENED: NOW,
            },
        )
    ]
    assert report.writes == 1
    assert [(o.flow, o.stage, o.seconds) for o in report.first_opens] == [
        ("task.assigned", "approval", 600.0)
    ]
    assert report.body()["counts"]["recorded"] == 2


def test_a_repeat_writes_nothing() -> None:
    store = Store({("asmith", PHONE_REF): _state(opened=NOW)})
    report = _report(store, _receipt("opened"))
    assert report.results == (ReceiptResult.UNCHANGED,)
    assert store.writes == []
    assert report.first_opens == ()


def test_another_users_installation_is_an_unknown_delivery() -> None:
    store = Store({("bjones", PHONE_REF): _state()})
    report = _report(store, _receipt("opened"), user="asmith")
    assert report.results == (ReceiptResult.UNKNOWN_DELIVERY,)
    assert store.reads == ["asmith"]
    assert store.writes == []


@pytest.mark.parametrize(
    ("status", "result"),
    [
        ("sending", ReceiptResult.NOT_SENT_YET),
        ("retrying", ReceiptResult.NOT_SENT_YET),
        ("failed", ReceiptResult.UNKNOWN_DELIVERY),
        ("token_removed", ReceiptResult.UNKNOWN_DELIVERY),
    ],
)
def test_only_a_sent_delivery_takes_receipts(status: str, result: ReceiptResult) -> None:
    store = Store({("asmith", PHONE_REF): _state(status)})
    assert _report(store, _receipt("received")).results == (result,)
    assert store.writes == []


def test_before_the_send_beyond_the_skew_is_refused_within_it_kept() -> None:
    store = Store({("asmith", PHONE_REF): _state()})
    early = SENT_AT - CLOCK_SKEW - timedelta(seconds=1)
    within = SENT_AT - CLOCK_SKEW + timedelta(seconds=1)
    report = _report(store, _receipt("received", early), _receipt("displayed", within))
    assert report.results == (ReceiptResult.BEFORE_SEND, ReceiptResult.RECORDED)
    assert store.writes == [(PHONE_REF, {ReceiptEvent.DISPLAYED: within})]


def test_a_future_time_refuses_the_request_before_anything_is_read() -> None:
    store = Store({("asmith", PHONE_REF): _state()})
    future = NOW + CLOCK_SKEW + timedelta(seconds=1)
    with pytest.raises(ReceiptsRefused) as refused:
        _report(store, _receipt("received"), _receipt("opened", future))
    assert [e["path"] for e in refused.value.errors] == ["receipts.1.at"]
    assert store.reads == []
    assert store.writes == []


def test_a_concurrent_report_turns_recorded_into_unchanged() -> None:
    store = Store({("asmith", PHONE_REF): _state()})
    store.concurrent = frozenset({ReceiptEvent.OPENED})
    report = _report(store, _receipt("opened"), _receipt("displayed"))
    assert report.results == (ReceiptResult.UNCHANGED, ReceiptResult.RECORDED)
    assert report.first_opens == ()


def test_a_delivery_changed_since_it_was_read_is_unknown() -> None:
    store = Store({("asmith", PHONE_REF): _state()})
    store.concurrent = None
    assert _report(store, _receipt("opened")).results == (ReceiptResult.UNKNOWN_DELIVERY,)


def test_the_plan_keeps_devices_apart() -> None:
    laptop = DeliveryRef(NID, LAPTOP)
    plan = plan_receipts(
        [_receipt("opened"), _receipt("opened", installation_id=LAPTOP)],
        {PHONE_REF: _state(), laptop: _state()},
    )
    assert plan.results == (ReceiptResult.RECORDED, ReceiptResult.RECORDED)
    assert set(plan.writes) == {PHONE_REF, laptop}


@pytest.mark.parametrize(
    "entry",
    [
        {"notification_id": "not-a-uuid", "installation_id": PHONE, "event": "opened"},
        {"notification_id": NID, "installation_id": "a b", "event": "opened"},
        {"notification_id": NID, "installation_id": PHONE, "event": "liked"},
        {"notification_id": NID, "installation_id": PHONE, "event": "opened", "x": 1},
    ],
)
def test_malformed_receipts_are_refused_by_the_schema(entry: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ReceiptBatch.model_validate({"receipts": [{"at": NOW.isoformat(), **entry}]})


def test_a_time_without_offset_and_too_many_receipts_are_refused() -> None:
    naive = {"notification_id": NID, "installation_id": PHONE, "event": "opened"}
    with pytest.raises(ValidationError):
        ReceiptBatch.model_validate({"receipts": [{**naive, "at": "2026-12-08T09:00:00"}]})
    entry = {**naive, "at": NOW.isoformat()}
    with pytest.raises(ValidationError):
        ReceiptBatch.model_validate({"receipts": [entry] * (MAX_RECEIPTS + 1)})
    with pytest.raises(ValidationError):
        ReceiptBatch.model_validate({"receipts": []})
