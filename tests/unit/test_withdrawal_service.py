"""Dispatch's withdrawal handler (services/withdrawal.py) on in-memory fakes: what is withdrawn
and from whom, once, and who Content Server says keeps their push after a reassignment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from ecmpush.clock import NO_DEADLINE, Deadline
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.messages import WithdrawalMessage
from ecmpush.domain.delivery.outcomes import SendResult, SendVerdict
from ecmpush.domain.delivery.preferences import Preferences
from ecmpush.domain.delivery.push import Push
from ecmpush.domain.delivery.recipient import Recipient
from ecmpush.domain.delivery.withdrawal import Decision
from ecmpush.domain.ecm.errors import EcmRejected, EcmUnavailable
from ecmpush.domain.ecm.model import Member, WorkflowStatus, WorkflowStep
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.services.dispatch_report import RetryLater
from ecmpush.services.withdrawal import WithdrawalHandler
from tests.fakes import Inline, Partial, Queue

NOW = datetime(2026, 12, 1, 10, 42, tzinfo=UTC)
TASK = TaskRef(process_id="4711", subprocess_id="4711", task_id="1")
DECIDED = Decision(by="asmith", action="approve", platform="android", at=NOW)


def _header(nid: str) -> dict[str, Any]:
    return {
        "notification_id": nid,
        "notification": {
            "type": "task.assigned",
            "task": TASK.model_dump(),
            "params": {"task_title": "Contract"},
        },
    }


class FakeDeliveries(Partial):
    """Notifications about TASK (`sent`: notification id → owners with a sent delivery), marks
    kept like the table's conditional updates."""

    def __init__(self, sent: Mapping[str, Sequence[str]]) -> None:
        self.sent = sent
        self.marked: set[tuple[str, str, str]] = set()
        self.decided: list[str] = []

    def about_task(self, task_key: str) -> list[dict[str, Any]]:
        return [_header(nid) for nid in self.sent] if task_key == TASK.key else []

    def deliveries(self, notification_id: str) -> list[dict[str, Any]]:
        return [
            {
                "owner": owner,
                "installation_id": f"{owner}-phone",
                "status": "sent",
                **(
                    {"withdrawn_at": "x"}
                    if (notification_id, owner, f"{owner}-phone") in self.marked
                    else {}
                ),
            }
            for owner in self.sent[notification_id]
        ]

    def withdraw(
        self, deliveries: Sequence[tuple[str, str, str]], reason: str, now: datetime
    ) -> list[bool]:
        fresh = [d not in self.marked for d in deliveries]
        self.marked |= set(deliveries)
        return fresh

    def record_decision(self, notification_ids: Sequence[str], decision: Decision) -> None:
        self.decided.extend(notification_ids)


class FakeDevices(Partial):
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def recipients(self, owners: Sequence[str]) -> dict[str, Recipient]:
        return {
            owner: Recipient(
                owner,
                (
                    Device(
                        owner=owner,
                        installation_id=f"{owner}-phone",
                        token=f"token-of-{owner}",
                        platform="android",
                        created_at=NOW,
                        updated_at=NOW,
                    ),
                ),
                Preferences(),
            )
            for owner in owners
        }

    def delete_if_token(self, owner: str, installation_id: str, token: str) -> bool:
        self.deleted.append(owner)
        return True


class FakeSender(Partial):
    def __init__(self, dead: Sequence[str] = ()) -> None:
        self.pushes: list[Push] = []
        self.dead = set(dead)

    def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        self.pushes.extend(pushes)
        return [
            SendResult(SendVerdict.INVALID_TOKEN, error_code="UNREGISTERED")
            if p.token in self.dead
            else SendResult(message_id="m")
            for p in pushes
        ]


class FakeEcm(Partial):
    def __init__(
        self, holders: Sequence[str] = (), down: bool = False, refuses: bool = False
    ) -> None:
        self.holders = holders
        self.down = down
        self.refuses = refuses

    def workflow_status(
        self, process_id: str | int, *, budget_s: float | None = None
    ) -> WorkflowStatus:
        if self.down:
            raise EcmUnavailable("503")
        if self.refuses:
            raise EcmRejected("the service account may not see this workflow")
        members = tuple(Member(None, login) for login in self.holders)
        step = WorkflowStep(TASK, "Approve", "ok", members)
        return WorkflowStatus(str(process_id), "ok", None, (step,) if members else ())


def _handler(
    deliveries: FakeDeliveries,
    sender: FakeSender,
    ecm: FakeEcm | None = None,
    devices: FakeDevices | None = None,
    queue: Queue[WithdrawalMessage] | None = None,
) -> WithdrawalHandler:
    return WithdrawalHandler(
        deliveries=deliveries,
        devices=devices or FakeDevices(),
        sender=sender,
        holders=(lambda: ecm) if ecm is not None else None,
        clock=lambda: NOW,
        pool=Inline(),
        queue=queue or Queue(),
        send_chunk=2,
        reserve_seconds=5.0,
    )


def test_every_device_gets_one_withdrawal_however_often_the_message_comes() -> None:
    deliveries = FakeDeliveries({"n-assigned": ["asmith"], "n-escalated": ["bjones", "cwu"]})
    sender = FakeSender()
    handler = _handler(deliveries, sender)
    message = WithdrawalMessage(task=TASK, reason="replied", decision=DECIDED)
    assert handler.handle(message, NO_DEADLINE).withdrawn == 3
    assert sorted(p.token for p in sender.pushes) == [
        "token-of-asmith",
        "token-of-bjones",
        "token-of-cwu",
    ]
    assert {p.data["notification_id"] for p in sender.pushes} == {"n-assigned", "n-escalated"}
    assert sorted(deliveries.decided) == ["n-assigned", "n-escalated"]
    assert handler.handle(message, NO_DEADLINE).withdrawn == 0  # SQS delivered it again
    assert len(sender.pushes) == 3


def test_a_reassignment_keeps_the_pushes_of_whoever_content_server_lists() -> None:
    """A group step's second member arrives like a reassignment: both still hold the step."""
    deliveries = FakeDeliveries({"n-1": ["asmith"], "n-2": ["bjones"], "n-3": ["cwu"]})
    sender = FakeSender()
    message = WithdrawalMessage(
        task=TASK,
        reason="reassigned",
        decision=Decision(action="reassigned", platform="ecm", at=NOW),
        keep_owners=("cwu",),
        keep_notifications=("n-3",),
        ask_holders=True,
    )
    report = _handler(deliveries, sender, FakeEcm(holders=["ASmith"])).handle(message, NO_DEADLINE)
    assert [p.token for p in sender.pushes] == ["token-of-bjones"]  # no longer a holder
    assert report.withdrawn == 1
    assert deliveries.decided == ["n-2"]  # the kept ones are not decided


def test_a_reassignment_nobody_can_confirm_withdraws_nothing() -> None:
    deliveries = FakeDeliveries({"n-1": ["asmith"]})
    sender = FakeSender()
    message = WithdrawalMessage(
        task=TASK,
        reason="reassigned",
        decision=Decision(action="reassigned", platform="ecm", at=NOW),
        ask_holders=True,
    )
    assert _handler(deliveries, sender).handle(message, NO_DEADLINE).withdrawn == 0
    refusing = _handler(deliveries, sender, FakeEcm(refuses=True))
    assert refusing.handle(message, NO_DEADLINE).withdrawn == 0
    with pytest.raises(RetryLater):
        _handler(deliveries, sender, FakeEcm(down=True)).handle(message, NO_DEADLINE)
    assert sender.pushes == []
    assert deliveries.marked == set()


def test_a_dead_token_met_by_a_withdrawal_removes_the_device() -> None:
    devices = FakeDevices()
    deliveries = FakeDeliveries({"n-1": ["asmith", "bjones"]})
    sender = FakeSender(dead=["token-of-bjones"])
    message = WithdrawalMessage(task=TASK, reason="completed", decision=DECIDED)
    report = _handler(deliveries, sender, devices=devices).handle(message, NO_DEADLINE)
    assert (report.withdrawn, report.removed) == (1, 1)
    assert devices.deleted == ["bjones"]


def test_near_the_invocations_end_the_rest_waits_for_the_next_run_never_sent_twice() -> None:
    """Two devices a chunk and 5 s kept back: the first chunk takes 6 of the 10 s left, so the
    message is queued again; its next run sends the rest."""
    deliveries = FakeDeliveries({"n-1": ["asmith", "bjones", "cwu", "dlee"]})
    sender, queue = SlowSender(), Queue[WithdrawalMessage]()
    handler = _handler(deliveries, sender, queue=queue)
    message = WithdrawalMessage(task=TASK, reason="completed", decision=DECIDED)
    first = handler.handle(message, Deadline(10.0, clock=lambda: sender.elapsed))
    assert (first.withdrawn, first.requeued) == (2, 1)
    assert queue.published == [message]
    second = handler.handle(queue.published[0], NO_DEADLINE)
    assert second.withdrawn == 2
    tokens = sorted(p.token for p in sender.pushes)
    assert tokens == [f"token-of-{u}" for u in ("asmith", "bjones", "cwu", "dlee")]


class SlowSender(FakeSender):
    """Each send takes 6 s of `elapsed`."""

    def __init__(self) -> None:
        super().__init__()
        self.elapsed = 0.0

    def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        self.elapsed += 6.0
        return super().send(pushes)


def test_the_device_the_reply_came_from_is_marked_without_a_withdrawal_push() -> None:
    """Its confirmation replaces the push there; marked, a later `task.completed` sends it
    nothing either."""
    deliveries = FakeDeliveries({"n-1": ["asmith", "bjones"]})
    sender = FakeSender()
    message = WithdrawalMessage(
        task=TASK, reason="replied", decision=DECIDED, confirmed_on=("asmith-phone",)
    )
    assert _handler(deliveries, sender).handle(message, NO_DEADLINE).withdrawn == 1
    assert [p.token for p in sender.pushes] == ["token-of-bjones"]
    assert ("n-1", "asmith", "asmith-phone") in deliveries.marked
    later = WithdrawalMessage(task=TASK, reason="completed", decision=DECIDED)
    assert _handler(deliveries, sender).handle(later, NO_DEADLINE).withdrawn == 0
