"""The webhook intake (functions/webhook_intake): authenticate, parse, accept each event once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ecmpush.bootstrap.secrets import refreshed_webhook_secrets, webhook_secrets
from ecmpush.bootstrap.shared import link_policy, recipient_caps
from ecmpush.clock import utc_now
from ecmpush.components import component
from ecmpush.settings import settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    from ecmpush.domain.events import EcmEvent
    from ecmpush.services.webhook_intake import EventAcceptor, WebhookIntakeService


@component
def event_acceptor() -> EventAcceptor:
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.events_repository import EventsRepository
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.webhook_intake import EventAcceptor

    config = settings()
    return EventAcceptor(
        EventsRepository(table(config.events_table), config.retention_days),
        SqsPublisher(config.dispatch_queue_url),
        utc_now,
    )


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools replays the stored result for a repeated event id: say it is a duplicate."""
    return {**response, "status": "duplicate"}


@component
def intake_idempotency_config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="id",
        payload_validation_jmespath="[type, tenant, occurred_at, data]",
        expires_after_seconds=settings().idempotency_days * 86400,
        response_hook=_mark_duplicate,
    )


@component
def accept_event_once() -> Callable[[EcmEvent], dict[str, str]]:
    """`EventAcceptor.accept` behind Powertools idempotency keyed on the event id."""
    from ecmpush.adapters.idempotent_acceptance import accept_once

    return accept_once(
        event_acceptor().accept, settings().idempotency_table, intake_idempotency_config()
    )


@component
def webhook_intake_service() -> WebhookIntakeService:
    from ecmpush.services.webhook_intake import WebhookIntakeService

    return WebhookIntakeService(
        secrets=webhook_secrets,
        refreshed_secrets=refreshed_webhook_secrets,
        accept_once=accept_event_once,
        caps=recipient_caps(),
        links=link_policy(),
        clock=time.time,
    )
