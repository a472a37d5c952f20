"""Expiry warnings: the stage logic (domain/sweeps/expiry.py) and the sweep
(services/expiry_sweep.py) with in-memory fakes that keep RecordsTable's rules (conditional
marks, the due index in next-notice order, renewals). Time is always passed in."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from ecmpush.clock import sortable
from ecmpush.domain.delivery.messages import NotificationMessage
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.delivery.templates import render
from ecmpush.domain.ecm.errors import EcmUnavailable
from ecmpush.domain.ecm.model import SearchPage, SearchRow
from ecmpush.domain.intake.events import Record, event_adapter
from ecmpush.domain.page import Page
from ecmpush.domain.sweeps.expiry import (
    EXPIRED,
    ExpiryConfigError,
    ExpiryPolicy,
    TrackedRecord,
    decide,
    parse_windows,
)
from ecmpush.domain.sweeps.expiry_notices import (
    DueNotice,
    expiry_notification_id,
    notifications_for,
)
from ecmpush.domain.sweeps.expiry_search import (
    parse_ecm_date,
    parse_search_config,
    record_from_search,
)
from ecmpush.services.expiry_sweep import (
    ExpirySearch,
    ExpirySweepOptions,
    ExpirySweepService,
    SweepReport,
)
from ecmpush.services.record_tracking import RecordTracker
from tests.conftest import sample_event
from tests.fakes import Partial

BASE = "https://app.test"
POLICY = ExpiryPolicy()
EXPIRES = datetime(2027, 3, 1, tzinfo=UTC)  # expiry day 2027-03-01
ROUTING = RoutingConfig.model_validate(
    {"roles": {"legal": ["dlee"], "records_manager": ["cwu", "asmith"]}}
)


def at(day_offset: int, hour: int = 7) -> datetime:
    """A sweep `day_offset` days from the expiry day (negative: before), at `hour` UTC."""
    return EXPIRES + timedelta(days=day_offset, hours=hour)


def tracked(
    key: str = "30501",
    expires_at: datetime = EXPIRES,
    *,
    owners: Sequence[str] = ("asmith",),
    roles: Sequence[str] = (),
    kind: str = "contract",
    name: str | None = None,
    sent: Sequence[str] = (),
    passed: Sequence[str] = (),
    url: str | None = None,
) -> TrackedRecord:
    return TrackedRecord(
        record_key=key,
        node_id=key,
        name=name or f"Contract {key}",
        kind=kind,
        expires_at=expires_at,
        url=url,
        owners=tuple(owners),
        notify_roles=tuple(roles),
        windows_sent=frozenset(sent),
        windows_passed=frozenset(passed),
    )


# --- configuration ------------------------------------------------------------------------------


def test_windows_parse_loosest_first_and_collapse_duplicates() -> None:
    assert parse_windows("90,30,7,1,0") == (90, 30, 7, 1, 0)
    assert parse_windows(" 7, 30 ,30,90") == (90, 30, 7)
    assert ExpiryPolicy.from_config("14,0").stages == ("14", "0", EXPIRED)


@pytest.mark.parametrize("raw", ["", " ", "90,,7", "-1", "7.5", "30;7", "10000", "x"])
def test_bad_windows_are_refused(raw: str) -> None:
    with pytest.raises(ExpiryConfigError):
        parse_windows(raw)


def test_search_configuration() -> None:
    assert parse_search_config("") is None
    config = parse_search_config(
        '{"where": "Attr_30100_3:<={horizon}", "location_id": 30200, '
        '"date_attribute": "Attr_30100_3", "owner_attribute": "30100_5", '
        '"kind": "licence", "notify_roles": ["legal"]}'
    )
    assert config is not None
    assert config.date_attribute == "30100_3"
    assert config.location_ids == ("30200",)
    assert config.query(datetime(2026, 12, 1, 7, tzinfo=UTC), POLICY) == "Attr_30100_3:<=20270301"
    for bad in (
        "[]",
        "{",
        '{"where": ""}',
        '{"where": "x", "date_attribute": "expiry"}',
        '{"where": "x", "date_attribute": "1_2", "kind": "lease"}',
        '{"where": "x", "date_attribute": "1_2", "notify_roles": ["ceo"]}',
        '{"where": "x", "date_attribute": "1_2", "owner": "1_5"}',
    ):
        with pytest.raises(ExpiryConfigError):
            parse_search_config(bad)


def test_ecm_dates_without_zone_are_utc() -> None:
    assert parse_ecm_date("2026-02-01T00:00:00") == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_ecm_date("2026-02-01") == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_ecm_date("2026-02-01T01:00:00+01:00") == datetime(2026, 2, 1, tzinfo=UTC)
    for bad in (None, "", "soon", 20260201):
        with pytest.raises(ValueError, match="not a date"):
            parse_ecm_date(bad)


def test_search_hit_becomes_a_record() -> None:
    config = parse_search_config(
        '{"where": "x", "date_attribute": "30100_3", "owner_attribute": "30100_5",'
        ' "kind_attribute": "30100_2"}'
    )
    assert config is not None
    record, owners = record_from_search(
        30505,
        "Acrobat volume licence 2026.pdf",
        {
            "30100_2": "licence",
            "30100_3": "2027-02-28T00:00:00",
            # one spelling per user (issue 20, finding 9): CWu is cwu; `#` or U+200B name nobody
            "30100_5": ["cwu", 1004, "", "CWu", "a#b", "dlee\u200b"],
        },
        config,
    )
    assert (record.node_id, record.kind) == ("30505", "licence")
    assert record.expires_at == datetime(2027, 2, 28, tzinfo=UTC)
    assert owners == ["cwu", "1004"]
    with pytest.raises(ValueError, match="not a date"):
        record_from_search(1, "No date", {"30100_5": "cwu"}, config)


# --- stages -------------------------------------------------------------------------------------


def _apply(record: TrackedRecord, now: datetime) -> tuple[TrackedRecord, str | None]:
    """One daily sweep over one record, as the service does it; returns the stage announced."""
    decision = decide(record, POLICY, now)
    if decision.stage is None:
        return record, None
    sent = record.windows_sent | ({decision.stage} if decision.notify else set())
    passed = (
        record.windows_passed
        | set(decision.passed)
        | (set() if decision.notify else {decision.stage})
    )
    updated = record.model_copy(
        update={"windows_sent": sent, "windows_passed": passed, "next_notice_at": None}
    )
    return updated, decision.stage if decision.notify else None


def test_every_window_is_announced_once_by_daily_sweeps() -> None:
    record = tracked()
    announced = []
    for day in range(-120, 40):
        record, stage = _apply(record, at(day))
        if stage:
            announced.append((stage, day))
    assert announced == [
        ("90", -90),
        ("30", -30),
        ("7", -7),
        ("1", -1),
        ("0", 0),
        (EXPIRED, 1),
    ]
    assert record.windows_passed == frozenset()


def test_windows_are_due_from_midnight_utc_of_their_day() -> None:
    assert decide(tracked(sent=["90"]), POLICY, at(-31, hour=23)).stage is None
    decision = decide(tracked(sent=["90"]), POLICY, at(-30, hour=0))
    assert (decision.stage, decision.days_left) == ("30", 30)
    assert decision.next_notice_at == datetime(2027, 2, 22, tzinfo=UTC)


def test_late_sweep_announces_only_the_tightest_window_and_passes_the_others() -> None:
    decision = decide(tracked(), POLICY, at(-5))  # nothing sent yet, 5 days left
    assert decision.stage == "7"
    assert decision.notify
    assert decision.passed == ("90", "30")
    assert decision.days_left == 5
    assert decision.next_notice_at == at(-1, hour=0)


def test_a_window_looser_than_one_done_never_comes_back() -> None:
    # "60" added to the configuration after "30" was announced: it does not come late.
    policy = ExpiryPolicy.from_config("90,60,30,7,1,0")
    decision = decide(tracked(sent=["90", "30"]), policy, at(-20))
    assert decision.stage is None
    assert decision.next_notice_at == at(-7, hour=0)


def test_expired_gets_one_final_notice_then_nothing() -> None:
    record = tracked(sent=["90", "30", "7", "1", "0"])
    decision = decide(record, POLICY, at(3))
    assert (decision.stage, decision.notify, decision.next_notice_at) == (EXPIRED, True, None)
    record = tracked(sent=["90", "30", "7", "1", "0", EXPIRED])
    for day in (3, 30, 400):
        assert decide(record, POLICY, at(day)).stage is None
        assert decide(record, POLICY, at(day)).next_notice_at is None


def test_long_expired_record_stops_without_a_notice() -> None:
    decision = decide(tracked(), POLICY, at(400))
    assert decision.stage == EXPIRED
    assert not decision.notify
    assert decision.next_notice_at is None
    assert decision.passed == ("90", "30", "7", "1", "0")


def test_renewal_starts_the_windows_afresh() -> None:
    done = tracked(sent=["90", "30", "7"])
    assert decide(done, POLICY, at(-3)).stage is None  # waiting for "1"
    renewed = tracked(expires_at=EXPIRES + timedelta(days=365))  # stored anew: nothing done
    decision = decide(renewed, POLICY, at(-3))
    assert decision.stage is None
    assert decision.next_notice_at == EXPIRES + timedelta(days=365 - 90)


# --- notifications ------------------------------------------------------------------------------


def _notice(record: TrackedRecord, stage: str, days: int, *recipients: str) -> DueNotice:
    return DueNotice(record, stage, days, tuple(recipients) or record.owners)


def test_single_record_push() -> None:
    record = tracked("30501", name="ACME-2026-114 Supplier contract.pdf")
    [notification] = notifications_for([_notice(record, "30", 28)], BASE, at(-28))
    assert notification.type == "expiry.warning"
    assert notification.category == "expiry"
    assert notification.apns_category == "ECM_INFO"
    assert notification.actions == []
    assert notification.recipients == ["asmith"]
    assert notification.deep_link == "https://app.test/records/30501"
    assert notification.due_at == EXPIRES
    title, body = render(notification.template, notification.params, "en", None)
    assert title == "Contract expires in 28 days: ACME-2026-114 Supplier contract.pdf"
    assert body == "Expiry date: 2027-03-01"


@pytest.mark.parametrize(
    ("stage", "days", "title"),
    [
        ("1", 1, "Licence expires tomorrow: L"),
        ("0", 0, "Licence expires today: L"),
        (EXPIRED, -1, "Licence has expired: L"),
    ],
)
def test_single_push_wording_near_the_end(stage: str, days: int, title: str) -> None:
    record = tracked(kind="licence", name="L", url="https://ecm.example.com/otcs/cs.exe?id=9")
    [notification] = notifications_for([_notice(record, stage, days)], BASE, at(-days))
    assert render(notification.template, notification.params, None, None)[0] == title
    assert notification.deep_link == "https://ecm.example.com/otcs/cs.exe?id=9"


def test_digest_per_recipient_and_window_including_roles() -> None:
    records = [
        tracked(str(30500 + i), EXPIRES + timedelta(days=i), roles=["legal"]) for i in range(7)
    ]
    other = tracked("40001", owners=["bjones"], roles=["legal"])
    seven = tracked("40002", EXPIRES - timedelta(days=23), owners=["asmith"])
    notices = [_notice(r, "30", 30, "asmith", "dlee") for r in records]
    notices += [_notice(other, "30", 30, "bjones", "dlee"), _notice(seven, "7", 7)]
    result = {
        (n.recipients[0], n.params.get("days")): n
        for n in notifications_for(notices, BASE, at(-30))
    }
    assert sorted(result) == [("asmith", "30"), ("asmith", "7"), ("bjones", "30"), ("dlee", "30")]

    digest = result[("asmith", "30")]
    assert digest.template == "expiry.warning.digest.days"
    assert digest.deep_link == "https://app.test/records?window=30"
    title, body = render(digest.template, digest.params, "en", None)
    assert title == "7 contracts expire within 30 days"
    assert (
        body == "Contract 30500, Contract 30501, Contract 30502, Contract 30503, Contract 30504, +2"
    )
    assert digest.due_at is None

    legal = result[("dlee", "30")]
    assert (
        render(legal.template, legal.params, "en", None)[0] == "8 contracts expire within 30 days"
    )
    assert result[("bjones", "30")].template == "expiry.warning.single.days"  # alone: a single
    assert result[("asmith", "7")].template == "expiry.warning.single.days"


def test_mixed_kinds_and_last_windows_in_a_digest() -> None:
    records = [tracked("1", kind="contract"), tracked("2", kind="licence")]
    for stage, title in [
        ("1", "2 records expire by tomorrow"),
        ("0", "2 records expire today"),
        (EXPIRED, "2 records have expired"),
    ]:
        [digest] = notifications_for([_notice(r, stage, 0) for r in records], BASE, at(0))
        assert render(digest.template, digest.params, "en", None)[0] == title
    assert digest.deep_link == "https://app.test/records?window=expired"


def test_notification_ids_follow_the_content() -> None:
    a, b = tracked("1"), tracked("2")
    first = notifications_for([_notice(a, "30", 30), _notice(b, "30", 30)], BASE, at(-30))
    again = notifications_for([_notice(b, "30", 30), _notice(a, "30", 30)], BASE, at(-30, 9))
    assert [n.id for n in first] == [n.id for n in again]  # retried or overlapping: same id
    assert first[0].id == expiry_notification_id("asmith", "30", [a, b])
    others = {
        expiry_notification_id("asmith", "30", [a]),  # fewer records (a later page, run)
        expiry_notification_id("asmith", "7", [a, b]),  # another window
        expiry_notification_id("dlee", "30", [a, b]),  # another recipient
        expiry_notification_id("asmith", "30", [a, tracked("2", EXPIRES + timedelta(days=1))]),
    }
    assert len(others) == 4
    assert first[0].id not in others


# --- the sweep with fakes -----------------------------------------------------------------------


class FakeRecords:
    """RecordsTable's rules in memory: conditional upsert/mark, the due index in
    (next_notice_at, key) order with LastEvaluatedKey paging, a lease and the search page."""

    def __init__(self) -> None:
        self.items: dict[str, TrackedRecord] = {}
        self.lease: tuple[str, datetime] | None = None
        self.pages: dict[str, tuple[str, int]] = {}
        self.marks: list[tuple[str, str, bool]] = []
        self.sources: dict[str, str] = {}

    def add(self, record: TrackedRecord, next_at: datetime | None = None) -> None:
        self.items[record.record_key] = record.model_copy(
            update={"next_notice_at": next_at or datetime(2020, 1, 1, tzinfo=UTC)}
        )

    def upsert_from_event(
        self,
        record: Record,
        owners: Sequence[str],
        notify_roles: Sequence[str],
        source: str,
        now: datetime,
    ) -> str:
        old = self.items.get(record.node_id)
        fields = {
            "name": record.name,
            "kind": record.kind,
            "url": record.url,
            "owners": tuple(owners),
            "notify_roles": tuple(notify_roles),
            "source": source,
        }
        self.sources[record.node_id] = source
        if old is not None and old.expires_at == record.expires_at:
            self.items[record.node_id] = old.model_copy(update=fields)
            return "updated"
        self.items[record.node_id] = TrackedRecord(
            record_key=record.node_id,
            node_id=record.node_id,
            expires_at=record.expires_at,
            next_notice_at=now,
            **fields,
        )
        return "renewed" if old else "created"

    def due(self, now: datetime, limit: int, cursor: str | None = None) -> Page[TrackedRecord]:
        rows = sorted(
            (sortable(r.next_notice_at), key)
            for key, r in self.items.items()
            if r.next_notice_at is not None and r.next_notice_at <= now
        )
        if cursor:
            rows = [row for row in rows if row > tuple(json.loads(cursor))]
        page = rows[:limit]
        last = json.dumps(page[-1]) if len(page) == limit else None
        return Page(tuple(self.items[key] for _, key in page), last)

    def mark_window(
        self,
        record_key: str,
        expires_at: datetime,
        window: str,
        next_notice_at: datetime | None,
        *,
        notified: bool = True,
        passed: Sequence[str] = (),
    ) -> bool:
        record = self.items[record_key]
        done = record.windows_sent | record.windows_passed
        if record.expires_at != expires_at or window in done:
            return False
        sent = record.windows_sent | ({window} if notified else set())
        skipped = record.windows_passed | set(passed) | (set() if notified else {window})
        self.items[record_key] = record.model_copy(
            update={
                "windows_sent": sent,
                "windows_passed": skipped,
                "next_notice_at": next_notice_at,
            }
        )
        self.marks.append((record_key, window, notified))
        return True

    def reschedule(
        self, record_key: str, expires_at: datetime, next_notice_at: datetime | None
    ) -> bool:
        record = self.items[record_key]
        if record.expires_at != expires_at or record.next_notice_at is None:
            return False
        self.items[record_key] = record.model_copy(update={"next_notice_at": next_notice_at})
        return True

    def acquire_lease(self, name: str, holder: str, until: datetime, now: datetime) -> bool:
        if self.lease is not None and self.lease[1] >= now and self.lease[0] != holder:
            return False
        self.lease = (holder, until)
        return True

    def release_lease(self, name: str, holder: str) -> None:
        if self.lease is not None and self.lease[0] == holder:
            self.lease = None

    def resume_page(self, name: str, fingerprint: str) -> int:
        found = self.pages.get(name)
        return found[1] if found and found[0] == fingerprint else 1

    def save_resume_page(
        self, name: str, fingerprint: str, page: int | None, now: datetime
    ) -> None:
        if page is None:
            self.pages.pop(name, None)
        else:
            self.pages[name] = (fingerprint, page)

    def stages(self, key: str) -> tuple[set[str], set[str]]:
        record = self.items[key]
        return set(record.windows_sent), set(record.windows_passed)


@dataclass
class FakePublisher(Partial):
    sent: list[Notification] = field(default_factory=list)
    fail_after: int | None = None

    def publish(self, message: BaseModel, delay_seconds: int = 0) -> str:
        assert isinstance(message, NotificationMessage)
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise ConnectionError("SQS unreachable")
        self.sent.append(message.notification)
        return f"m-{len(self.sent)}"


class FakeEcm(Partial):
    def __init__(self, rows: Sequence[SearchRow], page_size: int = 2) -> None:
        self.rows = list(rows)
        self.page_size = page_size
        self.down = False
        self.calls: list[tuple[str, int]] = []

    def search(
        self,
        where: str,
        *,
        select: Sequence[str] = (),
        location_id: int | str | Sequence[int | str] | None = None,
        page: int = 1,
        limit: int = 100,
        budget_s: float | None = None,
    ) -> SearchPage:
        """Like Content Server: a hit carries only the category values `select` asked for."""
        self.calls.append((where, page))
        if self.down:
            raise EcmUnavailable("search: 503", status=503)
        asked = {region.removeprefix("Attr_") for region in select}
        chunk = [
            replace(row, categories={k: v for k, v in row.categories.items() if k in asked})
            for row in self.rows[(page - 1) * self.page_size : page * self.page_size]
        ]
        total = -(-len(self.rows) // self.page_size)
        return SearchPage(tuple(chunk), page, self.page_size, len(self.rows), total)


def _row(node: int, expires: str, owner: str = "bjones") -> SearchRow:
    return SearchRow(
        id=node,
        name=f"Contract {node}.pdf",
        type=144,
        parent_id=30200,
        categories={"30100_3": expires, "30100_5": owner},
    )


_SEARCH = parse_search_config(
    '{"where": "Attr_30100_2:contract", "date_attribute": "30100_3",'
    ' "owner_attribute": "30100_5", "notify_roles": ["legal"]}'
)
assert _SEARCH is not None
SEARCH = _SEARCH


def _service(
    records: FakeRecords,
    publisher: FakePublisher,
    *,
    ecm: FakeEcm | None = None,
    page_size: int = 100,
    policy: ExpiryPolicy = POLICY,
) -> ExpirySweepService:
    return ExpirySweepService(
        records=records,
        lease=records,  # the fake keeps the lease and resume page too
        publisher=publisher,
        routing=lambda: ROUTING,
        policy=policy,
        app_base_url=BASE,
        clock=lambda: datetime.now(UTC),
        search=ExpirySearch(SEARCH, lambda: ecm) if ecm is not None else None,
        options=ExpirySweepOptions(page_size=page_size, margin_ms=1_000),
    )


def plenty() -> int:
    return 300_000


def budget(*values: int) -> Callable[[], int]:
    """Remaining milliseconds per call, the last value repeating."""
    left = list(values)

    def remaining() -> int:
        return left.pop(0) if len(left) > 1 else left[0]

    return remaining


def test_sweep_groups_per_recipient_and_marks_after_enqueueing() -> None:
    records, publisher = FakeRecords(), FakePublisher()
    for i in range(3):
        records.add(tracked(f"10{i}", EXPIRES - timedelta(days=i), roles=["legal"]))
    records.add(tracked("200", owners=["bjones"]))
    report = _service(records, publisher).run(at(-30), plenty)

    by_recipient = {n.recipients[0]: n for n in publisher.sent}
    assert sorted(by_recipient) == ["asmith", "bjones", "dlee"]
    assert by_recipient["asmith"].params["count"] == "3"
    assert by_recipient["dlee"].params["count"] == "3"
    assert by_recipient["bjones"].template == "expiry.warning.single.days"
    assert report.as_dict() == {
        **SweepReport().as_dict(),
        "examined": 4,
        "notified": 4,
        "notifications": 3,
        "complete": True,
    }
    assert records.stages("100") == ({"30"}, {"90"})
    assert records.items["100"].next_notice_at == at(-7, hour=0)
    assert _service(records, publisher).run(at(-29), plenty).examined == 0


def test_daily_and_repeated_sweeps_announce_each_window_once() -> None:
    records, publisher = FakeRecords(), FakePublisher()
    records.add(tracked("1", roles=["legal"]))
    records.add(tracked("2", EXPIRES + timedelta(days=3), owners=["bjones"]))
    for day in range(-100, 10):
        for hour in (7, 8):  # a second run the same day (a retry, a manual trigger)
            _service(records, publisher).run(at(day, hour), plenty)
    notified = [(key, window) for key, window, notified in records.marks if notified]
    expected = ["90", "30", "7", "1", "0", EXPIRED]
    assert [w for k, w in notified if k == "1"] == expected
    assert [w for k, w in notified if k == "2"] == expected
    assert len(publisher.sent) == len({n.id for n in publisher.sent}) == 18  # 6 x 3 people
    assert records.items["1"].next_notice_at is None  # out of the index


def test_crash_between_enqueue_and_mark_resends_the_same_ids() -> None:
    records, publisher = FakeRecords(), FakePublisher(fail_after=1)
    records.add(tracked("1", roles=["legal"]))
    records.add(tracked("2", roles=["legal"]))
    with pytest.raises(ConnectionError):
        _service(records, publisher).run(at(-30), plenty)
    assert records.marks == []  # nothing recorded: the stages stay due
    assert records.lease is None  # the lease is given back
    first = [n.id for n in publisher.sent]
    publisher.fail_after = None
    retry = _service(records, publisher).run(at(-30), plenty)
    assert retry.notified == 2
    ids = [n.id for n in publisher.sent]
    assert ids[0] == first[0]
    assert ids[0] in ids[1:]  # the retry re-enqueues it; Dispatch serves it once per device
    assert len(set(ids)) == 2


def test_overlapping_run_finds_the_lease_and_leaves() -> None:
    records, publisher = FakeRecords(), FakePublisher()
    records.add(tracked("1"))
    records.acquire_lease(
        "expiry-sweep", "other-run", datetime.now(UTC) + timedelta(minutes=5), datetime.now(UTC)
    )
    report = _service(records, publisher).run(at(-30), plenty)
    assert report.busy
    assert (report.examined, publisher.sent) == (0, [])
    records.release_lease("expiry-sweep", "other-run")
    assert _service(records, publisher).run(at(-30), plenty).notified == 1


def test_overlapping_runs_without_the_lease_record_each_stage_once() -> None:
    """Two runs that both read the same due page: the same notification ids, one mark each."""
    records, publisher = FakeRecords(), FakePublisher()
    records.add(tracked("1"))
    records.add(tracked("2"))
    stale_page = records.due(at(-30), 100).items
    first = _service(records, publisher)
    first.run(at(-30), plenty)
    second = _service(records, publisher)
    second_report = SweepReport()
    second._process(stale_page, at(-30), second_report)  # read before the first run marked
    assert second_report.conflicts == 2
    assert len({n.id for n in publisher.sent}) == 1
    assert [m[1] for m in records.marks] == ["30", "30"]


def test_time_budget_stops_between_pages_and_the_next_run_continues() -> None:
    records, publisher = FakeRecords(), FakePublisher()
    for i in range(5):
        records.add(tracked(f"{i}", owners=[f"user{i}"]))
    report = _service(records, publisher, page_size=2).run(at(-30), budget(300_000, 300_000, 500))
    assert (report.examined, report.notified, report.complete) == (2, 2, False)
    report = _service(records, publisher, page_size=2).run(at(-30), plenty)
    assert (report.examined, report.notified, report.complete) == (3, 3, True)
    assert sorted(n.recipients[0] for n in publisher.sent) == [f"user{i}" for i in range(5)]


def test_record_without_anyone_to_tell_is_passed_silently() -> None:
    records, publisher = FakeRecords(), FakePublisher()
    records.add(tracked("1", owners=[], roles=["account_manager"]))  # role without members
    report = _service(records, publisher).run(at(-30), plenty)
    assert (report.skipped, publisher.sent) == (1, [])
    assert records.stages("1") == (set(), {"90", "30"})


def test_new_record_is_scheduled_for_its_first_window() -> None:
    records, publisher = FakeRecords(), FakePublisher()
    records.add(tracked("1"), next_at=at(-200))  # as stored: due at once, nothing decided yet
    report = _service(records, publisher).run(at(-200), plenty)
    assert (report.examined, report.skipped, publisher.sent) == (1, 1, [])
    assert records.items["1"].next_notice_at == at(-90, hour=0)


def test_search_ingests_and_the_same_run_warns() -> None:
    records, publisher = FakeRecords(), FakePublisher()
    ecm = FakeEcm([_row(1, "2027-03-01T00:00:00"), _row(2, "2027-03-02T00:00:00"), _row(3, "soon")])
    report = _service(records, publisher, ecm=ecm).run(at(-30), plenty)
    assert (report.search, report.ingested, report.search_invalid) == ("done", 2, 1)
    assert report.search_pages == 2
    assert records.sources == {"1": "search", "2": "search"}
    assert {n.recipients[0] for n in publisher.sent} == {"bjones", "dlee"}  # owner, legal
    assert records.pages == {}


def test_ecm_down_during_the_search_still_sweeps_stored_records_and_resumes() -> None:
    records, publisher = FakeRecords(), FakePublisher()
    records.add(tracked("stored"))
    rows = [_row(1, "2027-03-01T00:00:00"), _row(2, "2027-03-01T00:00:00"), _row(3, "2027-03-01")]
    ecm = FakeEcm(rows)
    ecm.calls.clear()

    class DownAfterFirstPage(FakeEcm):
        def search(self, where: str, **kwargs: Any) -> SearchPage:
            if kwargs.get("page", 1) > 1:
                raise EcmUnavailable("search: 503", status=503)
            return super().search(where, **kwargs)

    flaky = DownAfterFirstPage(rows)
    report = _service(records, publisher, ecm=flaky).run(at(-30), plenty)
    assert (report.search, report.unchecked, report.ingested) == ("unavailable", 1, 2)
    assert report.notified == 3  # the stored record and the two found before ECM went down
    assert records.pages["expiry"][1] == 2  # the next run goes on from page 2

    report = _service(records, publisher, ecm=ecm).run(at(-30, 9), plenty)
    assert ecm.calls == [("Attr_30100_2:contract", 2)]
    assert (report.search, report.ingested, report.notified) == ("done", 1, 1)
    notified_records = [m[0] for m in records.marks if m[1] == "30"]
    assert sorted(notified_records) == ["1", "2", "3", "stored"]  # each once


def test_ecm_down_from_the_start() -> None:
    records, publisher = FakeRecords(), FakePublisher()
    records.add(tracked("stored"))
    ecm = FakeEcm([_row(1, "2027-03-01")])
    ecm.down = True
    report = _service(records, publisher, ecm=ecm).run(at(-30), plenty)
    assert (report.search, report.unchecked, report.notified) == ("unavailable", 1, 1)


def test_search_uses_at_most_half_the_budget() -> None:
    records, publisher = FakeRecords(), FakePublisher()
    ecm = FakeEcm([_row(i, "2027-03-01") for i in range(1, 7)])
    # 100 s at the start; after the first page only 40 s are left: below half, stop searching.
    report = _service(records, publisher, ecm=ecm).run(
        at(-30), budget(100_000, 100_000, 90_000, 40_000)
    )
    assert (report.search, report.search_pages, report.unchecked) == ("partial", 1, 1)
    assert report.complete
    assert records.pages["expiry"][1] == 2


# --- record intake (Dispatch) -------------------------------------------------------------------


def test_record_events_are_stored_and_renewals_reset() -> None:
    records = FakeRecords()
    intake = RecordTracker(records)
    event = event_adapter.validate_python(sample_event("record_expiry_scheduled"))
    now = datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert intake.track(event, now) == "created"
    stored = records.items["77001"]
    assert stored.owners == ("asmith",)
    assert stored.notify_roles == ("legal", "account_manager")
    assert records.sources["77001"] == "webhook"
    records.mark_window("77001", stored.expires_at, "90", None)
    assert intake.track(event, now) == "updated"
    assert records.stages("77001") == ({"90"}, set())
    raw = sample_event("record_expiry_scheduled")
    raw["data"]["record"]["expires_at"] = "2028-01-31T00:00:00Z"
    assert intake.track(event_adapter.validate_python(raw), now) == "renewed"
    assert records.stages("77001") == (set(), set())
    assert intake.track(event_adapter.validate_python(sample_event("task_assigned")), now) is None
