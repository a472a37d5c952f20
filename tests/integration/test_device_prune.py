"""Device prune sweep (issue #5, token hygiene) against moto provisioned from template.yaml,
with controlled time: devices registered through the Devices function, some aged by rewriting
`updated_at` / `refresh_bucket` in DevicesTable, then DevicePruneFunction invoked as its
schedule does. Stale devices go, fresh ones and one refreshed while the sweep ran stay,
preferences are never touched, and a run stopped by its time budget is finished by the next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.lambda_runtime import LambdaContext
from ecmpush import bootstrap
from ecmpush.adapters.devices_repository import DevicesRepository
from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.devices import RefreshEntry
from ecmpush.domain.page import Page
from tests.conftest import sample_event
from tests.integration.harness import Harness

NOW = datetime.now(UTC).replace(microsecond=0)
PRUNE = "DevicePruneFunction"


def _prune(h: Harness, now: datetime | str | None = NOW, context: Any = None) -> dict[str, Any]:
    text = rfc3339(now) if isinstance(now, datetime) else now
    return h.scheduled(PRUNE, text, context=context)


def _counts(report: dict[str, Any]) -> tuple[int, int, int]:
    return report["examined"], report["pruned"], report["skipped"]


def _token(user: str, installation_id: str) -> str:
    return f"fcm-{user}-{installation_id}-0001"


def _register(h: Harness, user: str, installation_id: str) -> None:
    """Installation ids are global (one registered by another user moves to the caller): the
    tests name them after their user."""
    assert installation_id.startswith(f"{user}-"), installation_id
    h.register(user, installation_id, _token(user, installation_id), "android")


def _age(h: Harness, owner: str, installation_id: str, days: float) -> str:
    """Pretend the device was last refreshed `days` before NOW, as the index would show it."""
    updated_at = NOW - timedelta(days=days)
    h.table("DevicesTable").update_item(
        Key={"owner": owner, "installation_id": installation_id},
        UpdateExpression="SET updated_at = :u, refresh_bucket = :b",
        ExpressionAttributeValues={":u": rfc3339(updated_at), ":b": updated_at.strftime("%Y-%m")},
    )
    return rfc3339(updated_at)


def _item(h: Harness, owner: str, installation_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        h.table("DevicesTable")
        .get_item(Key={"owner": owner, "installation_id": installation_id}, ConsistentRead=True)
        .get("Item")
    )
    return item


def _installations(h: Harness, owner: str) -> list[str]:
    return sorted(str(d["installation_id"]) for d in h.devices_of(owner))


def _put_preferences(h: Harness, user: str) -> None:
    reply = h.device_call(
        "PUT",
        "",
        {"muted_categories": ["expiry"], "quiet_hours": None},
        bearer=h.identity.mint_id_token(user),
        resource="/me/preferences",
    )
    assert reply.status == 200, reply


@dataclass
class BudgetUntil(LambdaContext):
    """A Lambda context with plenty of time until `short()` says otherwise, then 5 s (less than
    the sweep's 10 s safety margin)."""

    short: Callable[[], bool] = field(default=lambda: False)

    def get_remaining_time_in_millis(self) -> int:
        return 5_000 if self.short() else 290_000


# --- registration feeds the index ---------------------------------------------------------------


def test_registration_sets_the_refresh_month_and_preferences_never_get_one(
    harness: Harness,
) -> None:
    _register(harness, "asmith", "asmith-phone-4b7e1c9a")
    _put_preferences(harness, "asmith")
    device = _item(harness, "asmith", "asmith-phone-4b7e1c9a")
    assert device is not None
    assert device["refresh_bucket"] == str(device["updated_at"])[:7]
    preferences = _item(harness, "asmith", "#preferences")
    assert preferences is not None
    assert "refresh_bucket" not in preferences

    _age(harness, "asmith", "asmith-phone-4b7e1c9a", 90)
    _register(harness, "asmith", "asmith-phone-4b7e1c9a")  # the app refreshes its registration
    refreshed = _item(harness, "asmith", "asmith-phone-4b7e1c9a")
    assert refreshed is not None
    assert refreshed["refresh_bucket"] == str(refreshed["updated_at"])[:7]
    assert refreshed["updated_at"] > rfc3339(NOW - timedelta(days=1))


# --- pruning ---------------------------------------------------------------------------------


def test_stale_devices_go_fresh_ones_and_preferences_stay(harness: Harness) -> None:
    for user, installation_id in (
        ("asmith", "asmith-old-phone"),
        ("asmith", "asmith-phone-4b7e1c9a"),
        ("bjones", "bjones-tablet-5c1e9a"),
        ("bjones", "bjones-phone-4b7e1c9a"),
        ("cwu", "cwu-phone-4b7e1c9a"),
        ("dlee", "dlee-phone-4b7e1c9a"),
    ):
        _register(harness, user, installation_id)
    _put_preferences(harness, "asmith")
    _put_preferences(harness, "cwu")
    _age(harness, "asmith", "asmith-old-phone", 90)
    _age(harness, "bjones", "bjones-tablet-5c1e9a", 60.01)
    _age(harness, "bjones", "bjones-phone-4b7e1c9a", 59.9)  # not yet
    _age(harness, "cwu", "cwu-phone-4b7e1c9a", 200)  # cwu keeps only the preferences
    _age(
        harness, "dlee", "dlee-phone-4b7e1c9a", 60 + 500
    )  # before the 13 months read: left to FCM errors
    # Preferences are old too, but never in the index.
    harness.table("DevicesTable").update_item(
        Key={"owner": "asmith", "installation_id": "#preferences"},
        UpdateExpression="SET updated_at = :u",
        ExpressionAttributeValues={":u": rfc3339(NOW - timedelta(days=400))},
    )

    report = _prune(harness)

    assert _counts(report) == (3, 3, 0)
    assert report["cutoff"] == rfc3339(NOW - timedelta(days=60))
    assert (report["complete"], report["stopped"]) == (True, None)
    assert report["now"] == rfc3339(NOW)
    assert _installations(harness, "asmith") == ["#preferences", "asmith-phone-4b7e1c9a"]
    assert _installations(harness, "bjones") == ["bjones-phone-4b7e1c9a"]
    assert _installations(harness, "cwu") == ["#preferences"]
    assert _installations(harness, "dlee") == ["dlee-phone-4b7e1c9a"]
    preferences = _item(harness, "cwu", "#preferences")
    assert preferences is not None
    assert preferences["preferences"]["muted_categories"] == ["expiry"]

    assert _counts(_prune(harness)) == (0, 0, 0)  # nothing stale is left in the window

    # Pushes now go to live registrations only.
    assert harness.post_event(sample_event("task_assigned")).status == 202  # for asmith
    harness.drain()
    assert [m["message"]["token"] for m in harness.fcm.messages()] == [
        _token("asmith", "asmith-phone-4b7e1c9a")
    ]


def test_a_device_refreshed_while_the_sweep_runs_survives(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    for user in ("asmith", "bjones"):
        _register(harness, user, f"{user}-phone-4b7e1c9a")
        _age(harness, user, f"{user}-phone-4b7e1c9a", 75)
    query = DevicesRepository.not_refreshed_since

    def read_then_app_refreshes(
        self: DevicesRepository, *args: Any, **kwargs: Any
    ) -> Page[RefreshEntry]:
        page = query(self, *args, **kwargs)
        if any(e.owner == "asmith" for e in page.items):
            _register(
                harness, "asmith", "asmith-phone-4b7e1c9a"
            )  # between the index read and the delete
        return page

    monkeypatch.setattr(DevicesRepository, "not_refreshed_since", read_then_app_refreshes)

    report = _prune(harness)

    assert _counts(report) == (2, 1, 1)
    assert report["complete"] is True
    assert _installations(harness, "asmith") == ["asmith-phone-4b7e1c9a"]
    assert _installations(harness, "bjones") == []
    monkeypatch.undo()
    assert _counts(_prune(harness)) == (0, 0, 0)  # refreshed: out of the stale window


def test_a_run_stops_before_its_time_budget_and_the_next_one_finishes(harness: Harness) -> None:
    users = ["user1", "user2", "user3", "user4", "user5"]
    for n, user in enumerate(users):
        _register(harness, user, f"{user}-phone-4b7e1c9a")
        _age(harness, user, f"{user}-phone-4b7e1c9a", 70 + 40 * n)  # several month buckets

    def gone() -> int:
        return sum(_item(harness, user, f"{user}-phone-4b7e1c9a") is None for user in users)

    context = BudgetUntil(PRUNE, 300, short=lambda: gone() >= 2)
    first = _prune(harness, context=context)
    assert _counts(first) == (2, 2, 0)
    assert (first["complete"], first["stopped"]) == (False, "time_budget")
    # Oldest first: the two longest unrefreshed devices went.
    assert [user for user in users if _item(harness, user, f"{user}-phone-4b7e1c9a") is None] == [
        "user4",
        "user5",
    ]

    second = _prune(harness)
    assert _counts(second) == (3, 3, 0)
    assert (second["complete"], second["stopped"]) == (True, None)
    assert gone() == len(users)


def test_stale_days_come_from_the_environment(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(harness, "asmith", "asmith-phone-4b7e1c9a")
    _age(harness, "asmith", "asmith-phone-4b7e1c9a", 45)
    assert _counts(_prune(harness)) == (0, 0, 0)  # default 60 days

    monkeypatch.setenv("ECMPUSH_DEVICE_STALE_DAYS", "30")
    bootstrap.reset()
    report = _prune(harness)
    assert _counts(report) == (1, 1, 0)
    assert report["cutoff"] == rfc3339(NOW - timedelta(days=30))
    assert _installations(harness, "asmith") == []


def test_the_schedule_input_must_be_rfc3339(harness: Harness) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        _prune(harness, "tomorrow")
    report = _prune(harness, None)  # a manual invoke: the wall clock
    assert report["complete"] is True
    assert report["now"] >= rfc3339(NOW)
