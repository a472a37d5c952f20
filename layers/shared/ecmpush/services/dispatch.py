"""Dispatch: one handler per dispatch message type (an ECM event, a page of a team's group, a
notification batch; a withdrawal's is services/withdrawal.py), over the shared delivery step
(services/delivery.py). Why batches, pages, the deadline and the shared FCM pause:
docs/design/dispatch.md."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import Any, Protocol

from ecmpush.clock import NO_DEADLINE, Deadline
from ecmpush.domain.delivery.group_walk import next_step
from ecmpush.domain.delivery.messages import (
    DispatchMessage,
    EventMessage,
    GroupPageMessage,
    NotificationMessage,
    WithdrawalMessage,
)
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.routing import RoutingContext, route
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.delivery.withdrawal import Decision
from ecmpush.domain.ecm.errors import EcmNotFound, EcmRejected, EcmUnavailable
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.intake.events import (
    EcmEvent,
    RecordExpiryScheduled,
    TaskAssigned,
    TaskCompleted,
)
from ecmpush.domain.intake.links import LinkPolicy
from ecmpush.domain.sweeps.tasks import TrackedTask, from_assigned
from ecmpush.ports import ContentServer, EventsPort, Publisher, TasksPort
from ecmpush.services.delivery import Delivery, Requeue, wait_all
from ecmpush.services.dispatch_report import DispatchReport, RetryLater
from ecmpush.services.record_tracking import RecordTracker
from ecmpush.settings import ConfigurationError

log = logging.getLogger(__name__)

GROUP_PAGE_BUDGET_SECONDS = 10.0  # reading one page of a group, retries included
GROUP_PAGE_RETRY_SECONDS = 30.0  # a page Content Server could not answer waits this long
STATE_ONLY = (TaskCompleted, RecordExpiryScheduled)  # change tracked state; the sweeps notify


class MessageHandler[M: DispatchMessage](Protocol):
    def handle(self, message: M, deadline: Deadline) -> DispatchReport: ...


class Dispatch:
    """Hands each message to the handler of its type."""

    def __init__(self, handlers: Mapping[type[Any], MessageHandler[Any]]) -> None:
        self._handlers = handlers

    def handle(self, message: DispatchMessage, deadline: Deadline = NO_DEADLINE) -> DispatchReport:
        return self._handlers[type(message)].handle(message, deadline)


def _settled(report: DispatchReport) -> DispatchReport:
    """The report, or RetryLater when devices wait for a retry of this record."""
    if report.waiting:
        raise RetryLater(f"{report.waiting} deliveries need a retry", report.delay, report)
    return report


class EventRouter:
    """An ECM event to its notifications, by the operator's routing document."""

    def __init__(
        self, routing: Callable[[], RoutingConfig], app_base_url: str, links: LinkPolicy
    ) -> None:
        self._routing = routing
        self._base_url = app_base_url
        self._links = links

    def route(self, event: EcmEvent, now: datetime) -> list[Notification]:
        return route(event, RoutingContext(self._base_url, now, self._routing, self._links))

    def unseen_after(self, stage: str, priority: str) -> timedelta | None:
        """How long a task's push may stay unseen (docs/design/not-seen.md); None: not watched."""
        unseen = self._routing().unseen
        return unseen.first_check(stage, priority) if unseen else None


class EventHandler:
    """An ECM event: tracked state first (a reply racing the push must find its task open),
    then its notifications delivered, then the event marked."""

    def __init__(
        self,
        *,
        router: EventRouter,
        records: RecordTracker,
        tasks: TasksPort,
        events: EventsPort,
        delivery: Delivery,
        withdrawals: Publisher,
        clock: Callable[[], datetime],
        pool: Executor,
    ) -> None:
        self._withdrawals = withdrawals
        self._router = router
        self._records = records
        self._tasks = tasks
        self._events = events
        self._delivery = delivery
        self._clock = clock
        self._pool = pool

    def handle(self, message: EventMessage, deadline: Deadline) -> DispatchReport:
        now = self._clock()
        event = message.event
        notifications = self._router.route(event, now)
        self._track(event, notifications, now)
        report, background = self._delivery.deliver(notifications, now, deadline)
        outcome = _outcome(event, notifications)
        background.append(
            self._pool.submit(self._events.mark, event.id, outcome, now, len(notifications))
        )
        wait_all(background)
        return _settled(report)  # events are never requeued: routing twice re-opens tasks

    def _track(self, event: EcmEvent, notifications: list[Notification], now: datetime) -> None:
        self._records.track(event, now)  # record.expiry_scheduled → RecordsTable
        if isinstance(event, TaskAssigned):
            nid = notifications[0].id if notifications else None
            task = event.data.task
            unseen_after = self._router.unseen_after(task.stage, task.priority)
            earlier = self._tasks.open(from_assigned(event, nid, now, unseen_after))
            if earlier is not None and reassigned(earlier, event):
                self._withdrawals.publish(
                    WithdrawalMessage(
                        task=_ref(event.data.task),
                        reason="reassigned",
                        decision=Decision(
                            action="reassigned", platform="ecm", at=event.occurred_at
                        ),
                        keep_owners=(event.data.assignee.user_id,),
                        keep_notifications=(nid,) if nid else (),
                        ask_holders=True,
                    )
                )
        elif isinstance(event, TaskCompleted):
            decision = Decision(
                by=event.data.completed_by.user_id if event.data.completed_by else None,
                action="completed",
                platform="ecm",
                at=event.occurred_at,
            )
            self._tasks.close(event.data.task.key, event.data.outcome, now, decision)
            self._withdrawals.publish(
                WithdrawalMessage(task=_ref(event.data.task), reason="completed", decision=decision)
            )


def reassigned(earlier: TrackedTask, event: TaskAssigned) -> bool:
    """A `task.assigned` for an open tracked task naming someone else: a forward, a delegation,
    or the next member of a group step (the withdrawal asks Content Server which)."""
    return (
        earlier.status == "open"
        and earlier.assignee.casefold() != event.data.assignee.user_id.casefold()
    )


def _ref(task: TaskRef) -> TaskRef:
    return TaskRef(
        process_id=task.process_id, subprocess_id=task.subprocess_id, task_id=task.task_id
    )


def _outcome(event: EcmEvent, notifications: list[Notification]) -> str:
    if notifications:
        return "routed"
    return "tracked" if isinstance(event, STATE_ONLY) else "no_recipients"


class NotificationHandler:
    """A delivery batch (or a deferred push back early, sent on another hop)."""

    def __init__(
        self, *, delivery: Delivery, queue: Requeue, clock: Callable[[], datetime]
    ) -> None:
        self._delivery = delivery
        self._queue = queue
        self._clock = clock

    def handle(self, message: NotificationMessage, deadline: Deadline) -> DispatchReport:
        now = self._clock()
        if message.not_before is not None and message.not_before > now:
            self._queue.wait(message, now)
            return DispatchReport(deferred=1)
        report, background = self._delivery.deliver([message.notification], now, deadline)
        wait_all(background)
        if report.waiting and not report.retrying:  # only unreached or held: no fault
            return self._queue.again([message], report, delay=report.delay or 0)
        return _settled(report)


class GroupPageHandler:
    """One page of a team's Content Server group: the pages it leads to queued, its users
    delivered as a batch (domain/delivery/group_walk.py)."""

    def __init__(
        self,
        *,
        directory: Callable[[], ContentServer] | None,
        delivery: Delivery,
        queue: Requeue,
        clock: Callable[[], datetime],
        reserve_seconds: float,
    ) -> None:
        self._directory = directory
        self._delivery = delivery
        self._queue = queue
        self._clock = clock
        self._reserve = reserve_seconds

    def handle(self, message: GroupPageMessage, deadline: Deadline) -> DispatchReport:
        now = self._clock()
        if deadline.remaining() < self._reserve:
            return self._queue.again([message], DispatchReport(), delay=0)  # not started
        notifications = self._read(message, deadline)
        if notifications is None:
            return DispatchReport(groups_refused=1)
        report, background = self._delivery.deliver(notifications, now, deadline)
        wait_all(background)
        if report.waiting:
            # The page is read and what it leads to is queued: what it could not finish goes
            # on as an ordinary delivery batch (the page again would queue its follow-ups
            # again). A transient answer's retries then count against that batch.
            batches = [NotificationMessage(notification=n) for n in notifications]
            return self._queue.again(batches, report, delay=report.delay or 0)
        return report

    def _read(self, message: GroupPageMessage, deadline: Deadline) -> list[Notification] | None:
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
            self._queue.publish_all(step.follow)
        if not step.users:
            return []
        return [message.notification.model_copy(update={"recipients": step.users, "groups": []})]
