"""How long to wait before trying again: the one backoff formula and the one `Retry-After`
parser of every retry ecmpush makes.
Why: docs/design/one-backoff.md."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_HOLD_SECONDS = 900.0  # the longest an SQS message is held back in one step (DelaySeconds)
_MAX_DOUBLINGS = 62  # 2**62 exceeds any max_s; keeps 2.0 ** n finite for absurd counts


@dataclass(frozen=True)
class Backoff:
    """A backoff policy; `seconds` applies it to one attempt."""

    base_s: float
    max_s: float
    limit_s: float = math.inf

    def __post_init__(self) -> None:
        if not 0 <= self.base_s <= self.max_s or self.limit_s < 0:
            raise ValueError("need 0 <= base_s <= max_s and limit_s >= 0")

    def seconds(self, attempt: int, retry_after: float | None = None, *, rand: float) -> float:
        """The wait after failed attempt `attempt` (1 for the first): between half and all of
        `min(max_s, base_s * 2^(attempt-1))` as `rand` goes from 0 to 1, at least `retry_after`,
        at most `limit_s`."""
        doublings = min(max(attempt - 1, 0), _MAX_DOUBLINGS)
        ceiling = min(self.max_s, self.base_s * 2.0**doublings)
        delay = ceiling / 2 + min(max(rand, 0.0), 1.0) * ceiling / 2
        return min(max(delay, retry_after or 0.0), self.limit_s)


# A push that met a transient FCM answer (UNAVAILABLE, INTERNAL, a refused access token): back
# in 1-2 s, then 2-4 s, ... up to 5-10 min, so a blip costs the approver seconds, not the
# queue's 180 s visibility timeout, and the ten receives before the DLQ still span an outage
# of about 8.5 to 17 minutes.
DISPATCH_RETRY = Backoff(base_s=2.0, max_s=600.0, limit_s=MAX_HOLD_SECONDS)
# A reply Content Server could not take: 15-30 s, doubling to 7.5-15 min.
WRITE_BACK_RETRY = Backoff(base_s=30.0, max_s=MAX_HOLD_SECONDS, limit_s=MAX_HOLD_SECONDS)
# Items a DynamoDB or SQS batch call left undone, resent inside the same invocation: 50-100 ms,
# doubling to 0.5-1 s, so five resends stay within a few seconds of the Lambda's time.
AWS_BATCH_RETRY = Backoff(base_s=0.1, max_s=1.0)


_DELAY_SECONDS = re.compile(r"[0-9]+")


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header in seconds from `now` (RFC 9110 §10.2.3): delay-seconds (ASCII
    digits only) or an HTTP-date (GMT; a date already past is 0). Anything else, or no header,
    is None: no hint, the caller's own backoff applies. The one parser for FCM and ECM."""
    value = (value or "").strip()
    if not value:
        return None
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP-dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
