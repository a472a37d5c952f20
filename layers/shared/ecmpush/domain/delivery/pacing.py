"""FCM's quota is per Firebase project (600,000 messages a minute), not per message: when FCM
answers a quota error with a Retry-After, every Dispatch invocation of every delivery batch
must hold off, or the fan-out's other batches keep hitting the limit while one message waits.
A quota answer without Retry-After is an ordinary transient error (that message retries)."""

from __future__ import annotations

from collections.abc import Sequence

from ecmpush.domain.backoff import MAX_HOLD_SECONDS
from ecmpush.domain.delivery.outcomes import SendResult

MAX_PAUSE_SECONDS = MAX_HOLD_SECONDS  # the longest an SQS message can be held back in one step


def pause_after(results: Sequence[SendResult]) -> float | None:
    """Seconds the whole project should stop sending, as FCM asked (the longest Retry-After of
    a quota answer), or None when no answer asked for a pause."""
    waits = [
        r.retry_after_seconds
        for r in results
        if r.project_quota and r.retry_after_seconds is not None
    ]
    return min(max(waits), MAX_PAUSE_SECONDS) if waits else None
