"""What several flows share: recipient caps, the Content Server client, the tasks repository
and SLA policy, the routing document, and holding an SQS record back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecmpush.bootstrap.secrets import secret_store
from ecmpush.components import component
from ecmpush.settings import ConfigurationError, settings

if TYPE_CHECKING:
    from ecmpush.adapters.ecm.client import EcmClient
    from ecmpush.adapters.tasks_repository import TasksRepository
    from ecmpush.domain.links import LinkPolicy
    from ecmpush.domain.recipient_caps import RecipientCaps
    from ecmpush.domain.routing_config import RoutingConfig
    from ecmpush.domain.sla import SlaPolicy


def hold_back_message(queue_url: str, receipt_handle: str, seconds: float) -> None:
    """Keep a received SQS record invisible for `seconds` (a Retry-After, a backoff) instead of
    the queue's fixed visibility timeout."""
    from ecmpush.adapters.sqs_visibility import delay_message

    delay_message(queue_url, receipt_handle, seconds)


@component
def recipient_caps() -> RecipientCaps:
    """Checked at cold start: a per-request cap below the per-event one would refuse every
    request that uses the per-event allowance."""
    from ecmpush.domain.recipient_caps import RecipientCaps

    config = settings()
    try:
        return RecipientCaps(
            config.max_users_per_event,
            config.max_groups_per_event,
            config.max_recipients_per_request,
        )
    except ValueError as exc:
        raise ConfigurationError(f"recipient caps (ECMPUSH_MAX_*): {exc}") from exc


@component
def link_policy() -> LinkPolicy:
    """Hosts a push's link may name: the app's, Content Server's and ECMPUSH_LINK_HOSTS,
    checked at cold start (a typo there would otherwise refuse every event with a link)."""
    from ecmpush.domain.links import LinkHostsInvalid, LinkPolicy

    config = settings()
    try:
        return LinkPolicy.of(config.app_base_url, config.ecm_base_url, listed=config.link_hosts)
    except LinkHostsInvalid as exc:
        raise ConfigurationError(f"ECMPUSH_LINK_HOSTS: {exc}") from exc


@component
def ecm_client() -> EcmClient:
    from ecmpush.adapters.ecm.client import EcmClient
    from ecmpush.adapters.ecm.config import EcmConfig

    config = settings()
    secret = secret_store().json(config.ecm_secret_id)
    return EcmClient(EcmConfig.from_secret(secret, base_url=config.ecm_base_url))


@component
def tasks_repository() -> TasksRepository:
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.tasks_repository import TasksRepository

    config = settings()
    return TasksRepository(table(config.tasks_table), config.retention_days, sla_policy())


@component
def sla_policy() -> SlaPolicy:
    """Default SLA hours (ECMPUSH_SLA_DEFAULTS over the built-in table) and the grace before the
    escalation (ECMPUSH_SLA_GRACE_HOURS), checked at cold start."""
    from ecmpush.domain.sla import SlaConfigError, SlaPolicy

    config = settings()
    try:
        return SlaPolicy.from_config(config.sla_defaults, config.sla_grace_hours)
    except SlaConfigError as exc:
        raise ConfigurationError(f"ECMPUSH_SLA_DEFAULTS / ECMPUSH_SLA_GRACE_HOURS: {exc}") from exc


def routing_config() -> RoutingConfig:
    """Read on use (Powertools caches the parameter for the secrets max age), so an operator's
    change reaches warm containers within minutes; a bad document fails the event that needs
    it, with the document's field paths, and the event is retried."""
    from ecmpush.adapters.routing_source import load_routing

    config = settings()
    return load_routing(config.routing_parameter, config.routing_file, config.secrets_max_age)
