"""Issue 20, finding 11d: a push deferred by quiet hours waits on the dispatch queue in hops of
at most 15 minutes (SQS's longest delay). Quiet hours of 00:01 to 00:00 made that about 96 hops
(96 SQS messages and Dispatch invocations) per deferral; however long a stored period is, a
deferral now takes at most the hops of twelve hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecmpush.adapters.preferences_repository import preferences_of
from ecmpush.domain.delivery.messages import NotificationMessage
from ecmpush.domain.delivery.preferences import MAX_QUIET_HOURS
from tests.unit import test_dispatch_service as dispatch

HOPS_PER_HOUR = 4  # 900 s each


@pytest.mark.parametrize(
    ("start", "end"), [("00:01", "00:00"), ("00:15", "00:10"), ("00:20", "12:20")]
)
def test_a_deferral_takes_the_hops_of_at_most_twelve_hours(
    monkeypatch: pytest.MonkeyPatch, start: str, end: str
) -> None:
    now = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)  # just inside each period
    monkeypatch.setattr(dispatch, "NOW", now)  # the service's clock reads it on every call
    w = dispatch.world(dispatch.device("alice", "a1"))
    # As stored (a period saved before the bound is still read, see preferences_repository).
    stored = {"preferences": {"quiet_hours": {"start": start, "end": end, "timezone": "UTC"}}}
    w.preferences.by_owner["alice"] = preferences_of(stored)
    current: NotificationMessage = dispatch.message(dispatch.notification(["alice"]))
    hops = 0
    while not w.sender.pushes:
        w.send(current)
        if w.sender.pushes:
            break
        [(current, delay)] = w.publisher.published[hops:]
        hops += 1
        assert hops <= 200, "never delivered"
        monkeypatch.setattr(dispatch, "NOW", dispatch.NOW + timedelta(seconds=delay))
    assert [p.token for p in w.sender.pushes] == ["tok-a1"]
    assert hops <= MAX_QUIET_HOURS * HOPS_PER_HOUR + 1
    assert dispatch.NOW - now <= timedelta(hours=MAX_QUIET_HOURS)
