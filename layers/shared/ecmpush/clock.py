"""The one place that reads the wall clock, so services take time as a parameter."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """`2026-11-28T10:00:00Z`: the contract's time format (an aware UTC datetime in)."""
    return moment.isoformat().replace("+00:00", "Z")


class Deadline:
    """An absolute end on a monotonic clock, built from a budget in seconds."""

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + budget_s

    def remaining(self) -> float:
        return self._end - self._clock()


NO_DEADLINE = Deadline(float("inf"))
