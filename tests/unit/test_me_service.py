"""MeService on in-memory fakes: a user reads and sets only their own preferences and inbox
(an external stakeholder's are kept under `ext:<id>`), and the inbox, whose repository loads
boto3, is built on the first history read only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ecmpush.domain.delivery.preferences import Preferences
from ecmpush.domain.identity import Principal
from ecmpush.domain.page import Page
from ecmpush.services.me import MeService

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class PreferenceStore:
    def __init__(self) -> None:
        self.saved: dict[str, tuple[Preferences, datetime]] = {}

    def get(self, owner: str) -> Preferences:
        return self.saved.get(owner, (Preferences(), NOW))[0]

    def put(self, owner: str, preferences: Preferences, now: datetime) -> None:
        self.saved[owner] = (preferences, now)


class Inbox:
    def __init__(self) -> None:
        self.reads: list[tuple[str, int, str | None]] = []

    def page(self, owner: str, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
        self.reads.append((owner, limit, cursor))
        return Page(({"owner": owner},), "next")

    def unread(self, owner: str) -> int:
        return len(owner)

    def mark_read(self, owner: str, notification_id: str, now: datetime) -> str | None:
        self.reads.append((owner, 0, notification_id))
        return now.isoformat() if notification_id == "mine" else None

    def mark_all_read(self, owner: str, now: datetime, limit: int) -> tuple[int, bool]:
        self.reads.append((owner, limit, None))
        return 3, False


def service() -> tuple[MeService, PreferenceStore, list[Inbox]]:
    store, built = PreferenceStore(), []

    def inbox() -> Inbox:
        built.append(Inbox())
        return built[-1]

    return MeService(preferences=store, inbox=inbox, clock=lambda: NOW), store, built


def test_preferences_are_kept_per_owner_and_never_build_the_inbox() -> None:
    me, store, built = service()
    asmith, stakeholder = Principal("uid-1", "asmith"), Principal("uid-2", None, "C-42")
    muted = Preferences(muted_categories=["expiry"])
    assert me.set_preferences(asmith, muted) == muted
    assert me.preferences(asmith) == muted
    assert me.preferences(stakeholder) == Preferences()  # nobody else's
    me.set_preferences(stakeholder, Preferences(muted_categories=["governance"]))
    assert set(store.saved) == {"asmith", "ext:C-42"}
    assert store.saved["asmith"] == (muted, NOW)
    assert built == []


def test_history_reads_the_callers_inbox_with_their_cursor() -> None:
    me, _, built = service()
    page = me.notifications(Principal("uid-2", None, "C-42"), 20, "opaque")
    assert page.items == ({"owner": "ext:C-42"},)
    assert page.cursor == "next"
    assert [inbox.reads for inbox in built] == [[("ext:C-42", 20, "opaque")]]


def test_read_marks_go_to_the_callers_inbox_at_the_service_clock() -> None:
    me, _, built = service()
    asmith = Principal("uid-1", "asmith")
    assert me.mark_read(asmith, "mine") == NOW.isoformat()
    assert me.mark_read(asmith, "theirs") is None
    assert me.mark_all_read(asmith) == (3, False)
    assert me.unread(asmith) == len("asmith")
    reads = [read for inbox in built for read in inbox.reads]
    assert reads == [("asmith", 0, "mine"), ("asmith", 0, "theirs"), ("asmith", 200, None)]
