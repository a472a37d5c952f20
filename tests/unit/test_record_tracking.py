"""RecordTracker on a fake store: only `record.expiry_scheduled` is stored, with its owners and
roles as the event names them, and nothing else Dispatch tracks reaches RecordsTable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecmpush.domain.intake.events import event_adapter
from ecmpush.services.record_tracking import SOURCE, RecordTracker
from tests.conftest import sample_event
from tests.unit.test_expiry import FakeRecords

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_a_record_event_is_stored_with_its_owners_and_roles() -> None:
    records = FakeRecords()
    event = event_adapter.validate_python(sample_event("record_expiry_scheduled"))
    assert RecordTracker(records).track(event, NOW) == "created"
    stored = records.items["77001"]
    assert (stored.owners, stored.notify_roles) == (("asmith",), ("legal", "account_manager"))
    assert (records.sources["77001"], stored.next_notice_at) == (SOURCE, NOW)
    assert RecordTracker(records).track(event, NOW) == "updated"  # the same event again


@pytest.mark.parametrize(
    "name", ["task_assigned", "task_completed", "document_published", "governance_alert"]
)
def test_other_events_store_nothing(name: str) -> None:
    records = FakeRecords()
    event = event_adapter.validate_python(sample_event(name))
    assert RecordTracker(records).track(event, NOW) is None
    assert records.items == {}
