"""Composition of the expiry sweep (flow 2) and of the record store Dispatch writes
`record.expiry_scheduled` events to: one instance per warm container, like bootstrap.py.
Configuration errors (windows, search JSON, a missing table) fail the cold start with the
variable's name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecmpush.clock import utc_now
from ecmpush.components import component
from ecmpush.domain.expiry import ExpiryConfigError, ExpiryPolicy
from ecmpush.domain.expiry_search import SearchConfig, parse_search_config
from ecmpush.settings import ConfigurationError, settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from ecmpush.adapters.records_repository import RecordsRepository
    from ecmpush.adapters.sweep_lease_store import SweepLeaseStore
    from ecmpush.services.expiry_sweep import ExpirySweepService
    from ecmpush.services.record_tracking import RecordTracker


@component
def expiry_policy() -> ExpiryPolicy:
    try:
        return ExpiryPolicy.from_config(settings().expiry_windows)
    except ExpiryConfigError as exc:
        raise ConfigurationError(f"ECMPUSH_EXPIRY_WINDOWS: {exc}") from exc


@component
def expiry_search() -> SearchConfig | None:
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
    from ecmpush import bootstrap
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.expiry_sweep import ExpirySweepService

    config = settings()
    return ExpirySweepService(
        records=records_repository(),
        lease=sweep_lease_store(),
        publisher=SqsPublisher(config.dispatch_queue_url),
        routing=bootstrap.routing_config,
        policy=expiry_policy(),
        app_base_url=config.app_base_url,
        clock=utc_now,
        search=expiry_search(),
        ecm=bootstrap.ecm_client,
    )
