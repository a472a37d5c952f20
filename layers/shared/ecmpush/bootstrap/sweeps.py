"""The scheduled sweeps (functions/expiry_sweep, sla_sweep, device_prune) and the record store
Dispatch writes `record.expiry_scheduled` events to. Configuration errors (windows, search
JSON, a missing table) fail the cold start with the variable's name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecmpush.bootstrap.shared import ecm_client, routing_config, sla_policy, tasks_repository
from ecmpush.clock import utc_now
from ecmpush.components import component
from ecmpush.settings import ConfigurationError, settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from ecmpush.adapters.records_repository import RecordsRepository
    from ecmpush.adapters.sweep_lease_store import SweepLeaseStore
    from ecmpush.domain.expiry import ExpiryPolicy
    from ecmpush.domain.expiry_search import SearchConfig
    from ecmpush.services.device_prune import DevicePruneService
    from ecmpush.services.expiry_sweep import ExpirySweepService
    from ecmpush.services.record_tracking import RecordTracker
    from ecmpush.services.sla_sweep import SlaSweepService


@component
def expiry_policy() -> ExpiryPolicy:
    from ecmpush.domain.expiry import ExpiryConfigError, ExpiryPolicy

    try:
        return ExpiryPolicy.from_config(settings().expiry_windows)
    except ExpiryConfigError as exc:
        raise ConfigurationError(f"ECMPUSH_EXPIRY_WINDOWS: {exc}") from exc


@component
def expiry_search() -> SearchConfig | None:
    from ecmpush.domain.expiry import ExpiryConfigError
    from ecmpush.domain.expiry_search import parse_search_config

    try:
        return parse_search_config(settings().expiry_search)
    except ExpiryConfigError as exc:
        raise ConfigurationError(f"ECMPUSH_EXPIRY_SEARCH: {exc}") from exc


def _records_table() -> Table:
    from ecmpush.adapters.dynamo import table

    name = settings().records_table
    if not name:
        raise ConfigurationError("environment variable ECMPUSH_RECORDS_TABLE is required")
    return table(name)


@component
def records_repository() -> RecordsRepository:
    from ecmpush.adapters.records_repository import RecordsRepository

    return RecordsRepository(_records_table(), settings().retention_days)


@component
def sweep_lease_store() -> SweepLeaseStore:
    from ecmpush.adapters.sweep_lease_store import SweepLeaseStore

    return SweepLeaseStore(_records_table())


@component
def record_tracker() -> RecordTracker:
    """What Dispatch calls to store `record.expiry_scheduled` events."""
    from ecmpush.services.record_tracking import RecordTracker

    return RecordTracker(records_repository())


@component
def expiry_sweep_service() -> ExpirySweepService:
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.expiry_sweep import ExpirySweepService

    config = settings()
    return ExpirySweepService(
        records=records_repository(),
        lease=sweep_lease_store(),
        publisher=SqsPublisher(config.dispatch_queue_url),
        routing=routing_config,
        policy=expiry_policy(),
        app_base_url=config.app_base_url,
        clock=utc_now,
        search=expiry_search(),
        ecm=ecm_client,
    )


@component
def sla_sweep_service() -> SlaSweepService:
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.sla_sweep import SlaSweepService

    config = settings()
    policy = sla_policy()
    return SlaSweepService(
        tasks=tasks_repository(),
        ecm=ecm_client,
        publisher=SqsPublisher(config.dispatch_queue_url),
        policy=policy,
        app_base_url=config.app_base_url,
        routing=routing_config,
    )


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
