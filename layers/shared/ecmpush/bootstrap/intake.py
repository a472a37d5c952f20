"""The webhook intake (functions/webhook_intake): authenticate and parse at the edge
(`WebhookReader`), accept each event once (`WebhookIntakeService`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from ecmpush.bootstrap.cache import Overrides, cached
from ecmpush.bootstrap.parts import (
    build_secret_store,
    link_policy,
    queue,
    recipient_caps,
    rotating_secret,
    table,
)
from ecmpush.clock import utc_now
from ecmpush.settings import Settings, settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    from ecmpush.domain.intake.events import EcmEvent
    from ecmpush.entrypoints.webhook_body import WebhookReader
    from ecmpush.services.webhook_intake import WebhookIntakeService


class IntakeParts(TypedDict, total=False):
    """What a test may hand `build_intake` instead of the real thing."""

    secrets: Callable[[], Sequence[bytes]]
    refreshed_secrets: Callable[[], Sequence[bytes] | None]
    accept_once: Callable[[], Callable[[EcmEvent], dict[str, str]]]
    clock: Callable[[], float]


@dataclass(frozen=True)
class Intake:
    reader: WebhookReader  # size, signature, JSON and schema: the request at the edge
    service: WebhookIntakeService
    idempotency: IdempotencyConfig  # the handler registers each invocation's context with it
    accept_once: Callable[[], Callable[[EcmEvent], dict[str, str]]]  # built on first use


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools replays the stored result for a repeated event id: say it is a duplicate."""
    return {**response, "status": "duplicate"}


def idempotency_config(config: Settings) -> IdempotencyConfig:
    """Powertools idempotency keyed on the event id: what makes intake accept an event once."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="id",
        payload_validation_jmespath="[type, tenant, occurred_at, data]",
        expires_after_seconds=config.idempotency_days * 86400,
        response_hook=_mark_duplicate,
    )


def accept_once_builder(
    config: Settings, idempotency: IdempotencyConfig
) -> Callable[[], Callable[[EcmEvent], dict[str, str]]]:
    """`EventAcceptor.accept` behind Powertools idempotency keyed on the event id (the
    idempotency layer loads boto3: built on the first event, not before its signature). Also
    the relay poll's (bootstrap/relay.py), which hands its events over in-process."""

    @cache
    def accept_event_once() -> Callable[[EcmEvent], dict[str, str]]:
        from ecmpush.adapters.events_repository import EventsRepository
        from ecmpush.adapters.idempotent_acceptance import accept_once
        from ecmpush.services.webhook_intake import EventAcceptor

        acceptor = EventAcceptor(
            EventsRepository(table(config.events_table), config.retention_days),
            queue(config.dispatch_queue_url),
            utc_now,
        )
        return accept_once(acceptor.accept, config.idempotency_table, idempotency)

    return accept_event_once


@cached
def build_intake(config: Settings | None = None, **overrides: Unpack[IntakeParts]) -> Intake:
    from ecmpush.entrypoints.webhook_body import WebhookReader
    from ecmpush.services.webhook_intake import WebhookIntakeService

    config = config or settings()
    part = Overrides(overrides, IntakeParts)
    idempotency = idempotency_config(config)
    accept_event_once = accept_once_builder(config, idempotency)
    store = build_secret_store
    secrets, refreshed = rotating_secret(store, config.webhook_secret_id)
    accept = part("accept_once", lambda: accept_event_once)
    reader = WebhookReader(
        secrets=part("secrets", lambda: secrets),
        refreshed_secrets=part("refreshed_secrets", lambda: refreshed),
        caps=recipient_caps(config),
        links=link_policy(config),
        clock=part("clock", lambda: time.time),
    )
    return Intake(reader, WebhookIntakeService(accept), idempotency, accept)
