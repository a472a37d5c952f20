"""The one place that reads the wall clock, so services take time as a parameter."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """`2026-11-28T10:00:00Z`: the contract's time format, always in UTC (an aware datetime in;
    fractions of a second are kept when there are any)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def audit_stamp(moment: datetime) -> str:
    """`2026-11-28 10:00:00 UTC`: how ecmpush dates what it writes into a workflow's audit trail
    (reply comments, hand-overs), readable in the Content Server UI."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def sortable(moment: datetime, *, micro: bool = False) -> str:
    """A time as a DynamoDB sort key: UTC, fixed width (`2026-11-28T10:00:00Z`, with `micro`
    `2026-11-28T10:00:00.000000Z`), so string order is time order. ISO strings with and without
    fractions or offsets do not sort correctly, which is why keys never use `rfc3339`."""
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ"
    return moment.astimezone(UTC).strftime(pattern)


class Deadline:
    """An absolute end on a monotonic clock, built from a budget in seconds."""

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + budget_s

    def remaining(self) -> float:
        return self._end - self._clock()


NO_DEADLINE = Deadline(float("inf"))
