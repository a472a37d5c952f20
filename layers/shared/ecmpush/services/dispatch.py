"""Dispatch use case: message → notifications → delivery batches → recipients → devices → pushes
→ FCM → one delivery record per device.

Why batches: a notification for more people than one batch holds (`batch_size`) is not sent
here but split into batch messages on the dispatch queue, which Dispatch invocations send in
parallel; a 10,000-device team is then many short invocations, never one that outlives its
timeout. Each batch is idempotent on its own: every delivery is claimed before it is sent, so a
redelivered batch (or the fan-out repeated) skips the devices already served.

Why so few round trips: a batch reads its recipients' rosters and preferences with a few
BatchGetItem calls, writes header and inbox entries with BatchWriteItem while it reads, claims
100 devices per transaction and records answers 25 per batch write, in parallel with the next
send. A `task.assigned` for one user with two devices costs four sequential AWS calls: open the
task; save, read and check the FCM pause (together); claim; record and mark the event
(together).

Why a deadline: a Lambda killed at its timeout would leave claims in SENDING that a later
attempt sends again once their lease passes. Dispatch stops starting sends while it still has
time to record them; what it did not reach goes back to the queue (`RetryLater`).

Why group pages: a team kept as a Content Server group is read a page per message
(domain/group_walk.py), each page a delivery batch of its own, so a 100,000-member group is
many short invocations too, and no list of its members is ever held in one place.

Why a shared pause: FCM's quota is the project's, so QUOTA_EXCEEDED with Retry-After holds back
every batch of every invocation until then (domain/pacing.py), not just the record that met it."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ecmpush.chunks import chunks
from ecmpush.clock import NO_DEADLINE, Deadline, rfc3339
from ecmpush.domain.delivery import (
    NO_DEVICE_ID,
    WRONG_PROJECT_CODES,
    Claim,
    DeliveryOutcome,
    DeliveryStatus,
    DeliveryTarget,
    FcmOutcome,
    PolicyOutcome,
    SendResult,
    classify,
    suspect_credentials,
)
from ecmpush.domain.delivery_policy import Verdict, decide
from ecmpush.domain.devices import Device
from ecmpush.domain.ecm_errors import EcmNotFound, EcmRejected, EcmUnavailable
from ecmpush.domain.events import EcmEvent, RecordExpiryScheduled, TaskAssigned, TaskCompleted
from ecmpush.domain.group_walk import next_step
from ecmpush.domain.links import LinkPolicy
from ecmpush.domain.messages import (
    DispatchMessage,
    EventMessage,
    GroupPageMessage,
    NotificationMessage,
)
from ecmpush.domain.notifications import Notification
from ecmpush.domain.pacing import pause_after
from ecmpush.domain.preferences import Preferences
from ecmpush.domain.push import Push
from ecmpush.domain.recipient import Recipient
from ecmpush.domain.render import PayloadTooLarge, render_push
from ecmpush.domain.routing import RoutingContext, route
from ecmpush.domain.routing_config import RoutingConfig
from ecmpush.domain.tasks import from_assigned
from ecmpush.domain.user_ids import EXTERNAL_PREFIX, is_external
from ecmpush.ports import (
    Deliveries,
    DispatchQueue,
    EcmDirectory,
    EventLog,
    FcmPause,
    PushSender,
    Recipients,
    TaskTracker,
)
from ecmpush.privacy import who
from ecmpush.services.action_tokens import ActionTokenSigner
from ecmpush.services.record_tracking import RecordTracker
from ecmpush.settings import ConfigurationError

log = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit
BATCH_SIZE = 250  # recipients per delivery batch
SEND_CHUNK = 500  # pushes per send (firebase-admin's send_each limit)
# Time kept back from the deadline before a send starts: the send's own timeout (bootstrap adds
# the sender's) plus recording its answers and what was not reached.
OUTCOME_SAVE_SECONDS = 3.0
DEFAULT_RESERVE_SECONDS = 10.5 + OUTCOME_SAVE_SECONDS  # two attempts of 5 s, 0.5 s apart

MAX_INVOCATION_SECONDS = 900.0  # Lambda's longest timeout: credentials need last no longer
CREDENTIALS_RETRY_SECONDS = 10.0  # a batch that could not get FCM credentials waits this long
GROUP_PAGE_BUDGET_SECONDS = 10.0  # reading one page of a group, retries included
GROUP_PAGE_RETRY_SECONDS = 30.0  # a page Content Server could not answer waits this long
STATE_ONLY = (TaskCompleted, RecordExpiryScheduled)  # change tracked state; the sweeps notify


def _outcome(event: EcmEvent, notifications: list[Notification]) -> str:
    if notifications:
        return "routed"
    return "tracked" if isinstance(event, STATE_ONLY) else "no_recipients"


class RetryLater(Exception):
    """Some devices of this message got a transient answer, or were not reached before the
    deadline; retry the SQS item (only those). `report` says what the attempt did meanwhile."""

    def __init__(
        self,
        message: str,
        retry_after_seconds: float | None = None,
        report: DispatchReport | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.report = report


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
    batches: int = 0  # delivery batches queued by a fan-out
    group_pages: int = 0  # pages of Content Server groups queued
    groups_refused: int = 0  # groups not sent to: unknown, not listable or too large
    unreached: int = 0  # devices left for the retry because the deadline came near
    held: int = 0  # devices left for the retry because FCM asked the project to pause
    requeued: int = 0  # the message queued again for what was unreached or held
    platform_auth: int = 0  # APNs/web-push credential errors (alarmed, never pruned)
    credentials_suspect: bool = False  # "wrong project" for most tokens: nothing pruned, alarmed
    retry_after: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Pending:
    target: DeliveryTarget
    device: Device
    push: Push


@dataclass
class _Plan:
    """What one batch decided before sending: pushes to claim and send, facts to record."""

    pending: list[_Pending] = field(default_factory=list)
    outcomes: list[DeliveryOutcome] = field(default_factory=list)
    policies: list[PolicyOutcome] = field(default_factory=list)
    deferred: dict[datetime, list[str]] = field(default_factory=lambda: defaultdict(list))


class _Inline(Executor):
    """Runs submitted work at once in the caller's thread (tests, and a pool of one)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[object] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class DispatchService:
    def __init__(
        self,
        *,
        recipients: Recipients,
        deliveries: Deliveries,
        events: EventLog,
        tasks: TaskTracker,
        publisher: DispatchQueue,
        routing: Callable[[], RoutingConfig],
        records: RecordTracker,
        sender: PushSender,
        pause: FcmPause,
        signer: ActionTokenSigner,
        app_base_url: str,
        clock: Callable[[], datetime],
        lease_seconds: int = 90,
        batch_size: int = BATCH_SIZE,
        send_chunk: int = SEND_CHUNK,
        reserve_seconds: float = DEFAULT_RESERVE_SECONDS,
        pool: Executor | None = None,
        directory: Callable[[], EcmDirectory] | None = None,
        links: LinkPolicy | None = None,
    ) -> None:
        if batch_size < 1 or send_chunk < 1:
            raise ValueError("batch_size and send_chunk must be positive")
        self._recipients = recipients
        self._deliveries = deliveries
        self._events = events
        self._tasks = tasks
        self._publisher = publisher
        self._routing = routing
        self._records = records
        self._sender = sender
        self._pause = pause
        self._signer = signer
        self._base_url = app_base_url
        self._clock = clock
        self._lease = lease_seconds
        self._batch_size = batch_size
        self._send_chunk = send_chunk
        self._reserve = reserve_seconds
        self._pool = pool or _Inline()
        self._directory = directory
        # Hosts a push may link to (domain/links.py); the app's alone unless told more.
        self._links = links or LinkPolicy.of(app_base_url)

    def handle(self, message: DispatchMessage, deadline: Deadline = NO_DEADLINE) -> DispatchReport:
        now = self._clock()
        if isinstance(message, EventMessage):
            context = RoutingContext(self._base_url, now, self._routing, self._links)
            notifications = route(message.event, context)
            self._track(message.event, notifications, now)
        elif isinstance(message, GroupPageMessage):
            if deadline.remaining() < self._reserve:
                return self._requeue([message], DispatchReport(), delay=0)  # not started
            read = self._read_group_page(message, deadline)
            if read is None:
                return DispatchReport(groups_refused=1)
            notifications = read
        elif message.not_before is not None and message.not_before > now:
            self._wait(message, now)  # a deferred push, back early: wait another hop
            return DispatchReport(deferred=1)
        else:
            notifications = [message.notification]
        report, background = self._deliver(notifications, now, deadline)
        if isinstance(message, EventMessage):
            outcome = _outcome(message.event, notifications)
            background.append(
                self._pool.submit(
                    self._events.mark, message.event.id, outcome, now, len(notifications)
                )
            )
        _wait_all(background)
        waiting = report.retrying + report.unreached + report.held
        delay = max(report.retry_after) if report.retry_after else None
        if waiting and isinstance(message, GroupPageMessage):
            # The page is read and what it leads to is queued: what it could not finish goes
            # on as an ordinary delivery batch (the page again would be read and queue its
            # follow-ups again). A transient answer's retries then count against that batch.
            batches = [NotificationMessage(notification=n) for n in notifications]
            return self._requeue(batches, report, delay=delay or 0)
        if waiting and not report.retrying and isinstance(message, NotificationMessage):
            return self._requeue([message], report, delay=delay or 0)
        if waiting:
            raise RetryLater(f"{waiting} deliveries need a retry", delay, report)
        return report

    def _requeue(
        self, messages: Sequence[DispatchMessage], report: DispatchReport, delay: float
    ) -> DispatchReport:
        """Queue again instead of failing the record, when what is left was only not reached
        in time or held by FCM's pause: those are no faults, and a record failed for them
        would climb towards the DLQ (ten receives) while it waits its turn, losing its
        recipients on a busy day. Sent again, it is idempotent: claimed devices are skipped.
        Events are not requeued (routing them twice would re-open their task): they retry."""
        seconds = int(min(max(delay, 0), MAX_DELAY_SECONDS))
        for message in messages:
            self._publisher.publish(message, delay_seconds=seconds)
        report.requeued += len(messages)
        return report

    def _track(self, event: EcmEvent, notifications: list[Notification], now: datetime) -> None:
        """Tracked state, before any push: a reply racing the push must find its task open."""
        self._records.track(event, now)  # record.expiry_scheduled → RecordsTable
        if isinstance(event, TaskAssigned):
            nid = notifications[0].id if notifications else None
            self._tasks.open(from_assigned(event, nid, now))
        elif isinstance(event, TaskCompleted):
            self._tasks.close(event.data.task.key, event.data.outcome, now)

    def _deliver(
        self, notifications: Sequence[Notification], now: datetime, deadline: Deadline
    ) -> tuple[DispatchReport, list[Future[object]]]:
        """Send (or fan out), and hand back the writes still running (answers, pruned tokens),
        so `handle` overlaps its own last write with them."""
        report = DispatchReport()
        background: list[Future[object]] = []
        for notification in notifications:
            if notification.groups:
                self._walk_groups(notification, report)
            owners = list(dict.fromkeys(notification.recipients))
            if not owners:
                continue
            if len(owners) > self._batch_size:
                self._fan_out(notification, owners, report)
            else:
                self._deliver_batch(notification, owners, now, deadline, report, background)
        return report, background

    def _fan_out(
        self, notification: Notification, owners: list[str], report: DispatchReport
    ) -> None:
        """Queue the audience as delivery batches; each is sent by its own invocation."""
        batches = [
            NotificationMessage(
                notification=notification.model_copy(update={"recipients": list(chunk)})
            )
            for chunk in chunks(owners, self._batch_size)
        ]
        self._publisher.publish_all(batches)
        report.batches += len(batches)

    def _walk_groups(self, notification: Notification, report: DispatchReport) -> None:
        """Queue the first page of each member group; those pages queue the rest."""
        pages = [
            GroupPageMessage(
                notification=notification.model_copy(update={"recipients": [], "groups": [group]})
            )
            for group in notification.groups
        ]
        self._publisher.publish_all(pages)
        report.group_pages += len(pages)

    def _read_group_page(
        self, message: GroupPageMessage, deadline: Deadline
    ) -> list[Notification] | None:
        """The page's users as a delivery batch, after queueing the pages it leads to; None
        when the group is refused for good (gone, not listable by the service account, larger
        than its team allows: logged as an error). Content Server being down sends the page
        back to the queue for its Retry-After (or half a minute)."""
        if self._directory is None:
            raise ConfigurationError(
                f"team group {message.group_id}: group-backed teams need Content Server settings "
                "on Dispatch (ECMPUSH_ECM_BASE_URL, ECMPUSH_ECM_SECRET_ID)"
            )
        try:
            page = self._directory().group_members(
                message.group_id,
                member_type=message.member_type,
                page=message.page,
                budget_s=min(GROUP_PAGE_BUDGET_SECONDS, deadline.remaining() - self._reserve),
            )
        except (EcmNotFound, EcmRejected) as exc:
            log.error("team group %s is not sent to: %s", message.group_id, exc)
            return None
        except EcmUnavailable as exc:
            delay = exc.retry_after or GROUP_PAGE_RETRY_SECONDS
            raise RetryLater(f"group {message.group_id}: {exc}", delay) from exc
        step = next_step(message, page)
        for reason in step.skipped:
            log.warning("team group walk: %s", reason)
        if step.refused:
            log.error("team group %s is not sent to: %s", message.group_id, step.refused)
            return None
        if step.follow:
            self._publisher.publish_all(step.follow)
        if not step.users:
            return []
        return [message.notification.model_copy(update={"recipients": step.users, "groups": []})]

    def _deliver_batch(
        self,
        notification: Notification,
        owners: list[str],
        now: datetime,
        deadline: Deadline,
        report: DispatchReport,
        background: list[Future[object]],
    ) -> None:
        saves = [
            self._pool.submit(
                self._deliveries.save_notification, notification, part, now, header=index == 0
            )
            for index, part in enumerate(chunks(owners, _INBOX_PER_CALL))
        ]
        paused = self._pool.submit(self._pause.until)
        # The sender's credentials, fetched (if they must be) before anything is claimed.
        authorized = self._pool.submit(
            self._sender.authorize, min(deadline.remaining(), MAX_INVOCATION_SECONDS)
        )
        plan = self._plan(notification, self._reach(notification, owners), now, report)
        _wait_all(saves)  # the inbox entries exist before the first push can be tapped
        for until, waiting in plan.deferred.items():
            self._defer(notification, waiting, until, now)
        if plan.outcomes or plan.policies:
            background.append(
                self._pool.submit(
                    self._deliveries.save_outcomes, notification, now, plan.outcomes, plan.policies
                )
            )
        sends = list(chunks(plan.pending, self._send_chunk))
        held_until = paused.result()
        if sends and authorized.exception() is not None:
            # A fault, unlike the deadline: retried as a failure, so a broken service account
            # ends in the DLQ (alarmed) instead of being queued again for ever.
            log.warning("FCM credentials unavailable: %s", authorized.exception())
            report.retrying += len(plan.pending)
            report.retry_after.append(CREDENTIALS_RETRY_SECONDS)
            return
        ahead: list[Future[list[Claim]]] | None = None  # the claims of `sends[index]`, if taken
        for index, chunk in enumerate(sends):
            rest = sum(len(c) for c in sends[index:])
            if held_until is not None and held_until > self._clock():
                report.held += rest
                report.retry_after.append((held_until - self._clock()).total_seconds())
            elif deadline.remaining() < self._reserve:
                report.unreached += rest
            else:
                claims = _claims(ahead or self._claim(notification, chunk, now))
                # The next chunk's claims travel while this chunk is with FCM.
                ahead = None
                if index + 1 < len(sends) and deadline.remaining() >= 2 * self._reserve:
                    ahead = self._claim(notification, sends[index + 1], now)
                outcomes, pause = self._send(notification, chunk, claims, report, background)
                self._save_outcomes(notification, outcomes, background)
                if pause is not None:  # every batch of every fan-out holds off, this one too
                    held_until = self._clock() + timedelta(seconds=pause)
                    self._pause.pause(held_until)
                continue
            if ahead is not None:
                self._release(notification, chunk, _claims(ahead), background)
            break

    def _release(
        self,
        notification: Notification,
        chunk: Sequence[_Pending],
        claims: list[Claim],
        background: list[Future[object]],
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
        background: list[Future[object]],
    ) -> None:
        """Write answers a batch write's worth per thread, while Dispatch goes on sending."""
        background.extend(
            self._pool.submit(self._deliveries.save_outcomes, notification, self._clock(), part)
            for part in chunks(outcomes, _OUTCOMES_PER_WRITE)
        )

    def _reach(self, notification: Notification, owners: list[str]) -> dict[str, Recipient]:
        """Each recipient with the devices of the notification's audience. The audience
        decides, never the spelling of the recipient: an internal notification never reaches
        an external device, nor the other way round (those recipients are left out, and
        `_plan` records them as `wrong_audience`)."""
        if notification.audience == "internal":
            internal = [o for o in owners if not is_external(o)]
            parts = [
                self._pool.submit(self._recipients.recipients, part)
                for part in chunks(internal, _ROSTERS_PER_CALL)
            ]
            found: dict[str, Recipient] = {}
            for part in parts:
                found.update(part.result())
            return {
                owner: Recipient(
                    owner,
                    tuple(d for d in found[owner].devices if d.audience == "internal"),
                    found[owner].preferences,
                )
                for owner in internal
            }
        lookups = {
            owner: self._pool.submit(
                self._recipients.for_external, owner.removeprefix(EXTERNAL_PREFIX)
            )
            for owner in owners
            if owner.startswith(EXTERNAL_PREFIX)
        }
        # External stakeholders keep no preferences with ecmpush: the defaults apply.
        return {
            owner: Recipient(owner, tuple(lookup.result()), Preferences())
            for owner, lookup in lookups.items()
        }

    def _plan(
        self,
        notification: Notification,
        reach: dict[str, Recipient],
        now: datetime,
        report: DispatchReport,
    ) -> _Plan:
        plan = _Plan()
        approved = (
            set(self._routing().external_channels) if notification.audience == "external" else None
        )
        for owner in dict.fromkeys(notification.recipients):
            recipient = reach.get(owner)
            if recipient is None:
                plan.policies.append(PolicyOutcome(owner, "wrong_audience"))
                continue
            try:
                devices = self._devices_now(notification, recipient, approved, now, plan, report)
            except Exception as exc:  # one recipient's fault: logged, recorded, others go on
                self._log_unrenderable(notification, owner, None, exc)
                for device in recipient.devices:
                    self._fail_device(owner, device, exc, plan, report)
                continue
            if not devices:
                continue
            # Outside the guards: the signing key may come from Secrets Manager, and an outage
            # there is a retry of the message, not a failed delivery.
            token = self._signer.for_recipient(notification, owner, now)
            for device in devices:
                try:
                    push = render_push(notification, device, token, self._links)
                except Exception as exc:  # e.g. a due date beyond year 9999 in the device's zone
                    if not isinstance(exc, PayloadTooLarge):
                        self._log_unrenderable(notification, owner, device, exc)
                    self._fail_device(owner, device, exc, plan, report)
                    continue
                target = DeliveryTarget(owner, device.installation_id, device.platform)
                plan.pending.append(_Pending(target, device, push))
        return plan

    def _devices_now(
        self,
        notification: Notification,
        recipient: Recipient,
        approved: Collection[str] | None,
        now: datetime,
        plan: _Plan,
        report: DispatchReport,
    ) -> list[Device]:
        """The recipient's devices to render a push for now: none when their preferences mute
        or defer it, or they have no (approved) device, each recorded. Pure domain work, so a
        failure here is this recipient's alone (`_plan` fails only their devices)."""
        owner = recipient.owner
        if not self._allowed_now(notification, recipient, now, plan, report):
            return []
        devices = list(recipient.devices)
        if approved is not None:
            devices = [d for d in recipient.devices if d.platform in approved]
            if recipient.devices and not devices:
                plan.policies.append(PolicyOutcome(owner, "no_approved_channel"))
        if not devices:
            target = DeliveryTarget(owner, NO_DEVICE_ID, "")
            plan.outcomes.append(DeliveryOutcome(target, DeliveryStatus.NO_DEVICE))
            report.no_device += 1
        return devices

    @staticmethod
    def _log_unrenderable(
        notification: Notification, owner: str, device: Device | None, exc: Exception
    ) -> None:
        """Issue 20 finding 6: a push that could not be built (a due date beyond year 9999 in
        the device's zone raised OverflowError) used to fail the whole message, which retried
        into the DLQ with nobody served and nothing logged above INFO."""
        log.error(
            "notification %s not rendered for %s%s: %s: %s",
            notification.id,
            who(owner),
            f" on {device.installation_id}" if device else "",
            type(exc).__name__,
            exc,
            exc_info=exc,
        )

    @staticmethod
    def _fail_device(
        owner: str,
        device: Device,
        exc: Exception,
        plan: _Plan,
        report: DispatchReport,
    ) -> None:
        """That delivery alone is recorded as failed (final: a retry would fail the same way),
        and the message completes for everyone else."""
        if isinstance(exc, PayloadTooLarge):
            code, text = "PAYLOAD_TOO_LARGE", str(exc)
        else:
            code, text = "RENDER_FAILED", f"{type(exc).__name__}: {exc}"
        target = DeliveryTarget(owner, device.installation_id, device.platform)
        plan.outcomes.append(
            DeliveryOutcome(target, DeliveryStatus.FAILED, error_code=code, error_message=text)
        )
        report.failed += 1

    def _allowed_now(
        self,
        notification: Notification,
        recipient: Recipient,
        now: datetime,
        plan: _Plan,
        report: DispatchReport,
    ) -> bool:
        """True when the push goes out now; muted and deferred ones are recorded (deferred ones
        re-enqueued, grouped by when their quiet period ends)."""
        decision = decide(notification, recipient.preferences, now)
        owner = recipient.owner
        if decision.verdict is Verdict.MUTED:
            plan.policies.append(PolicyOutcome(owner, "muted"))
            report.muted += 1
            return False
        if decision.verdict is Verdict.DEFER:
            assert decision.until is not None
            plan.policies.append(PolicyOutcome(owner, "deferred", rfc3339(decision.until)))
            plan.deferred[decision.until].append(owner)
            report.deferred += 1
            return False
        if decision.bypassed:
            plan.policies.append(PolicyOutcome(owner, "bypassed", decision.bypassed))
        return True

    def _defer(
        self, notification: Notification, owners: list[str], until: datetime, now: datetime
    ) -> None:
        for chunk in chunks(owners, self._batch_size):
            only_these = notification.model_copy(update={"recipients": list(chunk)})
            self._wait(NotificationMessage(notification=only_these, not_before=until), now)

    def _wait(self, message: NotificationMessage, now: datetime) -> None:
        """SQS delays at most 15 minutes: a longer quiet period is waited out in hops."""
        assert message.not_before is not None
        seconds = (message.not_before - now).total_seconds()
        self._publisher.publish(message, delay_seconds=int(min(max(seconds, 1), MAX_DELAY_SECONDS)))

    def _send(
        self,
        notification: Notification,
        chunk: Sequence[_Pending],
        claims: list[Claim],
        report: DispatchReport,
        background: list[Future[object]],
    ) -> tuple[list[DeliveryOutcome], float | None]:
        """Send a chunk's claimed deliveries, and say what became of each, and how long FCM
        asked the project to pause (None: it did not)."""
        claimed: list[_Pending] = []
        for item, claim in zip(chunk, claims, strict=True):
            if claim is Claim.DONE:
                report.skipped += 1
            elif claim is Claim.IN_FLIGHT:
                report.retrying += 1  # another attempt holds it; check again after its lease
                report.retry_after.append(float(self._lease))
            else:
                claimed.append(item)
        if not claimed:
            return [], None
        results = self._sender.send([p.push for p in claimed])
        # Most tokens "of another project" means this service account is of another project:
        # pruning would empty the devices table, so nothing is pruned and the batch retries.
        suspect = suspect_credentials(results)
        report.credentials_suspect |= suspect
        outcomes = [
            self._apply(item, result, suspect, report, background)
            for item, result in zip(claimed, results, strict=True)
        ]
        return outcomes, pause_after(results)

    def _claim(
        self, notification: Notification, chunk: Sequence[_Pending], now: datetime
    ) -> list[Future[list[Claim]]]:
        """Start the claims of one send chunk, a transaction's worth per thread."""
        return [
            self._pool.submit(
                self._deliveries.claim, notification, [p.target for p in part], now, self._lease
            )
            for part in chunks(chunk, _CLAIMS_PER_CALL)
        ]

    def _apply(
        self,
        item: _Pending,
        result: SendResult,
        suspect: bool,
        report: DispatchReport,
        background: list[Future[object]],
    ) -> DeliveryOutcome:
        outcome = classify(result)
        if suspect and result.error_code in WRONG_PROJECT_CODES:
            outcome = FcmOutcome.RETRY
        status = _STATUS[outcome]
        if outcome is FcmOutcome.REMOVE_TOKEN:
            target = item.target
            background.append(
                self._pool.submit(
                    self._recipients.delete_if_token,
                    target.owner,
                    target.installation_id,
                    item.device.token,
                )
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
        return DeliveryOutcome(
            item.target,
            status,
            message_id=result.message_id,
            error_code=result.error_code,
            error_message=result.error_message,
        )


def _claims(started: list[Future[list[Claim]]]) -> list[Claim]:
    return [claim for future in started for claim in future.result()]


def _wait_all(futures: Sequence[Future[Any]]) -> None:
    """Wait for every write, then raise the first failure: a lost answer must fail the record."""
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error


# One DynamoDB call each, run side by side on the pool.
_CLAIMS_PER_CALL = 100  # a transaction
_ROSTERS_PER_CALL = 50  # a BatchGetItem: roster and preferences of each
_INBOX_PER_CALL = 24  # a BatchWriteItem, with the header in the first
_OUTCOMES_PER_WRITE = 25  # a BatchWriteItem
_STATUS = {
    FcmOutcome.SENT: DeliveryStatus.SENT,
    FcmOutcome.REMOVE_TOKEN: DeliveryStatus.TOKEN_REMOVED,
    FcmOutcome.RETRY: DeliveryStatus.RETRYING,
    FcmOutcome.PERMANENT: DeliveryStatus.FAILED,
    FcmOutcome.PLATFORM_AUTH: DeliveryStatus.FAILED,
}
