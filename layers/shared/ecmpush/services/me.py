"""`/me`: what a signed-in user reads and sets about themself: their preferences (mutes, quiet
hours) and their notification history, newest first, a page at a time, with what they have
read (marked by the app; an `opened` receipt does not mark it, docs/design/receipts.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ecmpush.domain.delivery.preferences import Preferences
from ecmpush.domain.identity import Principal
from ecmpush.domain.page import Page
from ecmpush.ports import InboxPort, PreferencesPort

# Inbox entries one "mark all read" marks; the answer says when more remain.
MARK_ALL_LIMIT = 200


class MeService:
    def __init__(
        self,
        *,
        preferences: PreferencesPort,
        inbox: Callable[[], InboxPort],
        clock: Callable[[], datetime],
    ) -> None:
        self._preferences = preferences
        self._inbox = inbox  # built on the first history read (its repository loads boto3)
        self._clock = clock

    def preferences(self, principal: Principal) -> Preferences:
        return self._preferences.get(principal.owner)

    def set_preferences(self, principal: Principal, preferences: Preferences) -> Preferences:
        self._preferences.put(principal.owner, preferences, self._clock())
        return preferences

    def notifications(
        self, principal: Principal, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """Raises `InvalidCursor` for a cursor this user was not handed."""
        return self._inbox().page(principal.owner, limit, cursor)

    def unread(self, principal: Principal) -> int:
        return self._inbox().unread(principal.owner)

    def mark_read(self, principal: Principal, notification_id: str) -> str | None:
        """The entry's first `read_at`, or None when the caller has no such notification."""
        return self._inbox().mark_read(principal.owner, notification_id, self._clock())

    def mark_all_read(self, principal: Principal) -> tuple[int, bool]:
        """How many were marked now, and whether unread ones remain (call again)."""
        return self._inbox().mark_all_read(principal.owner, self._clock(), MARK_ALL_LIMIT)
