"""The scheduled sweeps (functions/expiry_sweep, sla_sweep, device_prune). Configuration errors
(windows, search JSON, a missing table) fail the cold start with the variable's name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, Unpack

from ecmpush.bootstrap.cache import Overrides, cached
from ecmpush.bootstrap.parts import (
    build_secret_store,
    ecm_client,
    queue,
    records_table,
    routing,
    sla_policy,
    table,
    tasks_repository,
)
from ecmpush.clock import utc_now
from ecmpush.settings import ConfigurationError, Settings, settings

if TYPE_CHECKING:
    from ecmpush.domain.delivery.routing_config import RoutingConfig
    from ecmpush.domain.sweeps.expiry import ExpiryPolicy
    from ecmpush.domain.sweeps.expiry_search import SearchConfig
    from ecmpush.ports import (
        ContentServer,
        DevicesPort,
        Publisher,
        RecordsPort,
        SeenPort,
        SweepLeasePort,
        TasksPort,
    )
    from ecmpush.services.device_prune import DevicePruneService
    from ecmpush.services.expiry_sweep import ExpirySweepService
    from ecmpush.services.sla_sweep import SlaSweepService


class ExpirySweepParts(TypedDict, total=False):
    """What a test may hand `build_expiry_sweep` instead of the real thing."""

    records: RecordsPort
    lease: SweepLeasePort
    publisher: Publisher
    routing: Callable[[], RoutingConfig]
    clock: Callable[[], datetime]
    ecm: Callable[[], ContentServer] | None


class SlaSweepParts(TypedDict, total=False):
    """What a test may hand `build_sla_sweep` instead of the real thing."""

    tasks: TasksPort
    ecm: Callable[[], ContentServer]
    publisher: Publisher
    routing: Callable[[], RoutingConfig]
    seen: SeenPort


class DevicePruneParts(TypedDict, total=False):
    """What a test may hand `build_device_prune` instead of the real thing."""

    devices: DevicesPort


def _expiry_policy(config: Settings) -> ExpiryPolicy:
    from ecmpush.domain.sweeps.expiry import ExpiryConfigError, ExpiryPolicy

    try:
        return ExpiryPolicy.from_config(config.expiry_windows)
    except ExpiryConfigError as exc:
        raise ConfigurationError(f"ECMPUSH_EXPIRY_WINDOWS: {exc}") from exc


def _expiry_search(config: Settings) -> SearchConfig | None:
    from ecmpush.domain.sweeps.expiry import ExpiryConfigError
    from ecmpush.domain.sweeps.expiry_search import parse_search_config

    try:
        return parse_search_config(config.expiry_search)
    except ExpiryConfigError as exc:
        raise ConfigurationError(f"ECMPUSH_EXPIRY_SEARCH: {exc}") from exc


@cached
def build_expiry_sweep(
    config: Settings | None = None, **overrides: Unpack[ExpirySweepParts]
) -> ExpirySweepService:
    from ecmpush.adapters.records_repository import RecordsRepository
    from ecmpush.adapters.sweep_lease_store import SweepLeaseStore
    from ecmpush.services.expiry_sweep import ExpirySearch, ExpirySweepService

    config = config or settings()
    part = Overrides(overrides, ExpirySweepParts)
    search = _expiry_search(config)
    service = ExpirySweepService(
        records=part(
            "records", lambda: RecordsRepository(records_table(config), config.retention_days)
        ),
        lease=part("lease", lambda: SweepLeaseStore(records_table(config))),
        publisher=part("publisher", lambda: queue(config.dispatch_queue_url)),
        routing=part("routing", lambda: routing(config)),
        policy=_expiry_policy(config),
        app_base_url=config.app_base_url,
        clock=part("clock", lambda: utc_now),
        search=None
        if search is None
        else ExpirySearch(search, part("ecm", lambda: ecm_client(config, build_secret_store))),
    )
    return service


@cached
def build_sla_sweep(
    config: Settings | None = None, **overrides: Unpack[SlaSweepParts]
) -> SlaSweepService:
    from ecmpush.services.sla_sweep import SlaSweepService

    config = config or settings()
    part = Overrides(overrides, SlaSweepParts)
    service = SlaSweepService(
        tasks=part("tasks", lambda: tasks_repository(config)),
        ecm=part("ecm", lambda: ecm_client(config, build_secret_store)),
        publisher=part("publisher", lambda: queue(config.dispatch_queue_url)),
        policy=sla_policy(config),
        app_base_url=config.app_base_url,
        routing=part("routing", lambda: routing(config)),
        seen=part("seen", lambda: _deliveries(config)),
    )
    return service


def _deliveries(config: Settings) -> SeenPort:
    from ecmpush.adapters.deliveries_repository import DeliveriesRepository

    return DeliveriesRepository(table(config.deliveries_table), config.retention_days)


@cached
def build_device_prune(
    config: Settings | None = None, **overrides: Unpack[DevicePruneParts]
) -> DevicePruneService:
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.services.device_prune import DevicePruneService

    config = config or settings()
    if config.device_stale_days < 1:
        raise ConfigurationError("environment variable ECMPUSH_DEVICE_STALE_DAYS must be >= 1")
    part = Overrides(overrides, DevicePruneParts)
    service = DevicePruneService(
        devices=part("devices", lambda: DevicesRepository(table(config.devices_table))),
        stale_days=config.device_stale_days,
    )
    return service
