"""The devices API (functions/devices): registrations, and `/me` (preferences, the inbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecmpush.clock import utc_now
from ecmpush.components import component
from ecmpush.settings import settings

if TYPE_CHECKING:
    from ecmpush.adapters.history_repository import HistoryRepository
    from ecmpush.adapters.preferences_repository import PreferencesRepository
    from ecmpush.services.devices import DevicesService
    from ecmpush.services.me import MeService


@component
def devices_service() -> DevicesService:
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.adapters.dynamo import table
    from ecmpush.services.devices import DevicesService

    return DevicesService(
        DevicesRepository(table(settings().devices_table)),
        utc_now,
        max_devices=settings().max_devices_per_user,
    )


@component
def me_service() -> MeService:
    from ecmpush.services.me import MeService

    return MeService(preferences=preferences_repository(), inbox=history_repository, clock=utc_now)


@component
def preferences_repository() -> PreferencesRepository:
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.preferences_repository import PreferencesRepository

    return PreferencesRepository(table(settings().devices_table))


@component
def history_repository() -> HistoryRepository:
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.history_repository import HistoryRepository

    return HistoryRepository(table(settings().deliveries_table))
