"""Expiry sweep (issue #4, flow 2) through its handler against moto, the FCM stand-in and the
Content Server stand-in, with controlled time (the schedule's `now`): each window once across
repeated, overlapping and crashed runs; digests per recipient and window reach the devices;
a renewal starts afresh; records found by the Content Server search; an ECM outage during the
search loses and doubles nothing; a run stops before its time budget and the next continues."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.lambda_runtime import LambdaContext
from ecmpush import bootstrap
from ecmpush.adapters.ecm.client import EcmClient
from ecmpush.adapters.records_repository import RecordsRepository
from ecmpush.bootstrap import build_expiry_sweep
from ecmpush.bootstrap.parts import records_table
from ecmpush.domain.intake.events import event_adapter
from ecmpush.services.record_tracking import RecordTracker
from ecmpush.settings import settings
from tests.conftest import sample_event
from tests.integration.harness import Harness

EXPIRES = datetime(2027, 3, 1, tzinfo=UTC)  # expiry day of the records below
RECEIVED = datetime(2026, 11, 28, 10, tzinfo=UTC)  # when ECM announced them


def at(day_offset: int, hour: int = 7) -> str:
    """The schedule's time `day_offset` days from the expiry day (negative: before)."""
    moment = EXPIRES + timedelta(days=day_offset, hours=hour)
    return moment.isoformat().replace("+00:00", "Z")


def _token(user: str) -> str:
    return f"fcm-{user}-phone-0001"


def _register(h: Harness, *users: str) -> None:
    for user in users or ("asmith", "bjones", "cwu", "dlee"):
        h.register(user, f"{user}-phone-4b7e1c9a", _token(user), "android")


def _event(
    node_id: str = "77001",
    *,
    name: str = "Master Services Agreement Globex",
    expires_at: datetime = EXPIRES,
    owners: tuple[str, ...] = ("asmith",),
    roles: tuple[str, ...] = (),
    kind: str = "contract",
) -> dict[str, Any]:
    event = sample_event("record_expiry_scheduled")
    event["id"] = f"evt-record-{node_id}-{expires_at.date()}"
    event["data"] = {
        "record": {
            "node_id": node_id,
            "name": name,
            "kind": kind,
            "expires_at": expires_at.isoformat().replace("+00:00", "Z"),
        },
        "owners": [{"user_id": user} for user in owners],
        "notify_roles": list(roles),
    }
    return event


def _store(h: Harness, *events: dict[str, Any]) -> None:
    """What Dispatch does with `record.expiry_scheduled` (services/record_tracking.py)."""
    config = settings()
    tracker = RecordTracker(RecordsRepository(records_table(config), config.retention_days))
    for event in events:
        tracker.track(event_adapter.validate_python(event), RECEIVED)


def _pushes(h: Harness, user: str) -> list[dict[str, str]]:
    return [m["message"]["data"] for m in h.fcm.messages(token=_token(user))]


def _counts(report: dict[str, Any]) -> tuple[int, int, int, int]:
    return report["examined"], report["notified"], report["skipped"], report["unchecked"]


@dataclass
class ScriptedBudget(LambdaContext):
    """A Lambda context whose remaining time is read from a script, then runs out."""

    budget_ms: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        return self.budget_ms.pop(0) if self.budget_ms else 1_000


def _search(monkeypatch: pytest.MonkeyPatch, **override: Any) -> None:
    """Turn the Content Server search on: contracts of the seed's Contracts folder expiring
    within the loosest window, owner from the category, legal told as well."""
    config = {
        "where": "Attr_30100_2:contract and Attr_30100_3:<={horizon}",
        "location_id": "30200",
        "date_attribute": "30100_3",
        "owner_attribute": "30100_5",
        "kind": "contract",
        "notify_roles": ["legal"],
        **override,
    }
    monkeypatch.setenv("ECMPUSH_EXPIRY_SEARCH", json.dumps(config))
    bootstrap.reset()


# --- windows ------------------------------------------------------------------------------------


def test_each_window_once_across_repeated_runs(harness: Harness) -> None:
    _register(harness, "asmith")
    _store(harness, _event())
    item = harness.record_item("77001")
    assert item is not None
    assert (item["notice_bucket"], item["source"]) == ("due", "webhook")

    first = harness.sweep_expiry(at(-92))  # decides: nothing yet, due again at the 90 window
    assert _counts(first) == (1, 0, 1, 0)
    assert harness.record_item("77001")["next_notice_at"] == "2026-12-01T00:00:00Z"  # type: ignore[index]

    seen = []
    for day in range(-95, 5):
        for hour in (7, 9):  # a second run the same day: a retry, a manual trigger
            report = harness.sweep_expiry(at(day, hour))
            harness.drain()
            if report["notified"]:
                seen.append((day, hour))
    assert seen == [(-90, 7), (-30, 7), (-7, 7), (-1, 7), (0, 7), (1, 7)]
    titles = [push["title"] for push in _pushes(harness, "asmith")]
    assert titles == [
        "Contract expires in 90 days: Master Services Agreement Globex",
        "Contract expires in 30 days: Master Services Agreement Globex",
        "Contract expires in 7 days: Master Services Agreement Globex",
        "Contract expires tomorrow: Master Services Agreement Globex",
        "Contract expires today: Master Services Agreement Globex",
        "Contract has expired: Master Services Agreement Globex",
    ]
    push = _pushes(harness, "asmith")[0]
    assert push["type"] == "expiry.warning"
    assert push["category"] == "expiry"
    assert push["actions"] == ""
    assert "action_token" not in push
    assert push["deep_link"] == "https://app.test/records/77001"
    assert push["body"] == "Expiry date: 2027-03-01"
    assert push["due_at"] == "2027-03-01T00:00:00Z"
    message = harness.fcm.messages(token=_token("asmith"))[0]["message"]
    assert message["apns"]["payload"]["aps"]["category"] == "ECM_INFO"

    item = harness.record_item("77001")
    assert item is not None
    assert "notice_bucket" not in item  # out of the index: nothing more, ever
    assert item["windows_sent"] == {"90", "30", "7", "1", "0", "expired"}
    assert item["expires_at_ttl"] == int((EXPIRES + timedelta(days=90)).timestamp())


def test_late_sweep_announces_the_tightest_window_only(harness: Harness) -> None:
    _register(harness, "asmith")
    _store(harness, _event())
    report = harness.sweep_expiry(at(-5))
    harness.drain()
    assert _counts(report) == (1, 1, 0, 0)
    assert [p["title"] for p in _pushes(harness, "asmith")] == [
        "Contract expires in 5 days: Master Services Agreement Globex"
    ]
    item = harness.record_item("77001")
    assert item is not None
    assert (item["windows_sent"], item["windows_passed"]) == ({"7"}, {"90", "30"})
    assert item["next_notice_at"] == "2027-02-28T00:00:00Z"


def test_digest_per_recipient_and_window_reaches_the_devices(harness: Harness) -> None:
    _register(harness)
    names = ["Alpha supply.pdf", "Beta services.pdf", "Gamma lease.pdf"]
    _store(
        harness,
        *(
            _event(f"8800{i}", name=name, expires_at=EXPIRES - timedelta(days=i), roles=("legal",))
            for i, name in enumerate(names)
        ),
        _event("88010", name="Delta NDA.pdf", owners=("bjones",), roles=("legal",)),
    )
    report = harness.sweep_expiry(at(-30))
    assert _counts(report) == (4, 4, 0, 0)
    assert report["notifications"] == 3  # asmith: digest; bjones: single; dlee (legal): digest
    harness.drain()

    [asmith] = _pushes(harness, "asmith")
    assert asmith["title"] == "3 contracts expire within 30 days"
    assert asmith["body"] == "Gamma lease.pdf, Beta services.pdf, Alpha supply.pdf"
    assert asmith["deep_link"] == "https://app.test/records?window=30"
    assert asmith["type"] == "expiry.warning"
    [dlee] = _pushes(harness, "dlee")  # role legal → dlee (devstack/routing.json)
    assert dlee["title"] == "4 contracts expire within 30 days"
    [bjones] = _pushes(harness, "bjones")
    assert bjones["title"] == "Contract expires in 30 days: Delta NDA.pdf"
    assert _pushes(harness, "cwu") == []
    delivered = harness.deliveries(asmith["notification_id"])
    assert [(d["installation_id"], d["status"]) for d in delivered] == [
        ("asmith-phone-4b7e1c9a", "sent")
    ]


def test_renewal_starts_the_windows_afresh(harness: Harness) -> None:
    _register(harness, "asmith")
    _store(harness, _event())
    harness.sweep_expiry(at(-30))
    _store(harness, _event())  # the same expiry again: nothing restarts
    assert harness.sweep_expiry(at(-30, 9))["notified"] == 0

    renewed = EXPIRES.replace(year=2028)
    _store(harness, _event(expires_at=renewed))
    item = harness.record_item("77001")
    assert item is not None
    assert item["expires_at"] == "2028-03-01T00:00:00Z"
    assert "windows_sent" not in item
    assert item["notice_bucket"] == "due"

    assert _counts(harness.sweep_expiry(at(-29))) == (1, 0, 1, 0)  # next: 90 days before 2028
    report = harness.sweep_expiry("2028-01-31T07:00:00Z")  # 30 days before 2028-03-01
    assert report["notified"] == 1
    harness.drain()
    titles = [p["title"] for p in _pushes(harness, "asmith")]
    assert titles == [
        "Contract expires in 30 days: Master Services Agreement Globex",
        "Contract expires in 30 days: Master Services Agreement Globex",
    ]
    item = harness.record_item("77001")
    assert item is not None
    assert (item["windows_sent"], item["windows_passed"]) == ({"30"}, {"90"})


# --- overlap, crashes, budget -------------------------------------------------------------------


def test_overlapping_runs_announce_each_window_once(harness: Harness) -> None:
    _register(harness, "asmith", "dlee")
    _store(harness, *(_event(f"9900{i}", roles=("legal",)) for i in range(5)))
    service = build_expiry_sweep()
    now = datetime.fromisoformat(at(-30))
    reports: list[Any] = []

    def run() -> None:
        reports.append(service.run(now, lambda: 300_000))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.notified for r in reports) == 5
    harness.drain()
    assert len(_pushes(harness, "asmith")) == len(_pushes(harness, "dlee")) == 1
    assert harness.sweep_expiry(at(-30, 8))["examined"] == 0


def test_crash_between_enqueue_and_mark_sends_nothing_twice(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(harness, "asmith")
    _store(harness, _event("1"), _event("2"))

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("the run died after enqueueing")

    with monkeypatch.context() as patched:
        patched.setattr(RecordsRepository, "mark_window", crash)
        with pytest.raises(ConnectionError):
            harness.sweep_expiry(at(-30))
    assert harness.record_item("1")["notice_bucket"] == "due"  # type: ignore[index]
    retry = harness.sweep_expiry(at(-30))  # Scheduler's retry: the same scheduled time
    assert retry["notified"] == 2
    assert harness.drain() == 2  # the first run's digest and the retry's: the same id
    [push] = _pushes(harness, "asmith")
    assert push["title"] == "2 contracts expire within 30 days"
    assert harness.sweep_expiry(at(-30, 9))["examined"] == 0


def test_time_budget_stops_between_pages_and_the_next_run_continues(harness: Harness) -> None:
    users = ("asmith", "bjones", "cwu")
    _store(harness, *(_event(f"7{i:04d}", owners=(users[i % 3],)) for i in range(130)))
    # lease, first page; then the budget is spent: the second page waits for the next run
    context = ScriptedBudget("ExpirySweepFunction", 300, budget_ms=[300_000, 300_000, 5_000])
    first = harness.sweep_expiry(at(-30), context=context)
    assert (first["examined"], first["notified"], first["complete"]) == (100, 100, False)
    assert first["notifications"] == 3
    second = harness.sweep_expiry(at(-30, 8))
    assert (second["examined"], second["notified"], second["complete"]) == (30, 30, True)
    assert harness.sweep_expiry(at(-30, 9))["examined"] == 0
    assert harness.drain(rounds=10) == 6
    items = [harness.record_item(f"7{i:04d}") for i in range(130)]
    assert all(item is not None and item["windows_sent"] == {"30"} for item in items)


# --- Content Server search ----------------------------------------------------------------------

SEARCH_NOW = "2026-12-01T07:00:00Z"


def test_search_ingests_records_from_content_server(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(harness)
    _search(monkeypatch)
    report = harness.sweep_expiry(SEARCH_NOW)
    assert (report["search"], report["ingested"], report["unchecked"]) == ("done", 3, 0)
    # Seed: 30501 expires 2026-12-31 (asmith), 30503 2026-12-05 and 30502 2027-01-15 (bjones);
    # 30504 (2028) is past the horizon and not returned.
    assert _counts(report) == (3, 3, 0, 0)
    assert harness.record_item("30504") is None
    item = harness.record_item("30501")
    assert item is not None
    assert (item["source"], item["owners"]) == ("search", ["asmith"])
    assert item["notify_roles"] == ["legal"]
    assert item["expires_at"] == "2026-12-31T00:00:00Z"
    harness.drain()
    assert [p["title"] for p in _pushes(harness, "asmith")] == [
        "Contract expires in 30 days: ACME-2026-114 Supplier contract.pdf"
    ]
    assert sorted(p["title"] for p in _pushes(harness, "bjones")) == [
        "Contract expires in 4 days: Initech-2024-310 NDA.pdf",
        "Contract expires in 45 days: Globex-2025-077 Service agreement.pdf",
    ]
    assert len(_pushes(harness, "dlee")) == 3  # legal, one per record (different windows)
    searches = harness.ecm.requests("/api/v2/search")
    assert [r["status"] for r in searches] == [200]

    # The next day's run finds the same records again and announces nothing new.
    report = harness.sweep_expiry("2026-12-02T07:00:00Z")
    assert (report["search"], report["ingested"], report["notified"]) == ("done", 3, 0)


def test_search_pages_through_results(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    _search(monkeypatch, page_size=1)
    report = harness.sweep_expiry(SEARCH_NOW)
    assert (report["search"], report["search_pages"], report["ingested"]) == ("done", 3, 3)


def test_ecm_down_during_the_search_loses_and_doubles_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(harness, "asmith", "bjones", "dlee")
    _store(harness, _event("77001", expires_at=datetime(2026, 12, 20, tzinfo=UTC)))
    _search(monkeypatch)
    harness.ecm.outage(600)
    report = harness.sweep_expiry(SEARCH_NOW)
    assert (report["search"], report["unchecked"], report["ingested"]) == ("unavailable", 1, 0)
    assert _counts(report)[:2] == (1, 1)  # the stored record is still announced
    harness.drain()
    assert [p["title"] for p in _pushes(harness, "asmith")] == [
        "Contract expires in 19 days: Master Services Agreement Globex"
    ]

    harness.ecm.outage(0)
    report = harness.sweep_expiry("2026-12-01T09:00:00Z")  # the next run retries the search
    assert (report["search"], report["ingested"], report["notified"]) == ("done", 3, 3)
    harness.drain()
    report = harness.sweep_expiry("2026-12-01T11:00:00Z")
    assert (report["ingested"], report["notified"]) == (3, 0)
    harness.drain()
    assert len(_pushes(harness, "asmith")) == 2  # 77001 once, then 30501 once
    assert len(_pushes(harness, "bjones")) == 2
    assert len(_pushes(harness, "dlee")) == 3


def test_ecm_down_mid_search_resumes_from_the_page_it_stopped_at(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _search(monkeypatch, page_size=1)
    seen: list[int] = []
    real_search = EcmClient.search

    def search(client: EcmClient, where: str, **kwargs: Any) -> Any:
        seen.append(kwargs["page"])
        if len(seen) == 2:
            harness.ecm.outage(600)
        return real_search(client, where, **kwargs)

    monkeypatch.setattr(EcmClient, "search", search)
    report = harness.sweep_expiry(SEARCH_NOW)
    assert (report["search"], report["ingested"], report["search_pages"]) == ("unavailable", 1, 1)
    harness.ecm.outage(0)
    report = harness.sweep_expiry("2026-12-01T09:00:00Z")
    assert (report["search"], report["ingested"]) == ("done", 2)
    assert seen == [1, 2, 2, 3]
    assert all(harness.record_item(key) for key in ("30501", "30502", "30503"))


# --- Dispatch stores record events --------------------------------------------------------------


def test_webhook_record_event_is_stored_by_dispatch_and_swept(harness: Harness) -> None:
    _register(harness, "asmith", "dlee", "bjones")
    event = _event(roles=("legal", "account_manager"))
    assert harness.post_event(event).status == 202
    harness.drain()
    item = harness.record_item("77001")
    assert item is not None
    assert (item["owners"], item["notify_roles"]) == (["asmith"], ["legal", "account_manager"])
    report = harness.sweep_expiry(at(-30))
    harness.drain()
    assert report["notified"] == 1
    for user in ("asmith", "dlee", "bjones"):
        assert len(_pushes(harness, user)) == 1
    # ECM sends the same record again (a rerun of its agent): no second warning.
    event["id"] = "evt-record-again"
    assert harness.post_event(event).status == 202
    harness.drain()
    assert harness.sweep_expiry(at(-30, 9))["notified"] == 0


def test_bad_configuration_fails_the_cold_start(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecmpush.settings import ConfigurationError

    monkeypatch.setenv("ECMPUSH_EXPIRY_SEARCH", '{"where": "x"}')
    bootstrap.reset()
    with pytest.raises(ConfigurationError, match="ECMPUSH_EXPIRY_SEARCH"):
        build_expiry_sweep()
    monkeypatch.setenv("ECMPUSH_EXPIRY_SEARCH", "")
    monkeypatch.setenv("ECMPUSH_EXPIRY_WINDOWS", "30,x")
    bootstrap.reset()
    with pytest.raises(ConfigurationError, match="ECMPUSH_EXPIRY_WINDOWS"):
        build_expiry_sweep()
    assert records_table(settings()) is not None  # the table itself needs no windows
