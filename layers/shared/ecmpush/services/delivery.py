"""Delivering notifications: `Delivery` queues group pages and fan-out batches and hands each
batch to `BatchDelivery`, which plans, claims, sends and saves (docs/design/dispatch.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import batched
from typing import Any

from ecmpush.clock import Deadline
from ecmpush.domain.delivery.messages import GroupPageMessage, NotificationMessage
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.outcomes import (
    Claim,
    DeliveryOutcome,
    DeliveryStatus,
    SendResult,
    SendVerdict,
    suspect_credentials,
)
from ecmpush.domain.delivery.pacing import pause_after
from ecmpush.ports import DeliveriesPort, FcmPausePort, Publisher, PushSender
from ecmpush.services.audience import AudienceResolver
from ecmpush.services.delivery_plan import Pending, Planner
from ecmpush.services.dispatch_report import DispatchReport

log = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit
MAX_INVOCATION_SECONDS = 900.0  # Lambda's longest timeout: credentials need last no longer
CREDENTIALS_RETRY_SECONDS = 10.0  # a batch that could not get FCM credentials waits this long
# Time kept back from the deadline before a send starts is the send's own timeout (bootstrap
# adds the sender's) plus this, for recording its answers and what was not reached.
OUTCOME_SAVE_SECONDS = 3.0
CLAIM_LEASE_SECONDS = 90  # a claim in SENDING another attempt waits out before sending again

# One DynamoDB call each, run side by side on the pool.
_CLAIMS_PER_CALL = 100  # a transaction
_INBOX_PER_CALL = 24  # a BatchWriteItem, with the header in the first
_OUTCOMES_PER_WRITE = 25  # a BatchWriteItem

Background = list[Future[Any]]


@dataclass(frozen=True)
class DeliveryOptions:
    """Dispatch's tunables, from Settings (their one default is there)."""

    lease_seconds: int
    batch_size: int  # recipients per delivery batch
    send_chunk: int  # pushes per send
    reserve_seconds: float  # kept back from the deadline before a send starts

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.send_chunk < 1:
            raise ValueError("batch_size and send_chunk must be positive")


class Requeue:
    """Dispatch messages back on the dispatch queue: a later hop, or the same message again."""

    def __init__(self, queue: Publisher) -> None:
        self._queue = queue

    def again(
        self,
        messages: Sequence[GroupPageMessage | NotificationMessage],
        report: DispatchReport,
        delay: float,
    ) -> DispatchReport:
        """Queue again instead of failing the record, when what is left was only not reached
        in time or held by FCM's pause: those are no faults, and a record failed for them
        would climb towards the DLQ while it waits its turn. Sent again, it is idempotent:
        claimed devices are skipped. Events are never requeued (they retry)."""
        seconds = int(min(max(delay, 0), MAX_DELAY_SECONDS))
        for message in messages:
            self._queue.publish(message, delay_seconds=seconds)
        return report + DispatchReport(requeued=len(messages))

    def wait(self, message: NotificationMessage, now: datetime) -> None:
        """SQS delays at most 15 minutes: a longer quiet period is waited out in hops."""
        assert message.not_before is not None
        seconds = (message.not_before - now).total_seconds()
        self._queue.publish(message, delay_seconds=int(min(max(seconds, 1), MAX_DELAY_SECONDS)))

    def publish_all(self, messages: Sequence[GroupPageMessage | NotificationMessage]) -> int:
        return self._queue.publish_all(messages)


class Delivery:
    """Notifications to their recipients: group pages and fan-out batches are queued (each
    sent by its own invocation), a batch that fits is delivered here."""

    def __init__(self, batch: BatchDelivery, queue: Requeue, batch_size: int) -> None:
        self._batch = batch
        self._queue = queue
        self._batch_size = batch_size

    def deliver(
        self, notifications: Sequence[Notification], now: datetime, deadline: Deadline
    ) -> tuple[DispatchReport, Background]:
        """Send (or fan out), and hand back the writes still running (answers, pruned tokens),
        so the caller overlaps its own last write with them."""
        reports: list[DispatchReport] = []
        background: Background = []
        for notification in notifications:
            if notification.groups:
                reports.append(self._walk_groups(notification))
            owners = list(dict.fromkeys(notification.recipients))
            if not owners:
                continue
            if len(owners) > self._batch_size:
                reports.append(self._fan_out(notification, owners))
            else:
                report, writes = self._batch.deliver(notification, owners, now, deadline)
                reports.append(report)
                background.extend(writes)
        return DispatchReport.merge(reports), background

    def _batches(self, notification: Notification, owners: Sequence[str]) -> list[Notification]:
        """The notification for `owners` a delivery batch at a time."""
        return [
            notification.model_copy(update={"recipients": list(chunk)})
            for chunk in batched(owners, self._batch_size, strict=False)
        ]

    def _fan_out(self, notification: Notification, owners: list[str]) -> DispatchReport:
        """Queue the audience as delivery batches; each is sent by its own invocation."""
        batches = [NotificationMessage(notification=n) for n in self._batches(notification, owners)]
        self._queue.publish_all(batches)
        return DispatchReport(batches=len(batches))

    def _walk_groups(self, notification: Notification) -> DispatchReport:
        """Queue the first page of each member group; those pages queue the rest."""
        pages = [
            GroupPageMessage(
                notification=notification.model_copy(update={"recipients": [], "groups": [group]})
            )
            for group in notification.groups
        ]
        self._queue.publish_all(pages)
        return DispatchReport(group_pages=len(pages))


class BatchDelivery:
    """One delivery batch: plan → claim → send → save, the next chunk's claims travelling
    while FCM answers this one, answers saved on the pool while sending goes on."""

    def __init__(
        self,
        *,
        audience: AudienceResolver,
        planner: Planner,
        deliveries: DeliveriesPort,
        sender: PushSender,
        pause: FcmPausePort,
        queue: Requeue,
        clock: Callable[[], datetime],
        pool: Executor,
        options: DeliveryOptions,
    ) -> None:
        self._audience = audience
        self._planner = planner
        self._deliveries = deliveries
        self._sender = sender
        self._pause = pause
        self._queue = queue
        self._clock = clock
        self._pool = pool
        self._options = options

    def deliver(
        self, notification: Notification, owners: list[str], now: datetime, deadline: Deadline
    ) -> tuple[DispatchReport, Background]:
        saves = [
            self._pool.submit(
                self._deliveries.save_notification, notification, part, now, header=index == 0
            )
            for index, part in enumerate(batched(owners, _INBOX_PER_CALL, strict=False))
        ]
        paused = self._pool.submit(self._pause.until)
        # The sender's credentials, fetched (if they must be) before anything is claimed.
        authorized = self._pool.submit(
            self._sender.authorize, min(deadline.remaining(), MAX_INVOCATION_SECONDS)
        )
        plan = self._planner.plan(notification, self._audience.reach(notification, owners), now)
        wait_all(saves)  # the inbox entries exist before the first push can be tapped
        for until, waiting in plan.deferred.items():
            for part in batched(waiting, self._options.batch_size, strict=False):
                only_these = notification.model_copy(update={"recipients": list(part)})
                self._queue.wait(
                    NotificationMessage(notification=only_these, not_before=until), now
                )
        background: Background = []
        if plan.outcomes or plan.policies:
            background.append(
                self._pool.submit(
                    self._deliveries.save_outcomes, notification, now, plan.outcomes, plan.policies
                )
            )
        sends = list(batched(plan.pending, self._options.send_chunk, strict=False))
        held_until = paused.result()
        if sends and authorized.exception() is not None:
            # A fault, unlike the deadline: retried as a failure, so a broken service account
            # ends in the DLQ (alarmed) instead of being queued again for ever.
            log.warning("FCM credentials unavailable: %s", authorized.exception())
            retry = DispatchReport(
                retrying=len(plan.pending), retry_after=(CREDENTIALS_RETRY_SECONDS,)
            )
            return plan.report() + retry, background
        sent = self._send_all(notification, sends, held_until, now, deadline, background)
        return plan.report() + sent, background

    def _send_all(
        self,
        notification: Notification,
        sends: Sequence[Sequence[Pending]],
        held_until: datetime | None,
        now: datetime,
        deadline: Deadline,
        background: Background,
    ) -> DispatchReport:
        """Claim and send chunk after chunk until FCM's pause or the deadline stops it; what is
        left is counted `held` or `unreached` for the retry."""
        reserve = self._options.reserve_seconds
        reports: list[DispatchReport] = []
        ahead: list[Future[list[Claim]]] | None = None  # the claims of `sends[index]`, if taken
        for index, chunk in enumerate(sends):
            rest = sum(len(c) for c in sends[index:])
            if held_until is not None and held_until > self._clock():
                wait = (held_until - self._clock()).total_seconds()
                reports.append(DispatchReport(held=rest, retry_after=(wait,)))
            elif deadline.remaining() < reserve:
                reports.append(DispatchReport(unreached=rest))
            else:
                claims = _claims(ahead or self._claim(notification, chunk, now))
                # The next chunk's claims travel while this chunk is with FCM.
                ahead = None
                if index + 1 < len(sends) and deadline.remaining() >= 2 * reserve:
                    ahead = self._claim(notification, sends[index + 1], now)
                report, outcomes, pause = self._send(chunk, claims, background)
                reports.append(report)
                self._save_outcomes(notification, outcomes, background)
                if pause is not None:  # every batch of every fan-out holds off, this one too
                    held_until = self._clock() + timedelta(seconds=pause)
                    self._pause.pause(held_until)
                continue
            if ahead is not None:
                self._release(notification, chunk, _claims(ahead), background)
            break
        return DispatchReport.merge(reports)

    def _release(
        self,
        notification: Notification,
        chunk: Sequence[Pending],
        claims: list[Claim],
        background: Background,
    ) -> None:
        """Claims taken ahead for a chunk that is not sent now are answered `retrying`, so the
        retry of this record takes them at once instead of waiting out their lease."""
        released = [
            DeliveryOutcome(item.target, DeliveryStatus.RETRYING)
            for item, claim in zip(chunk, claims, strict=True)
            if claim is Claim.CLAIMED
        ]
        self._save_outcomes(notification, released, background)

    def _save_outcomes(
        self,
        notification: Notification,
        outcomes: Sequence[DeliveryOutcome],
        background: Background,
    ) -> None:
        """Write answers a batch write's worth per thread, while Dispatch goes on sending."""
        background.extend(
            self._pool.submit(self._deliveries.save_outcomes, notification, self._clock(), part)
            for part in batched(outcomes, _OUTCOMES_PER_WRITE, strict=False)
        )

    def _claim(
        self, notification: Notification, chunk: Sequence[Pending], now: datetime
    ) -> list[Future[list[Claim]]]:
        """Start the claims of one send chunk, a transaction's worth per thread."""
        lease = self._options.lease_seconds
        return [
            self._pool.submit(
                self._deliveries.claim, notification, [p.target for p in part], now, lease
            )
            for part in batched(chunk, _CLAIMS_PER_CALL, strict=False)
        ]

    def _send(
        self, chunk: Sequence[Pending], claims: list[Claim], background: Background
    ) -> tuple[DispatchReport, list[DeliveryOutcome], float | None]:
        """Send a chunk's claimed deliveries: what it came to, what became of each, and how
        long FCM asked the project to pause (None: it did not)."""
        claimed = [
            item for item, claim in zip(chunk, claims, strict=True) if claim is Claim.CLAIMED
        ]
        in_flight = sum(1 for claim in claims if claim is Claim.IN_FLIGHT)
        # Another attempt holds those: check again after its lease.
        report = DispatchReport(
            skipped=sum(1 for claim in claims if claim is Claim.DONE),
            retrying=in_flight,
            retry_after=(float(self._options.lease_seconds),) * in_flight,
        )
        if not claimed:
            return report, [], None
        results = self._sender.send([p.push for p in claimed])
        # Most tokens "of another project" means this service account is of another project:
        # pruning would empty the devices table, so nothing is pruned and the batch retries.
        suspect = suspect_credentials(results)
        outcomes: list[DeliveryOutcome] = []
        counts = [report, DispatchReport(credentials_suspect=suspect)]
        for item, result in zip(claimed, results, strict=True):
            fcm = result.verdict
            if suspect and result.wrong_project:
                fcm = SendVerdict.RETRY
            if fcm is SendVerdict.INVALID_TOKEN:
                target = item.target
                background.append(
                    self._pool.submit(
                        self._audience.forget_token,
                        target.owner,
                        target.installation_id,
                        item.device.token,
                    )
                )
            counts.append(_counted(fcm, result))
            outcomes.append(
                DeliveryOutcome(
                    item.target,
                    _STATUS[fcm],
                    message_id=result.message_id,
                    error_code=result.error_code,
                    error_message=result.error_message,
                )
            )
        return DispatchReport.merge(counts), outcomes, pause_after(results)


def _counted(outcome: SendVerdict, result: SendResult) -> DispatchReport:
    """One FCM answer as a report line."""
    if outcome is SendVerdict.INVALID_TOKEN:
        return DispatchReport(removed=1)
    if outcome is SendVerdict.RETRY:
        wait = result.retry_after_seconds
        return DispatchReport(retrying=1, retry_after=() if wait is None else (wait,))
    if outcome is SendVerdict.FAILED:
        return DispatchReport(failed=1)
    if outcome is SendVerdict.PLATFORM_AUTH:
        return DispatchReport(failed=1, platform_auth=1)
    return DispatchReport(sent=1)


def _claims(started: list[Future[list[Claim]]]) -> list[Claim]:
    return [claim for future in started for claim in future.result()]


def wait_all(futures: Sequence[Future[Any]]) -> None:
    """Wait for every write, then raise the first failure: a lost answer must fail the record."""
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error


_STATUS = {
    SendVerdict.SENT: DeliveryStatus.SENT,
    SendVerdict.INVALID_TOKEN: DeliveryStatus.TOKEN_REMOVED,
    SendVerdict.RETRY: DeliveryStatus.RETRYING,
    SendVerdict.FAILED: DeliveryStatus.FAILED,
    SendVerdict.PLATFORM_AUTH: DeliveryStatus.FAILED,
}
