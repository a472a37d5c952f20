"""RecordTracker on a fake store: only `record.expiry_scheduled` is stored, with its owners and
roles as the event names them, and nothing else Dispatch tracks reaches RecordsTable."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from ecmpush.domain.events import Record, event_adapter
from ecmpush.services.record_tracking import SOURCE, RecordTracker
from tests.conftest import sample_event

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Records:
    def __init__(self) -> None:
        self.upserts: list[tuple[Any, ...]] = []

    def upsert_from_event(
        self,
        record: Record,
        owners: Sequence[str],
        notify_roles: Sequence[str],
        source: str,
        now: datetime,
    ) -> str:
        self.upserts.append((record.node_id, list(owners), list(notify_roles), source, now))
        return "created"


def test_a_record_event_is_stored_with_its_owners_and_roles() -> None:
    records = Records()
    event = event_adapter.validate_python(sample_event("record_expiry_scheduled"))
    assert RecordTracker(records).track(event, NOW) == "created"
    assert records.upserts == [("77001", ["asmith"], ["legal", "account_manager"], SOURCE, NOW)]


@pytest.mark.parametrize(
    "name", ["task_assigned", "task_completed", "document_published", "governance_alert"]
)
def test_other_events_store_nothing(name: str) -> None:
    records = Records()
    event = event_adapter.validate_python(sample_event(name))
    assert RecordTracker(records).track(event, NOW) is None
    assert records.upserts == []
