"""Dispatch use case: message → notifications → recipients → devices → pushes → FCM → one
delivery record per device.

Retries are per SQS item: a transient FCM answer for any device raises `RetryLater`, and the
retry skips devices already served because each delivery is claimed before it is sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from ecmpush.clock import rfc3339
from ecmpush.domain.delivery import (
    WRONG_PROJECT_CODES,
    Claim,
    DeliveryStatus,
    FcmOutcome,
    SendResult,
    classify,
    suspect_credentials,
)
from ecmpush.domain.delivery_policy import Verdict, decide
from ecmpush.domain.devices import Device
from ecmpush.domain.events import EcmEvent, RecordExpiryScheduled, TaskAssigned, TaskCompleted
from ecmpush.domain.messages import DispatchMessage, EventMessage, NotificationMessage
from ecmpush.domain.notifications import Notification
from ecmpush.domain.preferences import Preferences as UserPreferences
from ecmpush.domain.push import Push
from ecmpush.domain.render import PayloadTooLarge, render_push
from ecmpush.domain.routing import RoutingContext, route
from ecmpush.domain.routing_config import RoutingConfig
from ecmpush.domain.tasks import TrackedTask, from_assigned
from ecmpush.domain.user_ids import EXTERNAL_PREFIX, is_external
from ecmpush.ports import PushSender
from ecmpush.services.action_tokens import ActionTokenSigner
from ecmpush.services.record_intake import RecordIntake

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit


STATE_ONLY = (TaskCompleted, RecordExpiryScheduled)  # change tracked state; the sweeps notify


def _outcome(event: EcmEvent, notifications: list[Notification]) -> str:
    if notifications:
        return "routed"
    return "tracked" if isinstance(event, STATE_ONLY) else "no_recipients"


class RetryLater(Exception):
    """Some devices of this message got a transient answer; retry the SQS item (only those).
    `report` says what the attempt did meanwhile (for metrics)."""

    def __init__(
        self,
        message: str,
        retry_after_seconds: float | None = None,
        report: DispatchReport | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.report = report


class Devices(Protocol):
    def for_owner(self, owner: str) -> list[Device]: ...
    def for_external(self, external_id: str) -> list[Device]: ...
    def delete_if_token(self, owner: str, installation_id: str, token: str) -> bool: ...


class Deliveries(Protocol):
    def save_notification(self, notification: Notification, now: datetime) -> None: ...
    def claim(
        self,
        notification: Notification,
        owner: str,
        installation_id: str,
        platform: str,
        now: datetime,
        lease_seconds: int,
    ) -> Claim: ...
    def record(
        self,
        notification_id: str,
        owner: str,
        installation_id: str,
        status: DeliveryStatus,
        now: datetime,
        *,
        message_id: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None: ...
    def record_no_device(self, notification: Notification, owner: str, now: datetime) -> None: ...
    def record_policy(
        self,
        notification: Notification,
        owner: str,
        outcome: str,
        now: datetime,
        detail: str | None = None,
    ) -> None: ...


class Preferences(Protocol):
    def get(self, owner: str) -> UserPreferences: ...


class Publisher(Protocol):
    def publish(self, message: BaseModel, delay_seconds: int = 0) -> str: ...


class Events(Protocol):
    def mark(self, event_id: str, status: str, now: datetime, notifications: int = 0) -> None: ...


class Tasks(Protocol):
    def open(self, task: TrackedTask) -> None: ...
    def close(self, key: str, outcome: str | None, now: datetime) -> None: ...


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    removed: int = 0
    no_device: int = 0
    skipped: int = 0
    retrying: int = 0
    muted: int = 0
    deferred: int = 0
    platform_auth: int = 0  # APNs/web-push credential errors (alarmed, never pruned)
    credentials_suspect: bool = False  # "wrong project" for most tokens: nothing pruned, alarmed
    retry_after: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Pending:
    notification: Notification
    owner: str
    device: Device
    push: Push


class DispatchService:
    def __init__(
        self,
        *,
        devices: Devices,
        deliveries: Deliveries,
        events: Events,
        tasks: Tasks,
        preferences: Preferences,
        publisher: Publisher,
        routing: Callable[[], RoutingConfig],
        records: RecordIntake,
        sender: PushSender,
        signer: ActionTokenSigner,
        app_base_url: str,
        clock: Callable[[], datetime],
        lease_seconds: int = 90,
    ) -> None:
        self._devices = devices
        self._deliveries = deliveries
        self._events = events
        self._tasks = tasks
        self._preferences = preferences
        self._publisher = publisher
        self._routing = routing
        self._records = records
        self._sender = sender
        self._signer = signer
        self._base_url = app_base_url
        self._clock = clock
        self._lease = lease_seconds

    def handle(self, message: DispatchMessage) -> DispatchReport:
        now = self._clock()
        if isinstance(message, EventMessage):
            context = RoutingContext(self._base_url, now, self._routing)
            notifications = route(message.event, context)
            self._track(message.event, notifications, now)
        elif message.not_before is not None and message.not_before > now:
            self._wait(message, now)  # a deferred push, back early: wait another hop
            return DispatchReport(deferred=1)
        else:
            notifications = [message.notification]
        report = self.deliver(notifications, now)
        if isinstance(message, EventMessage):
            self._events.mark(
                message.event.id, _outcome(message.event, notifications), now, len(notifications)
            )
        if report.retrying:
            delay = max(report.retry_after) if report.retry_after else None
            raise RetryLater(f"{report.retrying} deliveries need a retry", delay, report)
        return report

    def _track(self, event: EcmEvent, notifications: list[Notification], now: datetime) -> None:
        """Tracked state, before any push: a reply racing the push must find its task open."""
        self._records.track(event, now)  # record.expiry_scheduled → RecordsTable
        if isinstance(event, TaskAssigned):
            nid = notifications[0].id if notifications else None
            self._tasks.open(from_assigned(event, nid, now))
        elif isinstance(event, TaskCompleted):
            self._tasks.close(event.data.task.key, event.data.outcome, now)

    def deliver(self, notifications: Sequence[Notification], now: datetime) -> DispatchReport:
        report = DispatchReport()
        pending: list[_Pending] = []
        for notification in notifications:
            self._deliveries.save_notification(notification, now)
            for owner in dict.fromkeys(notification.recipients):
                pending.extend(self._prepare(notification, owner, now, report))
        results = self._sender.send([p.push for p in pending]) if pending else []
        # Most tokens "of another project" means this service account is of another project:
        # pruning would empty the devices table, so nothing is pruned and the batch retries.
        report.credentials_suspect = suspect_credentials(results)
        for item, result in zip(pending, results, strict=True):
            self._apply(item, result, report)
        return report

    def _devices_of(
        self, notification: Notification, recipient: str, now: datetime
    ) -> list[Device]:
        """An internal user's internal devices; for an external stakeholder, only devices
        registered for the external audience under their verified external id, on approved
        channels. The notification's audience decides, never the spelling of the recipient: an
        internal notification never reaches an external device, nor the other way round."""
        if notification.audience == "internal":
            if is_external(recipient):
                self._deliveries.record_policy(notification, recipient, "wrong_audience", now)
                return []
            return [d for d in self._devices.for_owner(recipient) if d.audience == "internal"]
        if not recipient.startswith(EXTERNAL_PREFIX):
            self._deliveries.record_policy(notification, recipient, "wrong_audience", now)
            return []
        registered = self._devices.for_external(recipient.removeprefix(EXTERNAL_PREFIX))
        approved = set(self._routing().external_channels)
        devices = [d for d in registered if d.platform in approved]
        if registered and not devices:
            self._deliveries.record_policy(notification, recipient, "no_approved_channel", now)
        return devices

    def _wait(self, message: NotificationMessage, now: datetime) -> None:
        """SQS delays at most 15 minutes: a longer quiet period is waited out in hops."""
        assert message.not_before is not None
        seconds = (message.not_before - now).total_seconds()
        self._publisher.publish(message, delay_seconds=int(min(max(seconds, 1), MAX_DELAY_SECONDS)))

    def _apply_preferences(
        self, notification: Notification, owner: str, now: datetime, report: DispatchReport
    ) -> bool:
        """True when the push goes out now; muted and deferred ones are recorded (and deferred
        ones re-enqueued for this recipient alone, due when their quiet period ends)."""
        decision = decide(notification, self._preferences.get(owner), now)
        if decision.verdict is Verdict.MUTED:
            self._deliveries.record_policy(notification, owner, "muted", now)
            report.muted += 1
            return False
        if decision.verdict is Verdict.DEFER:
            assert decision.until is not None
            until = rfc3339(decision.until)
            self._deliveries.record_policy(notification, owner, "deferred", now, until)
            only_this_owner = notification.model_copy(update={"recipients": [owner]})
            self._wait(
                NotificationMessage(notification=only_this_owner, not_before=decision.until), now
            )
            report.deferred += 1
            return False
        if decision.bypassed:
            self._deliveries.record_policy(notification, owner, "bypassed", now, decision.bypassed)
        return True

    def _prepare(
        self, notification: Notification, owner: str, now: datetime, report: DispatchReport
    ) -> list[_Pending]:
        if not self._apply_preferences(notification, owner, now, report):
            return []
        devices = self._devices_of(notification, owner, now)
        if not devices:
            self._deliveries.record_no_device(notification, owner, now)
            report.no_device += 1
            return []
        token = self._signer.for_recipient(notification, owner, now)
        pending = []
        for device in devices:
            claim = self._deliveries.claim(
                notification, owner, device.installation_id, device.platform, now, self._lease
            )
            if claim is Claim.DONE:
                report.skipped += 1
                continue
            if claim is Claim.IN_FLIGHT:
                report.retrying += 1  # another attempt holds it; check again after its lease
                report.retry_after.append(float(self._lease))
                continue
            try:
                push = render_push(notification, device, token)
            except PayloadTooLarge as exc:
                self._deliveries.record(
                    notification.id, owner, device.installation_id, DeliveryStatus.FAILED, now,
                    error_code="PAYLOAD_TOO_LARGE", error_message=str(exc),
                )  # fmt: skip
                report.failed += 1
                continue
            pending.append(_Pending(notification, owner, device, push))
        return pending

    def _apply(self, item: _Pending, result: SendResult, report: DispatchReport) -> None:
        now = self._clock()
        outcome = classify(result)
        if report.credentials_suspect and result.error_code in WRONG_PROJECT_CODES:
            outcome = FcmOutcome.RETRY
        status = {
            FcmOutcome.SENT: DeliveryStatus.SENT,
            FcmOutcome.REMOVE_TOKEN: DeliveryStatus.TOKEN_REMOVED,
            FcmOutcome.RETRY: DeliveryStatus.RETRYING,
            FcmOutcome.PERMANENT: DeliveryStatus.FAILED,
            FcmOutcome.PLATFORM_AUTH: DeliveryStatus.FAILED,
        }[outcome]
        if outcome is FcmOutcome.REMOVE_TOKEN:
            self._devices.delete_if_token(
                item.owner, item.device.installation_id, item.device.token
            )
            report.removed += 1
        elif outcome is FcmOutcome.RETRY:
            report.retrying += 1
            if result.retry_after_seconds is not None:
                report.retry_after.append(result.retry_after_seconds)
        elif outcome is FcmOutcome.PERMANENT:
            report.failed += 1
        elif outcome is FcmOutcome.PLATFORM_AUTH:
            report.failed += 1
            report.platform_auth += 1
        else:
            report.sent += 1
        self._deliveries.record(
            item.notification.id,
            item.owner,
            item.device.installation_id,
            status,
            now,
            message_id=result.message_id,
            error_code=result.error_code,
            error_message=result.error_message,
        )
