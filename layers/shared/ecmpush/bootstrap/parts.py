"""Adapters and policies several builders use, each made from settings on call (the builders
cache what they build). Adapters are imported inside each function: a handler's init loads
neither boto3 nor firebase-admin."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from ecmpush.bootstrap.cache import cached
from ecmpush.settings import ConfigurationError, Settings, settings

if TYPE_CHECKING:
    import firebase_admin
    from mypy_boto3_dynamodb.service_resource import Table

    from ecmpush.adapters.ecm.client import EcmClient
    from ecmpush.adapters.secrets import SecretStore
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.adapters.tasks_repository import TasksRepository
    from ecmpush.domain.delivery.routing_config import RoutingConfig
    from ecmpush.domain.intake.links import LinkPolicy
    from ecmpush.domain.intake.recipient_caps import RecipientCaps
    from ecmpush.domain.sweeps.sla import SlaPolicy


def table(name: str) -> Table:
    from ecmpush.adapters.dynamo import table as dynamo_table

    return dynamo_table(name)


def records_table(config: Settings) -> Table:
    if not config.records_table:
        raise ConfigurationError("environment variable ECMPUSH_RECORDS_TABLE is required")
    return table(config.records_table)


def queue(url: str) -> SqsPublisher:
    from ecmpush.adapters.sqs_publisher import SqsPublisher

    return SqsPublisher(url)


@cached
def build_secret_store(config: Settings | None = None) -> SecretStore:
    """The container's secrets cache, made on the first read (Powertools parameters imports
    boto3 and all its providers): builders hand it on as a factory, so a builder whose secrets
    a test overrides never makes it."""
    from ecmpush.adapters.secrets import SecretStore

    return SecretStore(max_age=(config or settings()).secrets_max_age)


def rotating_secret(
    store: Callable[[], SecretStore], secret_id: str
) -> tuple[Callable[[], list[bytes]], Callable[[], list[bytes] | None]]:
    """(active values, a fresh re-read of them): AWSCURRENT and AWSPREVIOUS, so a value signed
    just before a rotation stays good. The re-read is None when one happened too recently (a
    flood of bad signatures must not become a flood of Secrets Manager calls)."""

    def refreshed() -> list[bytes] | None:
        if not store().may_refresh(secret_id):
            return None
        return store().active_values(secret_id, force=True)

    return (lambda: store().active_values(secret_id)), refreshed


def ecm_client(config: Settings, store: Callable[[], SecretStore]) -> Callable[[], EcmClient]:
    """The Content Server client, built on first use: its credentials are read only when a
    call needs them."""

    @cache
    def client() -> EcmClient:
        from ecmpush.adapters.ecm.client import EcmClient
        from ecmpush.adapters.ecm.config import EcmConfig

        secret = store().json(config.ecm_secret_id)
        return EcmClient(EcmConfig.from_secret(secret, base_url=config.ecm_base_url))

    return client


def routing(config: Settings) -> Callable[[], RoutingConfig]:
    """Read on use (Powertools caches the parameter for the secrets max age), so an operator's
    change reaches warm containers within minutes; a bad document fails the event that needs
    it, with the document's field paths, and the event is retried."""

    def current() -> RoutingConfig:
        from ecmpush.adapters.routing_source import load_routing

        return load_routing(config.routing_parameter, config.routing_file, config.secrets_max_age)

    return current


def tasks_repository(config: Settings) -> TasksRepository:
    from ecmpush.adapters.tasks_repository import TasksRepository

    return TasksRepository(table(config.tasks_table), config.retention_days, sla_policy(config))


def sla_policy(config: Settings) -> SlaPolicy:
    """Default SLA hours (ECMPUSH_SLA_DEFAULTS over the built-in table) and the grace before the
    escalation (ECMPUSH_SLA_GRACE_HOURS), checked at cold start."""
    from ecmpush.domain.sweeps.sla import SlaConfigError, SlaPolicy

    try:
        return SlaPolicy.from_config(config.sla_defaults, config.sla_grace_hours)
    except SlaConfigError as exc:
        raise ConfigurationError(f"ECMPUSH_SLA_DEFAULTS / ECMPUSH_SLA_GRACE_HOURS: {exc}") from exc


def link_policy(config: Settings) -> LinkPolicy:
    """Hosts a push's link may name: the app's, Content Server's and ECMPUSH_LINK_HOSTS,
    checked at cold start (a typo there would otherwise refuse every event with a link)."""
    from ecmpush.domain.intake.links import LinkHostsInvalid, LinkPolicy

    try:
        return LinkPolicy.of(config.app_base_url, config.ecm_base_url, listed=config.link_hosts)
    except LinkHostsInvalid as exc:
        raise ConfigurationError(f"ECMPUSH_LINK_HOSTS: {exc}") from exc


def recipient_caps(config: Settings) -> RecipientCaps:
    """Checked at cold start: a per-request cap below the per-event one would refuse every
    request that uses the per-event allowance."""
    from ecmpush.domain.intake.recipient_caps import RecipientCaps

    try:
        return RecipientCaps(
            config.max_users_per_event,
            config.max_groups_per_event,
            config.max_recipients_per_request,
        )
    except ValueError as exc:
        raise ConfigurationError(f"recipient caps (ECMPUSH_MAX_*): {exc}") from exc


def disposition_mapping(config: Settings) -> dict[str, list[str]] | None:
    """The operator's override of the reply → disposition candidates, checked at cold start."""
    raw = config.disposition_map
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError("ECMPUSH_DISPOSITION_MAP is not JSON") from exc
    valid = isinstance(mapping, dict) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(c, str) for c in v)
        for k, v in mapping.items()
    )
    if not valid:
        raise ConfigurationError("ECMPUSH_DISPOSITION_MAP must map reply actions to lists of keys")
    return cast("dict[str, list[str]]", mapping)


def firebase_app(config: Settings, store: Callable[[], SecretStore]) -> firebase_admin.App:
    """The sending App: only Dispatch may read the service account."""
    from ecmpush.adapters.firebase_app import get_firebase_app

    service_account: dict[str, Any] = store().json(config.firebase_secret_id)
    return get_firebase_app(
        service_account,
        fcm_base_url=config.fcm_base_url,
        certs_url=config.firebase_certs_url,
        pool_size=config.fcm_chunk_size,
        http_timeout=config.fcm_timeout_seconds,
    )
