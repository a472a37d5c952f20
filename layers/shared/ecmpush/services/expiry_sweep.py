"""The expiry sweep (flow 2): warn owners and named roles as records approach their expiry
date, from the records index and an optional Content Server search.
Why: docs/design/expiry-warnings.md."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ecmpush.domain.delivery.messages import NotificationMessage
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.ecm.errors import EcmError
from ecmpush.domain.ecm.model import SearchRow
from ecmpush.domain.sweeps.expiry import ExpiryPolicy, TrackedRecord, decide
from ecmpush.domain.sweeps.expiry_notices import DueNotice, notifications_for, recipients_of
from ecmpush.domain.sweeps.expiry_search import SearchConfig, record_from_search
from ecmpush.ports import ContentServer, Publisher, RecordsPort, SweepLeasePort

log = logging.getLogger(__name__)

LEASE = "expiry-sweep"
SEARCH = "expiry"


@dataclass
class SweepReport:
    """What one run did. `examined` due records read; `notified` of them announced (each in
    one or more `notifications`); `skipped` = examined but not announced (not due after all,
    expired too long ago, nobody to tell, or recorded by an overlapping run); `unchecked`
    counts what this run could not check and leaves to the next (the Content Server search
    when ECM was down or time ran out); `complete` is False when the time budget stopped the
    sweep with due records possibly left (they stay due for the next run)."""

    examined: int = 0
    notified: int = 0
    skipped: int = 0
    unchecked: int = 0
    notifications: int = 0
    conflicts: int = 0
    ingested: int = 0
    search_invalid: int = 0
    search_pages: int = 0
    search: str = "off"  # off | done | partial | unavailable | failed
    complete: bool = False
    busy: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ExpirySearch:
    """The Content Server search the sweep ingests records from, and the client it asks (built
    lazily: ECM credentials are read only when searching)."""

    config: SearchConfig
    ecm: Callable[[], ContentServer]


@dataclass(frozen=True)
class ExpirySweepOptions:
    """How a run paces itself: records per index page, the time kept back at the end, the share
    of the run the search may take, and one Content Server call's budget."""

    page_size: int = 100
    margin_ms: int = 20_000
    search_share: float = 0.5
    ecm_budget_s: float = 20.0


class ExpirySweepService:
    def __init__(
        self,
        *,
        records: RecordsPort,
        lease: SweepLeasePort,
        publisher: Publisher,
        routing: Callable[[], RoutingConfig],
        policy: ExpiryPolicy,
        app_base_url: str,
        clock: Callable[[], datetime],
        search: ExpirySearch | None = None,
        options: ExpirySweepOptions = ExpirySweepOptions(),
    ) -> None:
        self._records = records
        self._lease = lease
        self._publisher = publisher
        self._routing = routing  # read only when a record names roles
        self._policy = policy
        self._base_url = app_base_url
        self._clock = clock  # the wall clock, for the lease; `now` of a run may be another time
        self._search = search
        self._page_size = options.page_size
        self._margin_ms = options.margin_ms
        self._search_share = options.search_share
        self._ecm_budget_s = options.ecm_budget_s

    def run(self, now: datetime, remaining_ms: Callable[[], int]) -> SweepReport:
        """Sweep as of `now` (the scheduled time), within `remaining_ms()` minus a margin."""
        report = SweepReport()
        started = self._clock()
        holder = uuid.uuid4().hex
        until = started + timedelta(milliseconds=max(remaining_ms(), 0))
        if not self._lease.acquire_lease(LEASE, holder, until, started):
            log.warning("another expiry sweep holds the lease; leaving it to that run")
            report.busy = True
            return report
        try:
            if self._search is not None:
                self._ingest(self._search, now, remaining_ms, report)
            self._sweep(now, remaining_ms, report)
        finally:
            self._lease.release_lease(LEASE, holder)
        return report

    # -- search ----------------------------------------------------------------------------------

    def _ingest(
        self,
        search: ExpirySearch,
        now: datetime,
        remaining_ms: Callable[[], int],
        report: SweepReport,
    ) -> None:
        config = search.config
        floor_ms = max(self._margin_ms, remaining_ms() * (1 - self._search_share))
        fingerprint = config.fingerprint
        query = config.query(now, self._policy)
        page = self._lease.resume_page(SEARCH, fingerprint)
        try:
            client = search.ecm()
            while True:
                left_ms = remaining_ms()
                if left_ms < floor_ms:
                    report.search = "partial"
                    report.unchecked += 1
                    return
                budget_s = max(min(self._ecm_budget_s, (left_ms - floor_ms) / 1000), 1.0)
                result = client.search(
                    query,
                    select=config.regions,
                    location_id=list(config.location_ids) or None,
                    page=page,
                    limit=config.page_size,
                    budget_s=budget_s,
                )
                report.search_pages += 1
                for row in result.rows:
                    self._ingest_row(row, config, now, report)
                if not result.has_more:
                    self._lease.save_resume_page(SEARCH, fingerprint, None, now)
                    report.search = "done"
                    return
                page += 1
                self._lease.save_resume_page(SEARCH, fingerprint, page, now)
        except EcmError as exc:
            log.warning("Content Server search unavailable (page %s): %s", page, exc)
            report.search = "unavailable"
            report.unchecked += 1
        except Exception:
            # The stored records must still be swept; the failure is logged and counted.
            log.exception("Content Server search failed (page %s)", page)
            report.search = "failed"
            report.unchecked += 1

    def _ingest_row(
        self, row: SearchRow, config: SearchConfig, now: datetime, report: SweepReport
    ) -> None:
        try:
            record, owners = record_from_search(row.id, row.name, row.categories, config)
        except (ValueError, ValidationError) as exc:
            log.warning("search hit %s skipped: %s", row.id, exc)
            report.search_invalid += 1
            return
        if not owners and not config.notify_roles:
            log.warning("search hit %s skipped: no owner and no roles to notify", row.id)
            report.search_invalid += 1
            return
        self._records.upsert_from_event(record, owners, config.notify_roles, "search", now)
        report.ingested += 1

    # -- sweep -----------------------------------------------------------------------------------

    def _sweep(self, now: datetime, remaining_ms: Callable[[], int], report: SweepReport) -> None:
        cursor: str | None = None
        while True:
            if remaining_ms() < self._margin_ms:
                log.warning("expiry sweep out of time; due records stay for the next run")
                return
            page = self._records.due(now, self._page_size, cursor)
            self._process(page.items, now, report)
            if page.last:
                report.complete = True
                return
            cursor = page.cursor

    def _process(
        self, records: Sequence[TrackedRecord], now: datetime, report: SweepReport
    ) -> None:
        """One page: decide, enqueue every notification, then record the stages."""
        notices: list[DueNotice] = []
        marks: list[tuple[TrackedRecord, str, bool, tuple[str, ...], datetime | None]] = []
        routing: RoutingConfig | None = None
        for record in records:
            report.examined += 1
            decision = decide(record, self._policy, now)
            if decision.stage is None:
                report.skipped += 1
                if decision.next_notice_at != record.next_notice_at:
                    self._records.reschedule(
                        record.record_key, record.expires_at, decision.next_notice_at
                    )
                continue
            recipients: tuple[str, ...] = ()
            if decision.notify:
                members: list[str] = []
                if record.notify_roles:
                    routing = routing or self._routing()
                    members = routing.members_of_roles(list(record.notify_roles))
                recipients = recipients_of(record.owners, members)
                if not recipients:
                    log.warning("record %s has nobody to notify", record.record_key)
            notify = bool(recipients)
            if notify:
                notices.append(DueNotice(record, decision.stage, decision.days_left, recipients))
            else:
                report.skipped += 1
            marks.append((record, decision.stage, notify, decision.passed, decision.next_notice_at))
        for notification in notifications_for(notices, self._base_url, now):
            self._publisher.publish(NotificationMessage(notification=notification))
            report.notifications += 1
        for record, stage, notify, passed, next_at in marks:
            marked = self._records.mark_window(
                record.record_key, record.expires_at, stage, next_at, notified=notify, passed=passed
            )
            if notify:
                report.notified += 1
            if not marked:
                # Recorded by an overlapping run, or renewed meanwhile (the new expiry date
                # starts its own stages). A notification already enqueued for it has the
                # overlapping run's id when both saw the same records.
                report.conflicts += 1
                log.info("record %s: stage %s was recorded meanwhile", record.record_key, stage)
