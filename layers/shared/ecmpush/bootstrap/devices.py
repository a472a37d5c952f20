"""The devices API (functions/devices): registrations, and `/me` (preferences, the inbox,
receipts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, TypedDict, Unpack

from ecmpush.bootstrap.cache import Overrides, cached
from ecmpush.bootstrap.parts import table
from ecmpush.clock import utc_now
from ecmpush.settings import Settings, settings

if TYPE_CHECKING:
    from ecmpush.adapters.history_repository import HistoryRepository
    from ecmpush.adapters.receipts_repository import ReceiptsRepository
    from ecmpush.ports import DevicesPort, InboxPort, PreferencesPort, ReceiptsPort
    from ecmpush.services.devices import DevicesService
    from ecmpush.services.me import MeService
    from ecmpush.services.receipts import ReceiptsService


class DevicesParts(TypedDict, total=False):
    """What a test may hand `build_devices` instead of the real thing."""

    devices: DevicesPort
    preferences: PreferencesPort
    inbox: Callable[[], InboxPort]
    receipts: Callable[[], ReceiptsPort]
    clock: Callable[[], datetime]


@dataclass(frozen=True)
class DevicesApi:
    devices: DevicesService
    me: MeService
    receipts: ReceiptsService


@cached
def build_devices(config: Settings | None = None, **overrides: Unpack[DevicesParts]) -> DevicesApi:
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.adapters.preferences_repository import PreferencesRepository
    from ecmpush.services.devices import DevicesService
    from ecmpush.services.me import MeService
    from ecmpush.services.receipts import ReceiptsService

    config = config or settings()
    part = Overrides(overrides, DevicesParts)

    @cache
    def history() -> HistoryRepository:
        """The notification history, for GET /me/notifications only (it loads boto3's
        condition builder and the deliveries models)."""
        from ecmpush.adapters.history_repository import HistoryRepository

        return HistoryRepository(table(config.deliveries_table))

    @cache
    def receipts() -> ReceiptsRepository:
        """Receipts on the deliveries, for POST /me/receipts only (loads boto3 like history)."""
        from ecmpush.adapters.receipts_repository import ReceiptsRepository

        return ReceiptsRepository(table(config.deliveries_table))

    clock = part("clock", lambda: utc_now)
    devices = DevicesService(
        part("devices", lambda: DevicesRepository(table(config.devices_table))),
        clock,
        max_devices=config.max_devices_per_user,
    )
    me = MeService(
        preferences=part("preferences", lambda: PreferencesRepository(table(config.devices_table))),
        inbox=part("inbox", lambda: history),
        clock=clock,
    )
    return DevicesApi(devices, me, ReceiptsService(part("receipts", lambda: receipts), clock))
