"""The pushes an expiry sweep sends for the records due now: one per recipient and stage, a
single push naming the record or a digest listing several (domain/sweeps/expiry.py decides
which stage is due). Pure: the same notices at the same moment give the same notifications,
ids included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from ecmpush.domain.delivery.notifications import Notification, notification_id
from ecmpush.domain.replies.reply_actions import INFO
from ecmpush.domain.sweeps.expiry import (
    ANY_KIND,
    CATEGORY,
    EXPIRED,
    MAX_LISTED,
    TYPE,
    TrackedRecord,
    utc_day,
)


@dataclass(frozen=True)
class DueNotice:
    """One record announcing `stage` to its resolved recipients (owners and role members)."""

    record: TrackedRecord
    stage: str
    days_left: int
    recipients: tuple[str, ...]


def recipients_of(owners: Sequence[str], role_members: Sequence[str]) -> tuple[str, ...]:
    """Owners first, then role members, each once."""
    return tuple(dict.fromkeys(user for user in (*owners, *role_members) if user))


def record_link(base: str, record: TrackedRecord) -> str:
    """The record's own URL when ECM sent one, else the app's record page."""
    return record.url or f"{base}/records/{quote(record.node_id, safe='')}"


def digest_link(base: str, stage: str) -> str:
    return f"{base}/records?window={quote(stage, safe='')}"


def expiry_notification_id(recipient: str, stage: str, records: Sequence[TrackedRecord]) -> str:
    """Derived from what the push says: recipient, stage and each record with its expiry day.

    A retried or overlapping sweep that finds the same records due builds the same id, which
    Dispatch serves once per device. The id deliberately does not stop at (recipient, stage,
    day): two different pushes for one recipient and stage on the same day (records split over
    index pages, a run continued after its time budget, a record registered after the morning
    sweep) would share an id, and Dispatch would silently drop the second one after the
    records were marked, losing their warning."""
    items = sorted(f"{r.record_key}@{utc_day(r.expires_at).isoformat()}" for r in records)
    return notification_id(f"expiry|{recipient}|{stage}|{','.join(items)}", TYPE)


def _variant(stage: str, days: int) -> str:
    if stage == EXPIRED:
        return "expired"
    if days <= 0:
        return "today"
    return "tomorrow" if days == 1 else "days"


def _common_kind(records: Sequence[TrackedRecord]) -> str:
    kinds = {record.kind for record in records}
    return next(iter(kinds)) if len(kinds) == 1 else ANY_KIND


def _single(notice: DueNotice, recipient: str, base: str, now: datetime) -> Notification:
    record = notice.record
    days = max(notice.days_left, 0)
    return Notification(
        id=expiry_notification_id(recipient, notice.stage, [record]),
        type=TYPE,
        category=CATEGORY,
        source_id=f"expiry:{record.record_key}:{notice.stage}",
        recipients=[recipient],
        template=f"expiry.warning.single.{_variant(notice.stage, days)}",
        params={
            "kind": record.kind,
            "record_name": record.name,
            "days": str(days),
            "expires_on": utc_day(record.expires_at).isoformat(),
        },
        deep_link=record_link(base, record),
        apns_category=INFO.category,
        due_at=record.expires_at,
        created_at=now,
    )


def _digest(
    stage: str, notices: Sequence[DueNotice], recipient: str, base: str, now: datetime
) -> Notification:
    records = [n.record for n in notices]
    names = [r.name for r in records[:MAX_LISTED]]
    if len(records) > MAX_LISTED:
        names.append(f"+{len(records) - MAX_LISTED}")
    window = -1 if stage == EXPIRED else int(stage)
    return Notification(
        id=expiry_notification_id(recipient, stage, records),
        type=TYPE,
        category=CATEGORY,
        source_id=f"expiry:digest:{stage}",
        recipients=[recipient],
        template=f"expiry.warning.digest.{_variant(stage, window)}",
        params={
            "count": str(len(records)),
            "kinds": _common_kind(records),
            "days": str(max(window, 0)),
            "names": ", ".join(names),
        },
        deep_link=digest_link(base, stage),
        apns_category=INFO.category,
        created_at=now,
    )


def notifications_for(
    notices: Sequence[DueNotice], app_base_url: str, now: datetime
) -> list[Notification]:
    """One notification per (recipient, stage): the record itself when it is alone, else a
    digest listing the records (soonest expiry first, at most MAX_LISTED names, then "+N")."""
    groups: dict[tuple[str, str], list[DueNotice]] = {}
    for notice in notices:
        for recipient in notice.recipients:
            groups.setdefault((recipient, notice.stage), []).append(notice)
    result = []
    for (recipient, stage), members in groups.items():
        members.sort(key=lambda n: (n.record.expires_at, n.record.name, n.record.record_key))
        if len(members) == 1:
            result.append(_single(members[0], recipient, app_base_url, now))
        else:
            result.append(_digest(stage, members, recipient, app_base_url, now))
    return result
