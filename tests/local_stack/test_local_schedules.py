"""The local stack's reading of EventBridge Scheduler expressions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devstack.schedules import next_fire

T0 = datetime(2026, 11, 28, 10, 7, 30, tzinfo=UTC)  # a Saturday


@pytest.mark.parametrize(
    ("expression", "zone", "expected"),
    [
        ("rate(15 minutes)", "UTC", datetime(2026, 11, 28, 10, 22, 30, tzinfo=UTC)),
        ("rate(1 hour)", "UTC", datetime(2026, 11, 28, 11, 7, 30, tzinfo=UTC)),
        ("rate(1 day)", "UTC", datetime(2026, 11, 29, 10, 7, 30, tzinfo=UTC)),
        ("cron(0 7 * * ? *)", "UTC", datetime(2026, 11, 29, 7, 0, tzinfo=UTC)),
        ("cron(0 7 * * ? *)", "Europe/Berlin", datetime(2026, 11, 29, 6, 0, tzinfo=UTC)),
        ("cron(*/15 * * * ? *)", "UTC", datetime(2026, 11, 28, 10, 15, tzinfo=UTC)),
        ("cron(0 8 ? * MON-FRI *)", "UTC", datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
        ("cron(30 9 1 * ? *)", "UTC", datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
        ("cron(0 12 ? DEC SUN *)", "UTC", datetime(2026, 12, 6, 12, 0, tzinfo=UTC)),
    ],
)
def test_next_fire(expression: str, zone: str, expected: datetime) -> None:
    assert next_fire(expression, T0, zone) == expected


@pytest.mark.parametrize("expression", ["every day", "cron(0 7 * *)", "at(2026-12-01T00:00:00)"])
def test_unsupported_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match=r"cron|unsupported"):
        next_fire(expression, T0)
