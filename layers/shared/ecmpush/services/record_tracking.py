"""Stores `record.expiry_scheduled` events (contract §1) in RecordsTable for the expiry sweep.

Called by Dispatch while it tracks an event, before anything is pushed: the event itself causes
no push (the sweep announces the record when a warning window comes), so storing it is all
there is to do. Safe to repeat: the same event stores the same record, and an unchanged
`expires_at` keeps the stages already announced; a new one (a renewal) starts them afresh."""

from __future__ import annotations

from datetime import datetime

from ecmpush.domain.intake.events import EcmEvent, RecordExpiryScheduled
from ecmpush.ports import RecordsPort

SOURCE = "webhook"


class RecordTracker:
    def __init__(self, records: RecordsPort) -> None:
        self._records = records

    def track(self, event: EcmEvent, now: datetime) -> str | None:
        """Store a record event: created, renewed or updated; None for any other event."""
        if not isinstance(event, RecordExpiryScheduled):
            return None
        data = event.data
        return self._records.upsert_from_event(
            data.record,
            [owner.user_id for owner in data.owners],
            list(data.notify_roles),
            SOURCE,
            now,
        )
