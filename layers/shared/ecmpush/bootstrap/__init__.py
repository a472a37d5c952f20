"""Composition root: builds each adapter and service once per warm container, from settings,
one module per flow (intake, dispatch, response_callback, devices, sweeps) over what they share
(secrets, shared, firebase).

Handlers call only these factories (`bootstrap.dispatch_service()`); nothing here runs at import
time and every adapter is imported inside its factory, so a handler's init (`import app`) loads
neither boto3 nor firebase-admin: the first request that needs one imports it. Tests replace a
component with `override(name=fake)` (a context manager) and `reset()` between cases after
changing the environment."""

from __future__ import annotations

from ecmpush.bootstrap.devices import (
    devices_service,
    history_repository,
    me_service,
    preferences_repository,
)
from ecmpush.bootstrap.dispatch import (
    dispatch_pool,
    dispatch_service,
)
from ecmpush.bootstrap.firebase import (
    firebase_app,
    id_token_verifier,
    push_sender,
    verifier_app,
)
from ecmpush.bootstrap.intake import (
    accept_event_once,
    event_acceptor,
    intake_idempotency_config,
    webhook_intake_service,
)
from ecmpush.bootstrap.response_callback import (
    disposition_mapping,
    response_callback_service,
    write_back_service,
)
from ecmpush.bootstrap.secrets import (
    action_token_key,
    action_token_keys,
    refreshed_action_token_keys,
    refreshed_webhook_secrets,
    secret_store,
    webhook_secrets,
)
from ecmpush.bootstrap.shared import (
    ecm_client,
    hold_back_message,
    recipient_caps,
    routing_config,
    sla_policy,
    tasks_repository,
)
from ecmpush.bootstrap.sweeps import (
    device_prune_service,
    expiry_policy,
    expiry_search,
    expiry_sweep_service,
    record_tracker,
    records_repository,
    sla_sweep_service,
    sweep_lease_store,
)
from ecmpush.components import override, reset_components
from ecmpush.settings import settings


def reset() -> None:
    """Forget every cached object (tests and the local stack after changing the environment)."""
    if dispatch_pool.cache_info().currsize:
        dispatch_pool().shutdown(wait=False)  # its threads would outlive it, idle, otherwise
    settings.cache_clear()
    reset_components()


__all__ = [
    "accept_event_once",
    "action_token_key",
    "action_token_keys",
    "device_prune_service",
    "devices_service",
    "dispatch_pool",
    "dispatch_service",
    "disposition_mapping",
    "ecm_client",
    "event_acceptor",
    "expiry_policy",
    "expiry_search",
    "expiry_sweep_service",
    "firebase_app",
    "history_repository",
    "hold_back_message",
    "id_token_verifier",
    "intake_idempotency_config",
    "me_service",
    "override",
    "preferences_repository",
    "push_sender",
    "recipient_caps",
    "record_tracker",
    "records_repository",
    "refreshed_action_token_keys",
    "refreshed_webhook_secrets",
    "reset",
    "response_callback_service",
    "routing_config",
    "secret_store",
    "sla_policy",
    "sla_sweep_service",
    "sweep_lease_store",
    "tasks_repository",
    "verifier_app",
    "webhook_intake_service",
    "webhook_secrets",
    "write_back_service",
]
