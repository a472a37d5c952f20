"""The project's time formats: the contract's (RFC 3339 in UTC), the audit trail's and the
sort keys'. Each converts to UTC first, so a time with another offset is never mislabelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from ecmpush.clock import audit_stamp, rfc3339, sortable

BERLIN_WINTER = timezone(timedelta(hours=1))
MOMENT = datetime(2026, 11, 28, 11, 0, 5, tzinfo=BERLIN_WINTER)  # 10:00:05 UTC


def test_the_contract_format_is_utc_with_z() -> None:
    assert rfc3339(MOMENT) == "2026-11-28T10:00:05Z"
    assert rfc3339(MOMENT.replace(microsecond=120_000)) == "2026-11-28T10:00:05.120000Z"


def test_the_audit_stamp_says_utc_and_is_utc() -> None:
    assert audit_stamp(MOMENT) == "2026-11-28 10:00:05 UTC"


def test_sort_keys_have_one_width_so_string_order_is_time_order() -> None:
    early, late = MOMENT, MOMENT.replace(microsecond=1)
    assert sortable(early) == "2026-11-28T10:00:05Z"
    assert sortable(early, micro=True) < sortable(late, micro=True)
    assert len(sortable(early, micro=True)) == len(sortable(late.astimezone(UTC), micro=True))
