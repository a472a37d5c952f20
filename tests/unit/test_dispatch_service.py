"""DispatchService with in-memory fakes: every device of every recipient gets one push, each answer
becomes one delivery record, dead tokens are removed, transient answers retry the SQS item (and
only the devices not yet served), and reply buttons carry a per-recipient action token."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from ecmpush.adapters.fcm_errors import FcmAnswer, send_result
from ecmpush.bootstrap import build_dispatch
from ecmpush.clock import NO_DEADLINE, Deadline
from ecmpush.domain.delivery.devices import Device, Platform
from ecmpush.domain.delivery.messages import EventMessage, GroupPageMessage, NotificationMessage
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.outcomes import (
    NO_DEVICE_ID,
    Claim,
    DeliveryOutcome,
    DeliveryStatus,
    DeliveryTarget,
    PolicyOutcome,
    SendResult,
)
from ecmpush.domain.delivery.preferences import Preferences, QuietHours
from ecmpush.domain.delivery.push import Push
from ecmpush.domain.delivery.recipient import Recipient
from ecmpush.domain.delivery.routing_config import EcmGroupTeam, RoutingConfig
from ecmpush.domain.delivery.withdrawal import Decision
from ecmpush.domain.ecm.errors import EcmNotFound, EcmUnavailable
from ecmpush.domain.ecm.model import MembersPage
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.intake.events import Record as EcmRecord
from ecmpush.domain.intake.events import event_adapter
from ecmpush.domain.intake.links import LinkPolicy
from ecmpush.domain.replies.action_token import verify
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.services.action_tokens import ActionTokenSigner
from ecmpush.services.delivery import DeliveryOptions
from ecmpush.services.dispatch import Dispatch
from ecmpush.services.dispatch_report import DispatchReport, RetryLater
from ecmpush.settings import ConfigurationError
from tests.conftest import sample_event
from tests.fakes import Inline, Partial, unit_settings

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
KEY = b"action-token-key-for-unit-tests!"
TTL = timedelta(days=3)
LEASE = 90
APP = "https://app.example.com"
FINAL = {DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.TOKEN_REMOVED}


# --- fakes --------------------------------------------------------------------------------------


def fcm_result(**answer: Any) -> SendResult:
    """What the FCM adapter makes of an error answer (adapters/fcm_errors.py)."""
    return send_result(FcmAnswer(**answer))


class FakePreferences:
    def __init__(self) -> None:
        self.by_owner: dict[str, Preferences] = {}


class FakeDevices(Partial):
    """The `Recipients` port: devices by owner, preferences from `preferences`."""

    def __init__(self, devices: Sequence[Device] = ()) -> None:
        self.by_owner: dict[str, list[Device]] = {}
        for device in devices:
            self.by_owner.setdefault(device.owner, []).append(device)
        self.preferences = FakePreferences()
        self.lookups: list[str] = []
        self.calls = 0  # recipients() calls: Dispatch reads a batch's audience at once
        self.deletes: list[tuple[str, str, str]] = []

    def recipients(self, owners: Sequence[str]) -> dict[str, Recipient]:
        self.calls += 1
        self.lookups.extend(owners)
        return {
            owner: Recipient(
                owner,
                tuple(self.by_owner.get(owner, [])),
                self.preferences.by_owner.get(owner, Preferences()),
            )
            for owner in owners
        }

    def for_external(self, external_id: str) -> list[Device]:
        every = [d for devices in self.by_owner.values() for d in devices]
        return [d for d in every if d.external_id == external_id and d.audience == "external"]

    def delete_if_token(self, owner: str, installation_id: str, token: str) -> bool:
        self.deletes.append((owner, installation_id, token))
        before = self.by_owner.get(owner, [])
        after = [
            d for d in before if not (d.installation_id == installation_id and d.token == token)
        ]
        self.by_owner[owner] = after
        return len(after) != len(before)


@dataclass
class Record:
    notification_id: str
    owner: str
    installation_id: str
    status: DeliveryStatus
    message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class FakeDeliveries(Partial):
    """Claims behave like the table: a final record makes the next claim DONE; a claim without
    an answer yet is IN_FLIGHT for others; `preset` forces a claim result per device."""

    def __init__(self) -> None:
        self.policies: list[tuple[str, str, str, str | None]] = []
        self.saved: list[Notification] = []
        self.inbox: list[tuple[str, str]] = []
        self.records: list[Record] = []
        self.no_device: list[tuple[str, str]] = []
        self.claims: list[tuple[str, str, str, str, int]] = []
        self.claim_calls = 0
        self.preset: dict[tuple[str, str], Claim] = {}  # (owner, installation_id) -> claim
        self._state: dict[tuple[str, str, str], DeliveryStatus] = {}

    def save_notification(
        self,
        notification: Notification,
        recipients: Sequence[str],
        now: datetime,
        *,
        header: bool = True,
    ) -> None:
        if header:
            self.saved.append(notification)
        self.inbox.extend((notification.id, r) for r in recipients)

    def claim(
        self,
        notification: Notification,
        targets: Sequence[DeliveryTarget],
        now: datetime,
        lease_seconds: int,
    ) -> list[Claim]:
        self.claim_calls += 1
        return [self._claim(notification, t, lease_seconds) for t in targets]

    def _claim(self, notification: Notification, target: DeliveryTarget, lease: int) -> Claim:
        owner, installation_id = target.owner, target.installation_id
        self.claims.append((notification.id, owner, installation_id, target.platform, lease))
        if (owner, installation_id) in self.preset:
            return self.preset[(owner, installation_id)]
        key = (notification.id, owner, installation_id)
        state = self._state.get(key)
        if state in FINAL:
            return Claim.DONE
        if state is DeliveryStatus.SENDING:
            return Claim.IN_FLIGHT
        self._state[key] = DeliveryStatus.SENDING
        return Claim.CLAIMED

    def save_outcomes(
        self,
        notification: Notification,
        now: datetime,
        deliveries: Sequence[DeliveryOutcome] = (),
        policies: Sequence[PolicyOutcome] = (),
    ) -> None:
        for outcome in deliveries:
            target = outcome.target
            if target.installation_id == NO_DEVICE_ID:
                self.no_device.append((notification.id, target.owner))
                continue
            self._state[(notification.id, target.owner, target.installation_id)] = outcome.status
            self.records.append(
                Record(
                    notification.id,
                    target.owner,
                    target.installation_id,
                    outcome.status,
                    outcome.message_id,
                    outcome.error_code,
                    outcome.error_message,
                )
            )
        self.policies.extend((notification.id, p.owner, p.outcome, p.detail) for p in policies)

    def status_of(self, installation_id: str) -> DeliveryStatus:
        [record] = [r for r in self.records if r.installation_id == installation_id]
        return record.status


class FakeEvents(Partial):
    def __init__(self) -> None:
        self.marks: list[tuple[str, str, datetime, int]] = []

    def mark(self, event_id: str, status: str, now: datetime, notifications: int = 0) -> None:
        self.marks.append((event_id, status, now, notifications))


class FakeTasks(Partial):
    def __init__(self) -> None:
        self.tasks: dict[str, TrackedTask] = {}

    def open(self, task: TrackedTask) -> TrackedTask | None:
        current = self.tasks.get(task.task_key)
        if current is None or current.status == "open":
            self.tasks[task.task_key] = task
        return current

    def get(self, key: str) -> TrackedTask | None:
        return self.tasks.get(key)

    def close(
        self, key: str, outcome: str | None, now: datetime, decision: Decision | None = None
    ) -> None:
        if key in self.tasks:
            update = {
                "status": "closed",
                "closed_at": now,
                "outcome": outcome,
                "decision": decision,
            }
            self.tasks[key] = self.tasks[key].model_copy(update=update)


class FakeRecords(Partial):
    def __init__(self) -> None:
        self.stored: list[tuple[str, list[str], list[str]]] = []

    def upsert_from_event(
        self,
        record: EcmRecord,
        owners: Sequence[str],
        notify_roles: Sequence[str],
        source: str,
        now: datetime,
    ) -> str:
        self.stored.append((record.node_id, list(owners), list(notify_roles)))
        return "created"


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[tuple[Any, int]] = []

    def publish(self, message: Any, delay_seconds: int = 0) -> str:
        self.published.append((message, delay_seconds))
        return f"m-{len(self.published)}"

    def publish_all(self, messages: Sequence[Any]) -> int:
        self.published.extend((m, 0) for m in messages)
        return -(-len(messages) // 10)


class FakeDirectory(Partial):
    """Content Server groups: users and member groups per group id, served `page_size` a page
    (like the server, which decides its page size)."""

    def __init__(self, groups: dict[int, tuple[list[str], list[int]]], page_size: int = 3) -> None:
        self.groups = groups
        self.page_size = page_size
        self.calls: list[tuple[int, str, int]] = []
        self.down = False

    def group_members(
        self, group_id: int, *, member_type: str, page: int, budget_s: float | None = None
    ) -> MembersPage:
        self.calls.append((group_id, member_type, page))
        if self.down:
            raise EcmUnavailable("Content Server is restarting", status=503)
        if group_id not in self.groups:
            raise EcmNotFound(f"no group {group_id}", status=404)
        users, groups = self.groups[group_id]
        members: list[Any] = list(users) if member_type == "users" else list(groups)
        start = (page - 1) * self.page_size
        part = members[start : start + self.page_size]
        return MembersPage(
            users=tuple(part) if member_type == "users" else (),
            groups=tuple(part) if member_type == "groups" else (),
            page=page,
            limit=self.page_size,
            total_count=len(members),
            page_total=-(-len(members) // self.page_size),
        )


class FakePause:
    """The shared FCM pause: `until` as stored, every `pause` asked for."""

    def __init__(self) -> None:
        self.held_until: datetime | None = None
        self.asked: list[datetime] = []

    def until(self) -> datetime | None:
        return self.held_until

    def pause(self, until: datetime) -> None:
        self.asked.append(until)
        self.held_until = max(until, self.held_until or until)


class FakeSender:
    """Answers per FCM token: a scripted SendResult, else success."""

    def __init__(self, answers: dict[str, SendResult] | None = None) -> None:
        self.answers = answers or {}
        self.batches: list[list[Push]] = []
        self.authorized: list[float] = []  # valid_for_seconds of every authorize()
        self.credentials_down = False

    def authorize(self, valid_for_seconds: float) -> None:
        self.authorized.append(valid_for_seconds)
        if self.credentials_down:
            raise RuntimeError("token endpoint answered 503")

    def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        self.batches.append(list(pushes))
        return [self.answers.get(p.token, SendResult(message_id=f"msg-{p.token}")) for p in pushes]

    @property
    def pushes(self) -> list[Push]:
        return [p for batch in self.batches for p in batch]


# --- builders -----------------------------------------------------------------------------------


def device(owner: str, installation_id: str, platform: Platform = "android") -> Device:
    return Device(
        owner=owner,
        installation_id=installation_id,
        token=f"tok-{installation_id}",
        platform=platform,
        created_at=NOW,
        updated_at=NOW,
    )


def notification(recipients: list[str], **changes: Any) -> Notification:
    values: dict[str, Any] = {
        "id": "n-1",
        "type": "sla.reminder",
        "category": "sla",
        "source_id": "sweep-1",
        "recipients": recipients,
        "template": "task.assigned.approval",
        "params": {"task_title": "Sign the contract"},
        "deep_link": "https://app.example.com/tasks/1/2/3?n=n-1",
        "actions": ["approve", "reject", "request_info"],
        "apns_category": "ECM_APPROVAL",
        "task": TaskRef(process_id="1", subprocess_id="2", task_id="3"),
        "created_at": NOW,
    }
    values.update(changes)
    return Notification(**values)


@dataclass
class World:
    devices: FakeDevices
    deliveries: FakeDeliveries = field(default_factory=FakeDeliveries)
    events: FakeEvents = field(default_factory=FakeEvents)
    tasks: FakeTasks = field(default_factory=FakeTasks)
    publisher: FakePublisher = field(default_factory=FakePublisher)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    records: FakeRecords = field(default_factory=lambda: FakeRecords())
    sender: FakeSender = field(default_factory=FakeSender)
    pause: FakePause = field(default_factory=FakePause)
    options: dict[str, Any] = field(default_factory=dict)  # batch_size, send_chunk, reserve
    directory: FakeDirectory | None = None

    @property
    def preferences(self) -> FakePreferences:
        return self.devices.preferences

    @property
    def service(self) -> Dispatch:
        options = {
            "lease_seconds": LEASE,
            "batch_size": 250,
            "send_chunk": 500,
            "reserve_seconds": 13.5,
            **self.options,
        }
        directory = self.directory
        return build_dispatch(
            unit_settings(app_base_url=APP),
            recipients=self.devices,
            deliveries=self.deliveries,
            events=self.events,
            tasks=self.tasks,
            publisher=self.publisher,
            routing=lambda: self.routing,
            records=self.records,
            sender=self.sender,
            pause=self.pause,
            signer=ActionTokenSigner(lambda: KEY, TTL),
            links=LinkPolicy.of(APP),
            clock=lambda: NOW,
            pool=Inline(),
            directory=(lambda: directory) if directory else None,
            options=DeliveryOptions(**options),
        )

    def send(
        self,
        message: NotificationMessage | EventMessage | GroupPageMessage,
        deadline: Deadline = NO_DEADLINE,
    ) -> DispatchReport:
        return self.service.handle(message, deadline)


def world(*devices: Device, answers: dict[str, SendResult] | None = None) -> World:
    return World(FakeDevices(devices), sender=FakeSender(answers))


def message(n: Notification) -> NotificationMessage:
    return NotificationMessage(notification=n)


# --- fan-out ------------------------------------------------------------------------------------


def test_every_device_of_every_recipient_gets_exactly_one_push() -> None:
    w = world(device("alice", "a1"), device("alice", "a2", "ios"), device("bob", "b1", "web"))
    report = w.send(message(notification(["alice", "bob"])))
    assert sorted(p.token for p in w.sender.pushes) == ["tok-a1", "tok-a2", "tok-b1"]
    assert len(w.sender.batches) == 1
    assert report.sent == 3
    assert sorted((r.owner, r.installation_id, r.status) for r in w.deliveries.records) == [
        ("alice", "a1", DeliveryStatus.SENT),
        ("alice", "a2", DeliveryStatus.SENT),
        ("bob", "b1", DeliveryStatus.SENT),
    ]
    assert {r.message_id for r in w.deliveries.records} == {
        "msg-tok-a1",
        "msg-tok-a2",
        "msg-tok-b1",
    }
    assert w.deliveries.saved == [notification(["alice", "bob"])]


def test_claims_carry_the_platform_and_the_lease() -> None:
    w = world(device("alice", "a1", "ios"))
    w.send(message(notification(["alice"])))
    assert w.deliveries.claims == [("n-1", "alice", "a1", "ios", LEASE)]


def test_duplicate_recipients_are_served_once() -> None:
    w = world(device("alice", "a1"), device("bob", "b1"))
    report = w.send(message(notification(["alice", "bob", "alice", "carol", "carol"])))
    assert sorted(p.token for p in w.sender.pushes) == ["tok-a1", "tok-b1"]
    assert report.sent == 2
    assert w.devices.lookups == ["alice", "bob", "carol"]
    assert w.deliveries.no_device == [("n-1", "carol")]
    assert report.no_device == 1


def test_recipient_without_devices_is_recorded_as_no_device() -> None:
    w = world()
    report = w.send(message(notification(["nobody"])))
    assert w.deliveries.no_device == [("n-1", "nobody")]
    assert report.no_device == 1
    assert w.sender.batches == []
    assert w.deliveries.records == []
    assert w.deliveries.claims == []


def test_pushes_are_rendered_for_the_device() -> None:
    d = device("alice", "a1").model_copy(update={"timezone": "Europe/Berlin"})
    w = world(d)
    n = notification(["alice"], params={"task_title": "X", "due_at": "2026-12-01T17:00:00+00:00"})
    w.send(message(n))
    [push] = w.sender.pushes
    assert push.data["notification_id"] == "n-1"
    assert push.apns_category == "ECM_APPROVAL"
    assert "18:00 CET" in push.body


# --- FCM answers --------------------------------------------------------------------------------


def test_dead_token_deletes_that_device_with_its_token() -> None:
    w = world(
        device("alice", "a1"),
        device("alice", "a2"),
        answers={"tok-a1": fcm_result(error_code="UNREGISTERED", error_message="gone")},
    )
    report = w.send(message(notification(["alice"])))
    assert w.devices.deletes == [("alice", "a1", "tok-a1")]
    assert [d.installation_id for d in w.devices.by_owner["alice"]] == ["a2"]
    assert report.removed == 1
    assert report.sent == 1
    [removed] = [r for r in w.deliveries.records if r.installation_id == "a1"]
    assert removed.status is DeliveryStatus.TOKEN_REMOVED
    assert removed.error_code == "UNREGISTERED"
    assert removed.error_message == "gone"


def test_invalid_argument_naming_the_token_field_also_removes_it() -> None:
    answer = fcm_result(
        error_code="INVALID_ARGUMENT",
        error_message="Request contains an invalid argument.",
        field_violations=("message.token",),
    )
    w = world(device("alice", "a1"), answers={"tok-a1": answer})
    w.send(message(notification(["alice"])))
    assert w.devices.deletes == [("alice", "a1", "tok-a1")]


def test_platform_auth_error_is_failed_without_deleting_or_retrying() -> None:
    answer = fcm_result(error_code="THIRD_PARTY_AUTH_ERROR", error_message="APNs cert")
    w = world(device("alice", "a1"), answers={"tok-a1": answer})
    report = w.send(message(notification(["alice"])))
    assert (report.failed, report.platform_auth, report.retrying) == (1, 1, 0)
    assert w.devices.deletes == []
    assert w.deliveries.records[0].status is DeliveryStatus.FAILED
    assert w.deliveries.records[0].error_code == "THIRD_PARTY_AUTH_ERROR"


def test_wrong_project_for_most_tokens_prunes_nothing_and_retries() -> None:
    mismatch = fcm_result(error_code="SENDER_ID_MISMATCH", error_message="SenderId mismatch")
    w = world(
        device("alice", "a1"),
        device("alice", "a2"),
        device("bob", "b1"),
        answers={"tok-a1": mismatch, "tok-a2": mismatch},
    )
    with pytest.raises(RetryLater) as caught:
        w.send(message(notification(["alice", "bob"])))
    report = caught.value.report
    assert report is not None
    assert (report.credentials_suspect, report.removed, report.retrying, report.sent) == (
        True,
        0,
        2,
        1,
    )
    assert w.devices.deletes == []
    statuses = {r.installation_id: r.status for r in w.deliveries.records}
    assert statuses["a1"] is DeliveryStatus.RETRYING
    assert statuses["b1"] is DeliveryStatus.SENT


def test_transient_errors_raise_retry_later_with_the_longest_retry_after() -> None:
    w = world(
        device("alice", "a1"),
        device("alice", "a2"),
        device("alice", "a3"),
        device("alice", "a4"),
        answers={
            "tok-a1": fcm_result(error_code="UNAVAILABLE", retry_after_seconds=5),
            "tok-a2": fcm_result(error_code="QUOTA_EXCEEDED", retry_after_seconds=30),
            "tok-a3": fcm_result(error_code="INTERNAL"),
        },
    )
    with pytest.raises(RetryLater) as info:
        w.send(message(notification(["alice"])))
    assert info.value.retry_after_seconds == 30
    assert "3" in str(info.value)
    assert {r.installation_id: r.status for r in w.deliveries.records} == {
        "a1": DeliveryStatus.RETRYING,
        "a2": DeliveryStatus.RETRYING,
        "a3": DeliveryStatus.RETRYING,
        "a4": DeliveryStatus.SENT,
    }


def test_transient_error_without_retry_after_has_no_delay() -> None:
    w = world(device("alice", "a1"), answers={"tok-a1": fcm_result(error_code="UNAVAILABLE")})
    with pytest.raises(RetryLater) as info:
        w.send(message(notification(["alice"])))
    assert info.value.retry_after_seconds is None


def test_retry_sends_only_to_devices_not_yet_served() -> None:
    w = world(
        device("alice", "a1"),
        device("alice", "a2"),
        answers={"tok-a2": fcm_result(error_code="UNAVAILABLE")},
    )
    n = notification(["alice"])
    with pytest.raises(RetryLater):
        w.send(message(n))
    w.sender.answers.clear()
    report = w.send(message(n))
    assert [p.token for p in w.sender.batches[1]] == ["tok-a2"]
    assert report.skipped == 1
    assert report.sent == 1


def test_redelivery_after_success_sends_nothing() -> None:
    w = world(device("alice", "a1"))
    n = notification(["alice"])
    w.send(message(n))
    report = w.send(message(n))
    assert len(w.sender.batches) == 1
    assert report.skipped == 1
    assert report.sent == 0


# --- claims -------------------------------------------------------------------------------------


def test_done_claims_are_skipped() -> None:
    w = world(device("alice", "a1"), device("alice", "a2"))
    w.deliveries.preset[("alice", "a1")] = Claim.DONE
    report = w.send(message(notification(["alice"])))
    assert [p.token for p in w.sender.pushes] == ["tok-a2"]
    assert report.skipped == 1
    assert [r.installation_id for r in w.deliveries.records] == ["a2"]


def test_in_flight_claim_raises_retry_later_after_the_lease() -> None:
    w = world(device("alice", "a1"), device("alice", "a2"))
    w.deliveries.preset[("alice", "a1")] = Claim.IN_FLIGHT
    with pytest.raises(RetryLater) as info:
        w.send(message(notification(["alice"])))
    assert info.value.retry_after_seconds == LEASE
    assert [p.token for p in w.sender.pushes] == ["tok-a2"]
    assert [r.installation_id for r in w.deliveries.records] == ["a2"]


def test_all_claims_done_sends_nothing() -> None:
    w = world(device("alice", "a1"))
    w.deliveries.preset[("alice", "a1")] = Claim.DONE
    report = w.send(message(notification(["alice"])))
    assert w.sender.batches == []
    assert report == DispatchReport(skipped=1)


# --- payload too large --------------------------------------------------------------------------


def test_push_that_cannot_fit_is_failed_with_payload_too_large() -> None:
    huge = notification(["alice", "bob"], deep_link="https://app.example.com/" + "x" * 5000)
    w = world(device("alice", "a1"), device("bob", "b1"))
    report = w.send(message(huge))
    assert w.sender.batches == []
    assert report.failed == 2
    assert {(r.installation_id, r.status, r.error_code) for r in w.deliveries.records} == {
        ("a1", DeliveryStatus.FAILED, "PAYLOAD_TOO_LARGE"),
        ("b1", DeliveryStatus.FAILED, "PAYLOAD_TOO_LARGE"),
    }
    assert all("4096" in (r.error_message or "") for r in w.deliveries.records)


# --- messages -----------------------------------------------------------------------------------


def test_notification_message_does_not_touch_events() -> None:
    w = world(device("alice", "a1"))
    report = w.send(message(notification(["alice"])))
    assert report.sent == 1
    assert w.events.marks == []


def test_event_message_routes_sends_and_marks_the_event_routed() -> None:
    event = event_adapter.validate_python(sample_event("task_assigned"))
    w = world(device("asmith", "s1"), device("bjones", "j1"))
    report = w.send(EventMessage(event=event))
    assert [p.token for p in w.sender.pushes] == ["tok-s1"]
    assert report.sent == 1
    assert w.events.marks == [(event.id, "routed", NOW, 1)]
    [saved] = w.deliveries.saved
    assert saved.source_id == event.id
    assert w.sender.pushes[0].data["notification_id"] == saved.id


def test_state_only_event_is_marked_tracked_and_sends_nothing() -> None:
    event = event_adapter.validate_python(sample_event("task_completed"))
    w = world(device("asmith", "s1"))
    report = w.send(EventMessage(event=event))
    assert report == DispatchReport()
    assert w.sender.batches == []
    assert w.deliveries.saved == []
    assert w.events.marks == [(event.id, "tracked", NOW, 0)]


def test_event_is_marked_even_when_a_retry_is_needed() -> None:
    event = event_adapter.validate_python(sample_event("task_assigned"))
    w = world(device("asmith", "s1"), answers={"tok-s1": fcm_result(error_code="UNAVAILABLE")})
    with pytest.raises(RetryLater):
        w.send(EventMessage(event=event))
    assert w.events.marks == [(event.id, "routed", NOW, 1)]


# --- action tokens ------------------------------------------------------------------------------


def test_each_recipient_gets_an_action_token_naming_them() -> None:
    w = world(device("alice", "a1"), device("alice", "a2"), device("bob", "b1"))
    w.send(message(notification(["alice", "bob"])))
    by_token = {p.token: p.data["action_token"] for p in w.sender.pushes}
    for fcm_token, owner in (("tok-a1", "alice"), ("tok-a2", "alice"), ("tok-b1", "bob")):
        claims = verify(by_token[fcm_token], [KEY], now=NOW.timestamp())
        assert claims.ecm_user == owner
        assert claims.notification_id == "n-1"
        assert (claims.process_id, claims.subprocess_id, claims.task_id) == ("1", "2", "3")
        assert claims.actions == ("approve", "reject", "request_info")
        assert claims.expires_at == int((NOW + TTL).timestamp())
    assert by_token["tok-a1"] == by_token["tok-a2"]
    assert by_token["tok-a1"] != by_token["tok-b1"]


def test_event_message_token_names_the_task_and_assignee() -> None:
    event = event_adapter.validate_python(sample_event("task_assigned"))
    w = world(device("asmith", "s1"))
    w.send(EventMessage(event=event))
    [push] = w.sender.pushes
    claims = verify(push.data["action_token"], [KEY], now=NOW.timestamp())
    assert claims.ecm_user == "asmith"
    assert (claims.process_id, claims.subprocess_id, claims.task_id) == ("4711", "4711", "1")
    assert claims.actions == ("approve", "reject", "request_info")
    assert claims.notification_id == push.data["notification_id"]


def test_no_action_token_without_actions() -> None:
    w = world(device("alice", "a1"))
    w.send(message(notification(["alice"], actions=[], apns_category="ECM_INFO")))
    [push] = w.sender.pushes
    assert "action_token" not in push.data
    assert push.data["actions"] == ""


def test_no_action_token_without_a_task() -> None:
    w = world(device("alice", "a1"))
    w.send(message(notification(["alice"], actions=[], task=None)))
    assert "action_token" not in w.sender.pushes[0].data


def test_buttons_never_travel_without_an_action_token() -> None:
    # Buttons are answered with a token naming the task: a notification cannot have one without.
    with pytest.raises(ValidationError, match="needs the task"):
        notification(["alice"], task=None)
    w = world(device("alice", "a1"))
    w.send(message(notification(["alice"], task=None, actions=[])))
    [push] = w.sender.pushes
    assert push.data["actions"] == ""
    assert "action_token" not in push.data


def test_task_assigned_opens_the_task_and_task_completed_closes_it() -> None:
    w = world(device("asmith", "a1"))
    assigned = event_adapter.validate_python(sample_event("task_assigned"))
    w.send(EventMessage(event=assigned))
    [tracked] = w.tasks.tasks.values()
    assert (tracked.task_key, tracked.status, tracked.assignee, tracked.supervisor) == (
        "4711/4711/1",
        "open",
        "asmith",
        "bjones",
    )
    assert tracked.notification_id == w.sender.pushes[0].data["notification_id"]
    completed = event_adapter.validate_python(sample_event("task_completed"))
    w.send(EventMessage(event=completed))
    assert w.tasks.tasks["4711/4711/1"].status == "closed"
    assert w.tasks.tasks["4711/4711/1"].outcome == "Approve"


# --- preferences: mutes, quiet hours, urgent bypass -------------------------------------------

QUIET_NOW = {"start": "04:00", "end": "16:00", "timezone": "UTC"}  # NOW is 10:00


def test_muted_category_is_recorded_not_sent() -> None:
    w = world(device("alice", "a1"))
    w.preferences.by_owner["alice"] = Preferences(muted_categories=["sla"])
    report = w.send(message(notification(["alice"])))
    assert w.sender.pushes == []
    assert report.muted == 1
    assert w.deliveries.policies == [("n-1", "alice", "muted", None)]


def test_quiet_hours_defer_to_the_end_for_that_recipient_only() -> None:
    w = world(device("alice", "a1"), device("bob", "b1"))
    w.preferences.by_owner["alice"] = Preferences(quiet_hours=QuietHours(**QUIET_NOW))
    report = w.send(message(notification(["alice", "bob"])))
    assert [p.token for p in w.sender.pushes] == ["tok-b1"]
    assert report.deferred == 1
    [(deferred, delay)] = w.publisher.published
    assert deferred.notification.recipients == ["alice"]
    assert deferred.notification.id == "n-1"  # same id: delivery claims stay exactly-once
    assert deferred.not_before > NOW
    assert 1 <= delay <= 900
    assert w.deliveries.policies[0][:3] == ("n-1", "alice", "deferred")


def test_a_deferred_push_back_early_waits_another_hop_then_delivers() -> None:
    w = world(device("alice", "a1"))
    early = NotificationMessage(
        notification=notification(["alice"]), not_before=NOW + timedelta(hours=5)
    )
    assert w.send(early).deferred == 1
    assert w.sender.pushes == []
    assert w.publisher.published[0][1] == 900
    due = NotificationMessage(notification=notification(["alice"]), not_before=NOW)
    w.send(due)
    assert [p.token for p in w.sender.pushes] == ["tok-a1"]


@pytest.mark.parametrize(
    ("changes", "bypassed"),
    [
        ({"type": "sla.escalation"}, "muted,quiet_hours"),
        (
            {"type": "governance.alert", "severity": "critical", "category": "sla"},
            "muted,quiet_hours",
        ),
    ],
)
def test_urgent_pushes_go_through_mutes_and_quiet_hours_and_say_so(
    changes: dict[str, Any], bypassed: str
) -> None:
    w = world(device("alice", "a1"))
    w.preferences.by_owner["alice"] = Preferences(
        muted_categories=["sla"], quiet_hours=QuietHours(**QUIET_NOW)
    )
    w.send(message(notification(["alice"], **changes)))
    assert [p.token for p in w.sender.pushes] == ["tok-a1"]
    assert w.deliveries.policies == [("n-1", "alice", "bypassed", bypassed)]


def test_non_critical_governance_alert_respects_quiet_hours() -> None:
    w = world(device("alice", "a1"))
    w.preferences.by_owner["alice"] = Preferences(quiet_hours=QuietHours(**QUIET_NOW))
    w.send(message(notification(["alice"], type="governance.alert", severity="warning")))
    assert w.sender.pushes == []


# --- audiences: the notification decides, never the recipient's spelling -----------------------


def _external_device(external_id: str, installation_id: str) -> Device:
    return device(f"ext:{external_id}", installation_id, "ios").model_copy(
        update={"audience": "external", "external_id": external_id}
    )


def test_internal_notification_for_an_ext_recipient_reaches_no_external_device() -> None:
    w = world(_external_device("cust-1", "ext-phone"), device("asmith", "a-phone"))
    w.routing = RoutingConfig(external_channels=["ios"])
    report = w.send(NotificationMessage(notification=notification(["ext:cust-1", "asmith"])))
    assert [p.token for p in w.sender.pushes] == ["tok-a-phone"]
    assert ("n-1", "ext:cust-1", "wrong_audience", None) in w.deliveries.policies
    assert report.sent == 1


def test_internal_notification_skips_a_users_own_external_registration() -> None:
    own_external = device("asmith", "a-portal", "ios").model_copy(
        update={"audience": "external", "external_id": "cust-1"}
    )
    w = world(own_external, device("asmith", "a-phone"))
    w.send(NotificationMessage(notification=notification(["asmith"])))
    assert [p.token for p in w.sender.pushes] == ["tok-a-phone"]


def test_external_notification_for_an_internal_recipient_sends_nothing() -> None:
    w = world(device("asmith", "a-phone"))
    info = notification(["asmith"], actions=[], task=None, audience="external")
    w.send(NotificationMessage(notification=info))
    assert w.sender.pushes == []
    assert ("n-1", "asmith", "wrong_audience", None) in w.deliveries.policies


# --- delivery batches and the deadline ----------------------------------------------------------


def _crowd(count: int) -> list[Device]:
    return [device(f"user-{n:02}", f"inst-{n:02}") for n in range(count)]


def test_an_audience_larger_than_a_batch_is_queued_as_batches_then_each_sent_once() -> None:
    w = world(*_crowd(5))
    w.options = {"batch_size": 2}
    owners = [f"user-{n:02}" for n in range(5)]
    report = w.send(message(notification(owners)))
    assert report.batches == 3
    assert report.sent == 0
    assert w.sender.pushes == []
    assert w.deliveries.saved == []
    batches = [m for m, _ in w.publisher.published]
    assert [b.notification.recipients for b in batches] == [owners[:2], owners[2:4], owners[4:]]
    assert {b.notification.id for b in batches} == {"n-1"}
    for batch in batches + batches:  # every batch delivered twice, as SQS may
        w.send(batch)
    assert sorted(p.token for p in w.sender.pushes) == [f"tok-inst-{n:02}" for n in range(5)]
    assert sorted(r for _, r in w.deliveries.inbox) == sorted(owners + owners)  # same entries


def test_a_batch_reads_its_audience_at_once_and_claims_in_one_call() -> None:
    w = world(device("alice", "a1"), device("alice", "a2"), device("bob", "b1"))
    w.send(message(notification(["alice", "bob", "carol"])))
    assert w.devices.calls == 1
    assert w.deliveries.claim_calls == 1
    assert len(w.sender.batches) == 1


class Ticking:
    """A monotonic clock that each send moves on by `per_send` seconds."""

    def __init__(self, per_send: float) -> None:
        self.now = 0.0
        self.per_send = per_send

    def __call__(self) -> float:
        return self.now


def test_near_the_deadline_no_new_send_starts_and_the_rest_is_retried() -> None:
    w = world(*_crowd(5))
    w.options = {"send_chunk": 2, "reserve_seconds": 5.0}
    ticking = Ticking(per_send=10.0)
    real_send = w.sender.send

    def slow_send(pushes: Sequence[Push]) -> list[SendResult]:
        ticking.now += ticking.per_send
        return real_send(pushes)

    w.sender.send = slow_send  # type: ignore[method-assign]
    owners = [f"user-{n:02}" for n in range(5)]
    report = w.send(message(notification(owners)), Deadline(22.0, clock=ticking))
    assert (report.sent, report.unreached) == (4, 1)  # 22 s: two sends of 10 s, then 2 s < 5 s
    # Not a failure (it would climb towards the DLQ while it waits its turn): queued again.
    assert report.requeued == 1
    assert [(m.notification.recipients, d) for m, d in w.publisher.published] == [(owners, 0)]
    # The last device was claimed ahead, during the second send, then released unsent: the
    # retry may take it at once.
    assert {(r.installation_id, r.status) for r in w.deliveries.records} == {
        *((f"inst-{n:02}", DeliveryStatus.SENT) for n in range(4)),
        ("inst-04", DeliveryStatus.RETRYING),
    }
    assert len(w.sender.pushes) == 4
    w.send(w.publisher.published[0][0])  # the copy comes back: only the rest goes out
    assert sorted(p.token for p in w.sender.pushes) == [f"tok-inst-{n:02}" for n in range(5)]


def test_an_event_near_the_deadline_is_retried_not_routed_twice() -> None:
    w = world(*_crowd(3))
    w.options = {"reserve_seconds": 5.0}
    raw = sample_event("document_available")
    raw["data"]["audience"] = {"users": [{"user_id": f"user-{n:02}"} for n in range(3)]}
    with pytest.raises(RetryLater) as raised:
        w.send(EventMessage(event=event_adapter.validate_python(raw)), Deadline(1.0))
    assert raised.value.report is not None
    assert raised.value.report.unreached == 3
    assert w.publisher.published == []  # the SQS record itself comes back


def test_credentials_are_made_to_last_the_invocation_before_anything_is_claimed() -> None:
    w = world(device("alice", "a1"), device("bob", "b1"))
    w.sender.credentials_down = True
    with pytest.raises(RetryLater) as raised:  # a fault: it counts towards the DLQ
        w.send(message(notification(["alice", "bob"])), Deadline(25.0))
    assert raised.value.report is not None
    assert raised.value.report.retrying == 2
    assert raised.value.retry_after_seconds == 10
    assert w.deliveries.claim_calls == 0  # nothing claimed: a kill now strands nothing
    assert w.sender.pushes == []
    assert 24 < w.sender.authorized[0] <= 25  # valid for what is left of the invocation
    w.sender.credentials_down = False
    w.send(message(notification(["alice", "bob"])))
    assert sorted(p.token for p in w.sender.pushes) == ["tok-a1", "tok-b1"]
    assert w.sender.authorized[-1] == 900  # no deadline: Lambda's longest timeout


def test_an_answer_that_cannot_be_written_fails_the_message() -> None:
    w = world(device("alice", "a1"))

    def unwritable(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("DynamoDB unreachable")

    w.deliveries.save_outcomes = unwritable  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="unreachable"):
        w.send(message(notification(["alice"])))


def test_quota_exceeded_with_retry_after_pauses_the_project_and_holds_the_rest() -> None:
    w = world(*_crowd(4), answers={"tok-inst-00": fcm_result(
        error_code="QUOTA_EXCEEDED", retry_after_seconds=30.0
    )})  # fmt: skip
    w.options = {"send_chunk": 2}
    owners = [f"user-{n:02}" for n in range(4)]
    with pytest.raises(RetryLater) as raised:
        w.send(message(notification(owners)))
    assert w.pause.asked == [NOW + timedelta(seconds=30)]
    assert raised.value.retry_after_seconds == 30.0
    report = raised.value.report
    assert report is not None
    assert (report.sent, report.retrying, report.held) == (1, 1, 2)
    assert len(w.sender.batches) == 1  # the second chunk was never sent
    released = [r.status for r in w.deliveries.records if r.owner in ("user-02", "user-03")]
    assert released == [DeliveryStatus.RETRYING] * 2  # claimed ahead, given back at once


def test_a_batch_arriving_during_a_pause_sends_nothing_and_waits_it_out() -> None:
    w = world(device("alice", "a1"))
    w.pause.held_until = NOW + timedelta(seconds=45)
    assert w.send(message(notification(["alice"]))).held == 1
    assert [d for _, d in w.publisher.published] == [45]  # queued again for the pause
    assert w.sender.batches == []
    assert w.deliveries.claims == []
    w.pause.held_until = NOW - timedelta(seconds=1)  # over
    assert w.send(message(notification(["alice"]))).sent == 1


def test_quota_exceeded_without_retry_after_retries_only_that_record() -> None:
    w = world(device("alice", "a1"), answers={"tok-a1": fcm_result(error_code="QUOTA_EXCEEDED")})
    with pytest.raises(RetryLater):
        w.send(message(notification(["alice"])))
    assert w.pause.asked == []


# --- teams kept as Content Server groups ----------------------------------------------------------


def _group_world(groups: dict[int, tuple[list[str], list[int]]], *devices: Device) -> World:
    w = world(*devices)
    w.directory = FakeDirectory(groups)
    w.routing = RoutingConfig(teams={"field-ops": EcmGroupTeam(ecm_group=100), "office": ["bob"]})
    return w


def _bulletin(teams: list[str], users: list[str] = ()) -> EventMessage:  # type: ignore[assignment]
    raw = sample_event("document_available")
    raw["data"]["audience"] = {"teams": teams, "users": [{"user_id": u} for u in users]}
    return EventMessage(event=event_adapter.validate_python(raw))


def _drain(w: World, times: int = 1) -> None:
    """Deliver what Dispatch queued (pages, batches), each `times` times as SQS may, until
    nothing new comes."""
    handled = 0
    while handled < len(w.publisher.published):
        queued, _ = w.publisher.published[handled]
        handled += 1
        for _ in range(times):
            w.send(queued)


def test_a_group_team_is_read_page_by_page_and_each_member_served_once() -> None:
    members = [f"user-{n:02}" for n in range(7)]
    w = _group_world(
        {100: (members, [200]), 200: (["user-01", "carol"], [100])},  # a cycle back to 100
        *_crowd(7),
        device("bob", "b1"),
        device("carol", "c1"),
    )
    report = w.send(_bulletin(["field-ops", "office"]))
    assert report.group_pages == 1
    assert [p.token for p in w.sender.pushes] == ["tok-b1"]  # the listed team at once
    _drain(w)
    tokens = [p.token for p in w.sender.pushes]
    assert sorted(tokens) == sorted({*(f"tok-inst-{n:02}" for n in range(7)), "tok-b1", "tok-c1"})
    assert len(tokens) == len(set(tokens))  # user-01 is in both groups: one push
    # Pages 1-3 of 100's users, 100's groups, 200's users, 200's groups; 100 is not re-walked.
    walked = [(100, "users", n) for n in (1, 2, 3)]
    walked += [(100, "groups", 1), (200, "users", 1), (200, "groups", 1)]
    assert sorted(w.directory.calls) == sorted(walked)  # type: ignore[union-attr]


def test_a_page_read_twice_sends_nothing_twice() -> None:
    w = _group_world({100: ([f"user-{n:02}" for n in range(4)], [])}, *_crowd(4))
    w.send(_bulletin(["field-ops"]))
    _drain(w, times=2)
    tokens = [p.token for p in w.sender.pushes]
    assert sorted(tokens) == [f"tok-inst-{n:02}" for n in range(4)]
    assert len(w.directory.calls) > 4  # type: ignore[union-attr]  # pages were read twice


def test_a_group_larger_than_the_team_allows_is_refused_whole() -> None:
    w = _group_world({100: ([f"user-{n:02}" for n in range(5)], [])}, *_crowd(5))
    w.routing = RoutingConfig(teams={"field-ops": EcmGroupTeam(ecm_group=100, max_members=4)})
    w.send(_bulletin(["field-ops"]))
    page_one = w.publisher.published[0][0]
    report = w.send(page_one)
    assert report.groups_refused == 1
    assert w.sender.pushes == []
    assert len(w.publisher.published) == 1  # no further page queued


def test_an_unknown_group_is_refused_and_content_server_down_is_retried() -> None:
    w = _group_world({}, *_crowd(2))
    w.send(_bulletin(["field-ops"]))
    page_one = w.publisher.published[0][0]
    assert w.send(page_one).groups_refused == 1
    w.directory = FakeDirectory({100: (["user-00", "user-01"], [])})
    w.directory.down = True
    with pytest.raises(RetryLater) as retry:
        w.send(page_one)
    assert retry.value.retry_after_seconds == 30
    assert w.sender.pushes == []
    w.directory.down = False
    w.send(page_one)
    assert sorted(p.token for p in w.sender.pushes) == ["tok-inst-00", "tok-inst-01"]


def test_a_group_team_without_content_server_settings_is_an_operator_error() -> None:
    w = _group_world({100: (["user-00"], [])}, *_crowd(1))
    w.directory = None
    w.send(_bulletin(["field-ops"]))
    with pytest.raises(ConfigurationError, match="group-backed teams need"):
        w.send(w.publisher.published[0][0])


def test_logins_that_cannot_be_ecmpush_user_ids_are_left_out() -> None:
    w = _group_world({100: (["ext:cust-1", "a#b", "user-00"], [])}, *_crowd(1))
    w.send(_bulletin(["field-ops"]))
    _drain(w)
    assert [p.token for p in w.sender.pushes] == ["tok-inst-00"]


def test_a_group_page_names_one_group_and_nobody_else() -> None:
    team = EcmGroupTeam(ecm_group=100)
    with pytest.raises(ValidationError):
        GroupPageMessage(notification=notification(["alice"], groups=[team]))
    with pytest.raises(ValidationError):
        GroupPageMessage(notification=notification([], groups=[team, EcmGroupTeam(ecm_group=2)]))
    with pytest.raises(ValidationError):
        notification([])  # nobody to hear it


def test_a_group_page_too_close_to_the_deadline_is_queued_again_unread() -> None:
    w = _group_world({100: (["user-00"], [])}, *_crowd(1))
    w.options = {"reserve_seconds": 5.0}
    w.send(_bulletin(["field-ops"]))
    page_one = w.publisher.published[0][0]
    report = w.send(page_one, Deadline(2.0))
    assert report.requeued == 1
    assert w.directory.calls == []  # type: ignore[union-attr]  # not read
    assert w.publisher.published[-1] == (page_one, 0)
    w.send(page_one)
    assert [p.token for p in w.sender.pushes] == ["tok-inst-00"]


def test_a_read_group_page_that_cannot_finish_goes_on_as_a_batch_not_as_the_page() -> None:
    members = [f"user-{n:02}" for n in range(3)]
    w = _group_world({100: (members, [])}, *_crowd(3))
    w.sender.answers = {"tok-inst-01": fcm_result(error_code="UNAVAILABLE")}
    w.send(_bulletin(["field-ops"]))
    page_one = w.publisher.published[0][0]
    w.publisher.published.clear()
    report = w.send(page_one)  # no RetryLater: the page itself is done
    assert report.requeued == 1
    queued = [m for m, _ in w.publisher.published]
    assert [type(m).__name__ for m in queued] == ["GroupPageMessage", "NotificationMessage"]
    assert queued[0].member_type == "groups"  # the follow-up, queued once
    assert queued[1].notification.recipients == members
    w.sender.answers = {}
    w.send(queued[1])
    tokens = [p.token for p in w.sender.pushes]
    assert sorted(tokens) == ["tok-inst-00", "tok-inst-01", "tok-inst-01", "tok-inst-02"]
    assert len(w.directory.calls) == 1  # type: ignore[union-attr]  # the page read once


# --- a push that cannot be rendered (issue 20, finding 6) ----------------------------------------


def zoned(owner: str, installation_id: str, zone: str | None) -> Device:
    return device(owner, installation_id).model_copy(update={"timezone": zone})


def far_due(when: str) -> Notification:
    """A notification with a due time that only some zones can show (it came from the queue,
    bypassing intake's 2000 to 2100 bound: queued before it, or written by hand)."""
    due = datetime.fromisoformat(when)
    return notification(["alice", "bob"], due_at=due, params={"task_title": "Sign", "due_at": when})


@pytest.mark.parametrize(
    ("when", "broken_zone"),
    [
        ("9999-12-31T23:59:59+00:00", "Europe/Berlin"),
        ("0001-01-01T00:00:00+00:00", "America/New_York"),
    ],
)
def test_a_device_whose_push_cannot_be_rendered_costs_nobody_else_theirs(
    when: str, broken_zone: str, caplog: pytest.LogCaptureFixture
) -> None:
    w = world(
        zoned("alice", "a-broken", broken_zone),
        zoned("alice", "a-utc", "UTC"),
        zoned("bob", "b-none", None),
    )
    report = w.send(message(far_due(when)))  # completes: no RetryLater, nothing to the DLQ
    assert sorted(p.token for p in w.sender.pushes) == ["tok-a-utc", "tok-b-none"]
    assert report.sent == 2
    assert report.failed == 1
    statuses = {(r.installation_id, r.status, r.error_code) for r in w.deliveries.records}
    assert statuses == {
        ("a-broken", DeliveryStatus.FAILED, "RENDER_FAILED"),
        ("a-utc", DeliveryStatus.SENT, None),
        ("b-none", DeliveryStatus.SENT, None),
    }
    [failed] = [r for r in w.deliveries.records if r.installation_id == "a-broken"]
    assert "OverflowError" in (failed.error_message or "")
    [line] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "a-broken" in line.getMessage()
    assert "alice" not in line.getMessage()  # pseudonymised


def test_the_retry_of_a_partly_failed_message_does_not_render_again_for_the_served() -> None:
    w = world(zoned("alice", "a-broken", "Asia/Tokyo"), zoned("bob", "b1", "UTC"))
    w.send(message(far_due("9999-12-31T23:59:59+00:00")))
    again = w.send(message(far_due("9999-12-31T23:59:59+00:00")))
    assert [p.token for p in w.sender.pushes] == ["tok-b1"]  # bob once, alice's never
    assert again.skipped == 1
    assert again.failed == 1


def test_a_recipient_whose_preferences_cannot_be_applied_fails_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ecmpush.domain.delivery.delivery_policy import decide as real

    def decide(n: Notification, preferences: Preferences, now: datetime) -> Any:
        if preferences.muted_categories == ["review"]:  # alice's, as a marker
            raise OverflowError("date value out of range")
        return real(n, preferences, now)

    monkeypatch.setattr("ecmpush.services.delivery_plan.decide", decide)
    w = world(device("alice", "a1"), device("alice", "a2"), device("bob", "b1"))
    w.preferences.by_owner["alice"] = Preferences(muted_categories=["review"])
    report = w.send(message(notification(["alice", "bob"])))
    assert [p.token for p in w.sender.pushes] == ["tok-b1"]
    assert report.failed == 2
    assert {(r.installation_id, r.status) for r in w.deliveries.records} == {
        ("a1", DeliveryStatus.FAILED),
        ("a2", DeliveryStatus.FAILED),
        ("b1", DeliveryStatus.SENT),
    }
    assert any(r.levelname == "ERROR" for r in caplog.records)
