"""Quiet hours across midnight, time zones and DST; preference validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ecmpush.domain.delivery.preferences import Preferences, QuietHours, quiet_until


def _prefs(start: str, end: str, zone: str) -> Preferences:
    return Preferences(quiet_hours=QuietHours(start=start, end=end, timezone=zone))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Berlin is UTC+1 in winter: quiet 22:00-07:00 local = 21:00-06:00 UTC.
        (datetime(2026, 11, 28, 20, 59, tzinfo=UTC), None),
        (datetime(2026, 11, 28, 21, 0, tzinfo=UTC), datetime(2026, 11, 29, 6, 0, tzinfo=UTC)),
        (datetime(2026, 11, 28, 23, 30, tzinfo=UTC), datetime(2026, 11, 29, 6, 0, tzinfo=UTC)),
        (datetime(2026, 11, 29, 5, 59, tzinfo=UTC), datetime(2026, 11, 29, 6, 0, tzinfo=UTC)),
        (datetime(2026, 11, 29, 6, 0, tzinfo=UTC), None),
        (datetime(2026, 11, 29, 12, 0, tzinfo=UTC), None),
    ],
)
def test_quiet_period_crossing_midnight_in_the_users_zone(
    now: datetime, expected: datetime | None
) -> None:
    assert quiet_until(_prefs("22:00", "07:00", "Europe/Berlin"), now) == expected


def test_quiet_period_within_one_day() -> None:
    prefs = _prefs("12:00", "13:30", "Asia/Tokyo")  # UTC+9: 03:00-04:30 UTC
    assert quiet_until(prefs, datetime(2026, 11, 28, 3, 15, tzinfo=UTC)) == datetime(
        2026, 11, 28, 4, 30, tzinfo=UTC
    )
    assert quiet_until(prefs, datetime(2026, 11, 28, 4, 30, tzinfo=UTC)) is None


def test_quiet_period_over_a_dst_change() -> None:
    # New York leaves DST on 2026-11-01 at 02:00: the night is one hour longer in UTC terms.
    prefs = _prefs("22:00", "07:00", "America/New_York")
    night = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # 23:00 EDT on Oct 31
    assert quiet_until(prefs, night) == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # 07:00 EST


def test_no_quiet_hours_never_defers() -> None:
    assert quiet_until(Preferences(), datetime(2026, 11, 28, 3, 0, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    "raw",
    [
        {"muted_categories": ["gossip"]},
        {"quiet_hours": {"start": "25:00", "end": "07:00", "timezone": "Europe/Berlin"}},
        {"quiet_hours": {"start": "22:00", "end": "22:00", "timezone": "Europe/Berlin"}},
        {"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Base"}},
        {"quiet_hours": {"start": "22:00", "end": "07:00"}},
        {"muted_categories": ["approval"], "volume": 11},
    ],
)
def test_invalid_preferences_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Preferences.model_validate(raw)


@pytest.mark.parametrize(
    ("start", "end"),
    [("00:01", "00:00"), ("08:00", "20:01"), ("20:00", "08:01"), ("12:00", "11:59")],
)
def test_quiet_hours_longer_than_twelve_hours_are_refused(start: str, end: str) -> None:
    """Issue 20, finding 11d: each quiet hour costs four SQS hops per deferred push."""
    with pytest.raises(ValidationError, match="at most 12 hours"):
        QuietHours(start=start, end=end, timezone="Europe/Berlin")


@pytest.mark.parametrize(
    ("start", "end"), [("20:00", "08:00"), ("22:00", "07:00"), ("09:00", "21:00")]
)
def test_quiet_hours_up_to_twelve_hours_are_kept(start: str, end: str) -> None:
    assert QuietHours(start=start, end=end, timezone="Europe/Berlin").end == end


def test_a_longer_period_stored_before_the_bound_is_read_and_cut_at_it() -> None:
    """Dispatch must still read it (no failed push), but defers by at most twelve hours."""
    from ecmpush.adapters.preferences_repository import preferences_of

    stored = {"preferences": {"quiet_hours": {"start": "00:01", "end": "00:00", "timezone": "UTC"}}}
    prefs = preferences_of(stored)
    assert prefs.quiet_hours is not None
    assert prefs.quiet_hours.end == "00:00"
    assert quiet_until(prefs, datetime(2026, 11, 28, 0, 30, tzinfo=UTC)) == datetime(
        2026, 11, 28, 12, 1, tzinfo=UTC
    )
    assert quiet_until(prefs, datetime(2026, 11, 28, 13, 0, tzinfo=UTC)) is None
