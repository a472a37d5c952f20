"""Preferences live beside the user's devices (DevicesTable, `installation_id = #preferences`,
a value no real installation id can take), so one Query reads all a user's delivery settings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ecmpush.adapters.dynamo import iso
from ecmpush.domain.preferences import Preferences

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PREFERENCES_KEY = "#preferences"


class PreferencesRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, owner: str) -> Preferences:
        item = self._table.get_item(Key={"owner": owner, "installation_id": PREFERENCES_KEY}).get(
            "Item"
        )
        if not item:
            return Preferences()
        return Preferences.model_validate(item.get("preferences") or {})

    def put(self, owner: str, preferences: Preferences, now: datetime) -> None:
        self._table.put_item(
            Item={
                "owner": owner,
                "installation_id": PREFERENCES_KEY,
                "preferences": preferences.model_dump(mode="json"),
                "updated_at": iso(now),
            }
        )
