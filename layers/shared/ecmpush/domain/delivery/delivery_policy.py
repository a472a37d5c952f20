"""Whether a notification reaches a user now, later, or not at all, given their preferences.

Some pushes may not wait and may not be muted: a critical governance alert and an SLA
escalation go through quiet hours and mutes alike, and the bypass is recorded so it can be
audited. Everything else muted is recorded as muted; everything else in quiet hours is deferred
to the end of the quiet period and then delivered, never dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.preferences import Preferences, quiet_until


class Verdict(StrEnum):
    DELIVER = "deliver"
    MUTED = "muted"
    DEFER = "defer"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    until: datetime | None = None  # with DEFER: when the quiet period ends
    bypassed: str | None = None  # with DELIVER: which preference an urgent push went through


def urgent(notification: Notification) -> bool:
    if notification.type == "sla.escalation":
        return True
    return notification.type == "governance.alert" and notification.severity == "critical"


def decide(notification: Notification, preferences: Preferences, now: datetime) -> Decision:
    muted = notification.category in preferences.muted_categories
    quiet = quiet_until(preferences, now)
    if urgent(notification):
        reasons = [name for name, hit in (("muted", muted), ("quiet_hours", quiet)) if hit]
        return Decision(Verdict.DELIVER, bypassed=",".join(reasons) or None)
    if muted:
        return Decision(Verdict.MUTED)
    if quiet is not None:
        return Decision(Verdict.DEFER, until=quiet)
    return Decision(Verdict.DELIVER)
