"""Signs one action token per recipient for pushes that carry reply buttons (contract §3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.replies.action_token import ActionClaims, sign


class ActionTokenSigner:
    def __init__(self, key: Callable[[], bytes], ttl: timedelta) -> None:
        self._key = key  # called per token so a rotated key is picked up when the cache expires
        self._ttl = ttl

    def for_recipient(self, notification: Notification, ecm_user: str, now: datetime) -> str | None:
        if not notification.actions or notification.task is None:
            return None
        task = notification.task
        claims = ActionClaims(
            notification_id=notification.id,
            ecm_user=ecm_user,
            process_id=task.process_id,
            subprocess_id=task.subprocess_id,
            task_id=task.task_id,
            actions=tuple(notification.actions),
            expires_at=int((now + self._ttl).timestamp()),
        )
        return sign(claims, self._key())
