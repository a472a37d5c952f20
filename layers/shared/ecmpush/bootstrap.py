"""Composition root: builds each adapter and service once per warm container, from settings.

Handlers import only these factories; nothing here runs at import time and every adapter is
imported inside its factory, so a handler's init (`import app`) loads neither boto3 (Powertools
parameters, the DynamoDB and SQS adapters) nor firebase-admin: the first request that needs one
imports it, and only the functions that send or verify ever import firebase-admin. Tests can
`reset()` between cases after changing the environment."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from ecmpush.clock import utc_now
from ecmpush.components import component, reset_components
from ecmpush.settings import ConfigurationError, settings

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import firebase_admin
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    from ecmpush.adapters.ecm.client import EcmClient
    from ecmpush.adapters.history_repository import HistoryRepository
    from ecmpush.adapters.preferences_repository import PreferencesRepository
    from ecmpush.adapters.secrets import SecretStore
    from ecmpush.adapters.tasks_repository import TasksRepository
    from ecmpush.domain.events import EcmEvent
    from ecmpush.domain.recipient_caps import RecipientCaps
    from ecmpush.domain.routing_config import RoutingConfig
    from ecmpush.domain.sla import SlaPolicy
    from ecmpush.ports import IdTokenVerifier, PushSender
    from ecmpush.services.devices import DevicesService
    from ecmpush.services.dispatch import DispatchService
    from ecmpush.services.me import MeService
    from ecmpush.services.response_callback import ResponseCallbackService
    from ecmpush.services.webhook_intake import EventAcceptor, WebhookIntakeService
    from ecmpush.services.write_back import WriteBackService


@component
def secret_store() -> SecretStore:
    # Powertools parameters imports boto3 and all its providers: a first-call cost, not init's.
    from ecmpush.adapters.secrets import SecretStore

    return SecretStore(max_age=settings().secrets_max_age)


def _refreshed(secret_id: str) -> list[bytes] | None:
    """Re-read a rotating secret's active values now; None when a re-read happened too
    recently (a flood of bad signatures must not become a flood of Secrets Manager calls)."""
    store = secret_store()
    if not store.may_refresh(secret_id):
        return None
    return store.active_values(secret_id, force=True)


def webhook_secrets() -> list[bytes]:
    return secret_store().active_values(settings().webhook_secret_id)


def refreshed_webhook_secrets() -> list[bytes] | None:
    return _refreshed(settings().webhook_secret_id)


def action_token_key() -> bytes:
    """The signing key: AWSCURRENT only, so new tokens always carry the newest key."""
    return secret_store().text(settings().action_token_secret_id).encode()


def action_token_keys() -> list[bytes]:
    """The verifying keys: AWSCURRENT and AWSPREVIOUS, so a token signed just before a rotation
    stays good until the rotation after next (ActionTokenKeyRotationDays >= the token TTL)."""
    return secret_store().active_values(settings().action_token_secret_id)


def refreshed_action_token_keys() -> list[bytes] | None:
    return _refreshed(settings().action_token_secret_id)


def hold_back_record(queue_url: str, receipt_handle: str, seconds: float) -> None:
    """Keep a received SQS record invisible for `seconds` (a Retry-After, a backoff) instead of
    the queue's fixed visibility timeout."""
    from ecmpush.adapters.sqs_visibility import delay_record

    delay_record(queue_url, receipt_handle, seconds)


@component
def firebase_app() -> firebase_admin.App:
    from ecmpush.adapters.firebase_app import get_firebase_app

    config = settings()
    service_account: dict[str, Any] = secret_store().json(config.firebase_secret_id)
    return get_firebase_app(
        service_account,
        fcm_base_url=config.fcm_base_url,
        certs_url=config.firebase_certs_url,
        pool_size=config.fcm_chunk_size,
        http_timeout=config.fcm_timeout_seconds,
    )


@component
def push_sender() -> PushSender:
    from ecmpush.adapters.fcm_sender import FcmSender

    return FcmSender(firebase_app(), chunk_size=settings().fcm_chunk_size)


@component
def verifier_app() -> firebase_admin.App:
    """ID-token verification needs the project id, never the service-account key: the API
    functions' roles cannot read FirebaseServiceAccountSecret (issue 9)."""
    from firebase_admin import credentials

    from ecmpush.adapters.firebase_app import get_verifier_app

    config = settings()
    credential = None
    if config.firebase_auth_secret_id:
        # Revocation checks: a service account that may only read users (Firebase
        # Authentication Viewer), never the FCM sender's key.
        viewer = secret_store().json(config.firebase_auth_secret_id)
        credential = credentials.Certificate(viewer)
    return get_verifier_app(
        config.firebase_project_id,
        credential=credential,
        certs_url=config.firebase_certs_url,
        identity_toolkit_url=config.identity_toolkit_url,
    )


@component
def id_token_verifier() -> IdTokenVerifier:
    from ecmpush.adapters.id_token_verifier import FirebaseIdTokenVerifier

    config = settings()
    return FirebaseIdTokenVerifier(
        verifier_app(),
        ecm_user_claim=config.ecm_user_claim,
        external_id_claim=config.external_id_claim,
        revocation_cache_seconds=(
            config.revocation_cache_seconds if config.firebase_auth_secret_id else None
        ),
    )


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
        clock=time.time,
    )


@component
def dispatch_pool() -> ThreadPoolExecutor:
    """Dispatch's worker threads, kept for the container's life (DynamoDB writes overlapping the
    next send; boto3 clients are thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor  # not on the other handlers' import path

    return ThreadPoolExecutor(settings().dispatch_threads, thread_name_prefix="dispatch")


@component
def dispatch_service() -> DispatchService:
    from ecmpush.adapters.deliveries_repository import DeliveriesRepository
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.events_repository import EventsRepository
    from ecmpush.adapters.fcm_pause_store import FcmPauseStore
    from ecmpush.adapters.firebase_app import send_budget
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.action_tokens import ActionTokenSigner
    from ecmpush.services.dispatch import RECORDING_SECONDS, DispatchService
    from ecmpush.sweeps_expiry import record_tracker

    config = settings()
    return DispatchService(
        recipients=DevicesRepository(table(config.devices_table)),
        deliveries=DeliveriesRepository(table(config.deliveries_table), config.retention_days),
        events=EventsRepository(table(config.events_table), config.retention_days),
        tasks=tasks_repository(),
        publisher=SqsPublisher(config.dispatch_queue_url),
        routing=routing_config,
        records=record_tracker(),
        sender=push_sender(),
        pause=FcmPauseStore(table(config.deliveries_table)),
        signer=ActionTokenSigner(action_token_key, timedelta(hours=config.action_token_ttl_hours)),
        app_base_url=config.app_base_url,
        clock=utc_now,
        batch_size=config.delivery_batch_size,
        send_chunk=config.fcm_chunk_size,
        reserve_seconds=send_budget(config.fcm_timeout_seconds) + RECORDING_SECONDS,
        pool=dispatch_pool(),
        directory=ecm_client,
    )


@component
def ecm_client() -> EcmClient:
    from ecmpush.adapters.ecm.client import EcmClient
    from ecmpush.adapters.ecm.config import EcmConfig

    config = settings()
    secret = secret_store().json(config.ecm_secret_id)
    return EcmClient(EcmConfig.from_secret(secret, base_url=config.ecm_base_url))


@component
def disposition_mapping() -> dict[str, list[str]] | None:
    """The operator's override of the reply → disposition candidates, checked at cold start."""
    raw = settings().disposition_map
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


@component
def write_back_service() -> WriteBackService:
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.responses_repository import ResponsesRepository
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.write_back import WriteBackService

    config = settings()
    return WriteBackService(
        ecm=ecm_client,
        replies=ResponsesRepository(table(config.deliveries_table), config.retention_days),
        tasks=tasks_repository(),
        publisher=SqsPublisher(config.dispatch_queue_url),
        app_base_url=config.app_base_url,
        clock=utc_now,
        mapping=disposition_mapping(),
    )


@component
def reply_service() -> ResponseCallbackService:
    from ecmpush.adapters.devices_repository import DevicesRepository
    from ecmpush.adapters.dynamo import table
    from ecmpush.adapters.responses_repository import ResponsesRepository
    from ecmpush.adapters.sqs_publisher import SqsPublisher
    from ecmpush.services.response_callback import ResponseCallbackService

    config = settings()
    return ResponseCallbackService(
        action_token_keys=action_token_keys,
        refreshed_action_token_keys=refreshed_action_token_keys,
        replies=ResponsesRepository(table(config.deliveries_table), config.retention_days),
        tasks=tasks_repository(),
        devices=DevicesRepository(table(config.devices_table)),
        writer=write_back_service(),
        queue=SqsPublisher(config.writeback_queue_url),
        clock=utc_now,
    )


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


def reset() -> None:
    """Forget every cached object (tests and the local stack after changing the environment)."""
    if dispatch_pool.cache_info().currsize:
        dispatch_pool().shutdown(wait=False)  # its threads would outlive it, idle, otherwise
    settings.cache_clear()
    reset_components()
