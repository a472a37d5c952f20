"""Quiet hours across midnight, time zones and DST; preference validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ecmpush.domain.preferences import Preferences, QuietHours, quiet_until


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
