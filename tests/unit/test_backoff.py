"""The one backoff formula (domain/backoff.py): exponential from seconds, equal jitter, a
server's Retry-After as a floor, bounded."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from ecmpush.domain.backoff import (
    AWS_BATCH_RETRY,
    DISPATCH_RETRY,
    MAX_HOLD_SECONDS,
    WRITE_BACK_RETRY,
    Backoff,
    retry_after_seconds,
)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 1, 2), (2, 2, 4), (3, 4, 8), (9, 256, 512), (10, 300, 600), (1_000_000, 300, 600)],
)
def test_a_transient_push_comes_back_in_seconds_doubling(attempt: int, low: int, high: int) -> None:
    assert DISPATCH_RETRY.seconds(attempt, rand=0.0) == low
    assert DISPATCH_RETRY.seconds(attempt, rand=1.0) == high
    assert low <= DISPATCH_RETRY.seconds(attempt, rand=0.37) <= high


def test_ten_receives_span_minutes_of_outage_before_the_dlq() -> None:
    """Nine waits between ten receives (template: DispatchQueue maxReceiveCount)."""
    shortest = sum(DISPATCH_RETRY.seconds(n, rand=0.0) for n in range(1, 10))
    longest = sum(DISPATCH_RETRY.seconds(n, rand=1.0) for n in range(1, 10))
    assert (shortest, longest) == (511, 1022)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(None, 1.0), (0.0, 1.0), (0.5, 1.0), (30.0, 30.0), (86_400.0, MAX_HOLD_SECONDS)],
)
def test_retry_after_is_a_floor_within_the_limit(
    retry_after: float | None, expected: float
) -> None:
    assert DISPATCH_RETRY.seconds(1, retry_after, rand=0.0) == expected


def test_rand_outside_0_1_is_clamped() -> None:
    assert DISPATCH_RETRY.seconds(1, rand=-5) == 1
    assert DISPATCH_RETRY.seconds(1, rand=7) == 2


def test_write_back_starts_at_half_a_minute_and_stops_at_15() -> None:
    assert (WRITE_BACK_RETRY.seconds(1, rand=0), WRITE_BACK_RETRY.seconds(1, rand=1)) == (15, 30)
    assert WRITE_BACK_RETRY.seconds(20, rand=1) == MAX_HOLD_SECONDS


def test_without_a_limit_a_retry_after_is_kept_whole() -> None:
    policy = Backoff(base_s=0.25, max_s=4.0)
    assert policy.limit_s == math.inf
    assert policy.seconds(1, 120.0, rand=0.5) == 120.0


@pytest.mark.parametrize(("base", "cap", "limit"), [(-1, 4, 10), (5, 4, 10), (1, 4, -1)])
def test_nonsense_policies_are_refused(base: float, cap: float, limit: float) -> None:
    with pytest.raises(ValueError, match="base_s"):
        Backoff(base, cap, limit)


NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Sat, 28 Nov 2026 10:01:30 GMT", 90.0),
        ("Sat, 28 Nov 2026 10:01:30 -0000", 90.0),  # a zone-less date is GMT
        ("Sat, 28 Nov 2026 09:00:00 GMT", 0.0),  # already past: no wait, never negative
    ],
)
def test_retry_after_is_delay_seconds_or_an_http_date(header: str, seconds: float) -> None:
    assert retry_after_seconds(header, NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "  ", "-3", "1.5", "inf", "nan", "²", "soon"])
def test_anything_else_is_no_retry_after(header: str | None) -> None:
    """RFC 9110's two forms only: a negative, fractional or non-number value is no hint (the
    caller's backoff applies), never a wait of infinity or of a parse accident."""
    assert retry_after_seconds(header, NOW) is None


def test_undone_batch_items_are_resent_within_a_few_seconds() -> None:
    """DynamoDB's and SQS's batch resends (five at most) wait 50 ms doubling to 1 s, jittered:
    in all, never more than the seconds a Lambda invocation can spare."""
    waits = [AWS_BATCH_RETRY.seconds(n, rand=1.0) for n in range(1, 6)]
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert AWS_BATCH_RETRY.seconds(1, rand=0.0) == 0.05
