"""Wiring of the device prune sweep (issue #5, token hygiene): one service per warm container,
from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecmpush.components import component
from ecmpush.settings import ConfigurationError, settings

if TYPE_CHECKING:
    from ecmpush.services.device_prune import DevicePruneService


@component
def device_prune_service() -> DevicePruneService:
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.adapters.dynamo import table
    from ecmpush.services.device_prune import DevicePruneService

    config = settings()
    if config.device_stale_days < 1:
        raise ConfigurationError("environment variable ECMPUSH_DEVICE_STALE_DAYS must be >= 1")
    return DevicePruneService(
        devices=DevicesRepository(table(config.devices_table)),
        stale_days=config.device_stale_days,
    )
