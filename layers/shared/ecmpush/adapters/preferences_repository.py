"""Preferences live beside the user's devices (DevicesTable, `installation_id = #preferences`,
a value no real installation id can take), so one Query reads all a user's delivery settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecmpush.clock import rfc3339
from ecmpush.domain.delivery.preferences import STORED, Preferences

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PREFERENCES_KEY = "#preferences"


def preferences_of(item: Mapping[str, Any] | None) -> Preferences:
    """A stored preferences item (or none) as the domain's preferences: defaults when absent.
    Read with `STORED`: a quiet period saved before today's bound is kept (and cut at it)."""
    return Preferences.model_validate((item or {}).get("preferences") or {}, context=STORED)


class PreferencesRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, owner: str) -> Preferences:
        item = self._table.get_item(Key={"owner": owner, "installation_id": PREFERENCES_KEY}).get(
            "Item"
        )
        return preferences_of(item)

    def put(self, owner: str, preferences: Preferences, now: datetime) -> None:
        self._table.put_item(
            Item={
                "owner": owner,
                "installation_id": PREFERENCES_KEY,
                "preferences": preferences.model_dump(mode="json"),
                "updated_at": rfc3339(now),
            }
        )
