"""Device prune sweep (issue #5, token hygiene) in memory: which month buckets a run reads, the
cutoff, paging, the conditional delete (a device refreshed meanwhile survives), preferences left
alone, and the time budget."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ecmpush.adapters.devices_repository import refresh_bucket
from ecmpush.adapters.dynamo import iso
from ecmpush.domain.delivery.devices import RefreshEntry
from ecmpush.domain.page import Page
from ecmpush.services.device_prune import DevicePruneService, month_buckets
from tests.fakes import Partial

NOW = datetime(2026, 3, 1, 3, 30, tzinfo=UTC)  # cutoff at 60 days: 2025-12-31T03:30:00Z


@dataclass
class FakeDevices(Partial):
    """DevicesTable in memory: `items` is the table, (owner, installation_id) -> updated_at; the
    `by_refresh` index is a snapshot that may lag behind it (`stale_index`)."""

    items: dict[tuple[str, str], str] = field(default_factory=dict)
    stale_index: dict[tuple[str, str], str] | None = None
    queries: list[tuple[str, str, int, str | None]] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)

    def add(self, owner: str, installation_id: str, updated_at: datetime) -> None:
        self.items[(owner, installation_id)] = iso(updated_at)

    def not_refreshed_since(
        self, bucket: str, before: str, limit: int, cursor: str | None = None
    ) -> Page[RefreshEntry]:
        self.queries.append((bucket, before, limit, cursor))
        index = self.stale_index if self.stale_index is not None else self.items
        rows = sorted(
            (updated, owner, installation_id)
            for (owner, installation_id), updated in index.items()
            if updated[:7] == bucket and updated < before
        )
        if cursor:
            position = tuple(json.loads(cursor))
            rows = [r for r in rows if r > position]
        page = rows[:limit]
        next_cursor = json.dumps(page[-1]) if len(rows) > limit else None
        return Page(tuple(RefreshEntry(o, i, u) for u, o, i in page), next_cursor)

    def delete_if_not_refreshed(self, owner: str, installation_id: str, updated_at: str) -> bool:
        self.deletes.append((owner, installation_id))
        if self.items.get((owner, installation_id)) != updated_at:
            return False
        del self.items[(owner, installation_id)]
        if self.stale_index is not None:
            self.stale_index.pop((owner, installation_id), None)
        return True


def plenty() -> int:
    return 300_000


def service(devices: FakeDevices, **kwargs: Any) -> DevicePruneService:
    return DevicePruneService(devices=devices, stale_days=kwargs.pop("stale_days", 60), **kwargs)


def test_buckets_run_from_twelve_months_before_the_cutoff_month_to_it_oldest_first() -> None:
    assert month_buckets(datetime(2025, 12, 31, 3, 30, tzinfo=UTC)) == [
        "2024-12",
        "2025-01",
        "2025-02",
        "2025-03",
        "2025-04",
        "2025-05",
        "2025-06",
        "2025-07",
        "2025-08",
        "2025-09",
        "2025-10",
        "2025-11",
        "2025-12",
    ]
    assert month_buckets(datetime(2026, 1, 15, tzinfo=UTC), 2) == ["2025-11", "2025-12", "2026-01"]
    # The bucket is the UTC month, whatever the offset of the time given.
    berlin = timezone(timedelta(hours=1))
    assert month_buckets(datetime(2026, 2, 1, 0, 30, tzinfo=berlin), 0) == ["2026-01"]
    assert refresh_bucket(datetime(2026, 2, 1, 0, 30, tzinfo=berlin)) == "2026-01"


def test_stale_devices_go_fresh_ones_stay() -> None:
    devices = FakeDevices()
    devices.add("asmith", "old-phone", NOW - timedelta(days=200))
    devices.add("asmith", "tablet", NOW - timedelta(days=61))
    devices.add("bjones", "phone", NOW - timedelta(days=60, seconds=1))
    devices.add("bjones", "laptop", NOW - timedelta(days=59, hours=23))
    devices.add("cwu", "phone", NOW - timedelta(days=1))
    devices.add("dlee", "ancient", NOW - timedelta(days=60 + 400))  # before the window

    report = service(devices).run(NOW, plenty)

    assert report.as_dict() == {
        "cutoff": "2025-12-31T03:30:00Z",
        "examined": 3,
        "pruned": 3,
        "skipped": 0,
        "complete": True,
        "stopped": None,
    }
    assert set(devices.items) == {("bjones", "laptop"), ("cwu", "phone"), ("dlee", "ancient")}
    assert [q[0] for q in devices.queries] == month_buckets(datetime(2025, 12, 31, tzinfo=UTC))
    assert {q[1] for q in devices.queries} == {"2025-12-31T03:30:00Z"}


def test_stale_days_is_configurable_and_the_cutoff_is_utc() -> None:
    devices = FakeDevices()
    devices.add("asmith", "phone", NOW - timedelta(days=10))
    berlin_now = NOW.astimezone(timezone(timedelta(hours=1)))
    report = service(devices, stale_days=7).run(berlin_now, plenty)
    assert report.cutoff == "2026-02-22T03:30:00Z"
    assert (report.examined, report.pruned) == (1, 1)
    assert devices.items == {}
    with pytest.raises(ValueError, match="at least 1"):
        service(devices, stale_days=0)


def test_a_device_refreshed_after_the_index_showed_it_survives() -> None:
    devices = FakeDevices()
    devices.add("asmith", "phone", NOW - timedelta(days=90))
    devices.add("bjones", "phone", NOW - timedelta(days=90))
    devices.add("cwu", "phone", NOW - timedelta(days=90))
    devices.stale_index = dict(devices.items)  # what the index shows
    devices.add("asmith", "phone", NOW - timedelta(hours=1))  # the app refreshed meanwhile
    del devices.items[("cwu", "phone")]  # unregistered meanwhile

    report = service(devices).run(NOW, plenty)

    assert (report.examined, report.pruned, report.skipped) == (3, 1, 2)
    assert devices.items == {("asmith", "phone"): iso(NOW - timedelta(hours=1))}


def test_preferences_are_never_deleted_even_if_they_showed_up_in_the_index() -> None:
    devices = FakeDevices()
    devices.add("asmith", "#preferences", NOW - timedelta(days=300))
    devices.add("asmith", "phone", NOW - timedelta(days=300))
    report = service(devices).run(NOW, plenty)
    assert (report.examined, report.pruned, report.skipped) == (2, 1, 1)
    assert set(devices.items) == {("asmith", "#preferences")}
    assert devices.deletes == [("asmith", "phone")]


def test_pages_through_a_bucket() -> None:
    devices = FakeDevices()
    for n in range(7):
        devices.add(f"user{n}", "phone", datetime(2025, 11, 1 + n, tzinfo=UTC))
    report = service(devices, page_size=3).run(NOW, plenty)
    assert (report.examined, report.pruned, report.complete) == (7, 7, True)
    november = [q for q in devices.queries if q[0] == "2025-11"]
    assert [q[2] for q in november] == [3, 3, 3]
    assert november[0][3] is None
    assert november[1][3] is not None
    assert devices.items == {}


def test_stops_before_the_time_budget_runs_out_and_the_next_run_continues() -> None:
    devices = FakeDevices()
    for n in range(5):
        devices.add(f"user{n}", "phone", datetime(2025, 6, 1 + n, tzinfo=UTC))

    def remaining() -> int:  # the time runs short after two deletes (margin 10 s)
        return 300_000 if len(devices.deletes) < 2 else 9_999

    first = service(devices).run(NOW, remaining)
    assert (first.examined, first.pruned, first.complete, first.stopped) == (
        2,
        2,
        False,
        "time_budget",
    )
    assert set(devices.items) == {("user2", "phone"), ("user3", "phone"), ("user4", "phone")}

    second = service(devices).run(NOW, plenty)
    assert (second.examined, second.pruned, second.complete, second.stopped) == (3, 3, True, None)
    assert devices.items == {}


def test_no_time_at_all_touches_nothing() -> None:
    devices = FakeDevices()
    devices.add("asmith", "phone", NOW - timedelta(days=90))
    report = service(devices).run(NOW, lambda: 5_000)
    assert (report.examined, report.complete, report.stopped) == (0, False, "time_budget")
    assert devices.queries == []
    assert len(devices.items) == 1
