"""Configuration read once per container from the environment the template sets (see
docs/resources.md); a missing required variable fails the cold start with its name, not a
KeyError deep in a request."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


class ConfigurationError(RuntimeError):
    """The deployment is missing or mis-sets an environment variable."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required")
    return value


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"environment variable {name} must be an integer") from exc


def _optional(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


@dataclass(frozen=True)
class Settings:
    events_table: str
    devices_table: str
    deliveries_table: str
    idempotency_table: str
    dispatch_queue_url: str
    webhook_secret_id: str
    firebase_secret_id: str
    action_token_secret_id: str
    app_base_url: str
    tasks_table: str
    writeback_queue_url: str
    ecm_secret_id: str
    ecm_base_url: str
    records_table: str
    # Optional for the functions that do not verify ID tokens; get_verifier_app refuses it empty.
    firebase_project_id: str = ""
    disposition_map: str = ""
    routing_parameter: str = "/ecmpush/routing"
    expiry_windows: str = "90,30,7,1,0"
    expiry_search: str = ""
    sla_defaults: str = ""
    sla_grace_hours: int = 24
    ecm_user_claim: str = "ecm_user"
    external_id_claim: str = "ecm_external"
    retention_days: int = 90
    secrets_max_age: int = 300
    idempotency_days: int = 7
    fcm_chunk_size: int = 100
    # Per-request FCM timeout; Dispatch keeps a whole send (two attempts of it) plus time to
    # record the answers back from its deadline, so a send started is a send recorded.
    fcm_timeout_seconds: int = 5
    delivery_batch_size: int = 250
    dispatch_threads: int = 16
    action_token_ttl_hours: int = 168
    device_stale_days: int = 60
    max_devices_per_user: int = 10
    max_users_per_event: int = 250
    max_groups_per_event: int = 25
    max_recipients_per_request: int = 2500
    # Revocation checks of ID tokens (issue 9): on when a Firebase Auth viewer secret is set.
    firebase_auth_secret_id: str | None = None
    revocation_cache_seconds: int = 60
    # Local stack only: never set by template.yaml.
    identity_toolkit_url: str | None = None
    routing_file: str | None = None
    fcm_base_url: str | None = None
    firebase_certs_url: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            events_table=_required("ECMPUSH_EVENTS_TABLE"),
            devices_table=_required("ECMPUSH_DEVICES_TABLE"),
            deliveries_table=_required("ECMPUSH_DELIVERIES_TABLE"),
            idempotency_table=_required("ECMPUSH_IDEMPOTENCY_TABLE"),
            dispatch_queue_url=_required("ECMPUSH_DISPATCH_QUEUE_URL"),
            webhook_secret_id=_required("ECMPUSH_WEBHOOK_SECRET_ID"),
            firebase_secret_id=_required("ECMPUSH_FIREBASE_SECRET_ID"),
            action_token_secret_id=_required("ECMPUSH_ACTION_TOKEN_SECRET_ID"),
            app_base_url=_required("ECMPUSH_APP_BASE_URL").rstrip("/"),
            tasks_table=_required("ECMPUSH_TASKS_TABLE"),
            writeback_queue_url=_required("ECMPUSH_WRITEBACK_QUEUE_URL"),
            ecm_secret_id=_required("ECMPUSH_ECM_SECRET_ID"),
            ecm_base_url=_required("ECMPUSH_ECM_BASE_URL").rstrip("/"),
            records_table=_required("ECMPUSH_RECORDS_TABLE"),
            firebase_project_id=_optional("ECMPUSH_FIREBASE_PROJECT_ID") or "",
            disposition_map=_optional("ECMPUSH_DISPOSITION_MAP") or "",
            routing_parameter=_optional("ECMPUSH_ROUTING_PARAMETER") or "/ecmpush/routing",
            expiry_windows=_optional("ECMPUSH_EXPIRY_WINDOWS") or "90,30,7,1,0",
            expiry_search=_optional("ECMPUSH_EXPIRY_SEARCH") or "",
            sla_defaults=_optional("ECMPUSH_SLA_DEFAULTS") or "",
            sla_grace_hours=_int("ECMPUSH_SLA_GRACE_HOURS", 24),
            routing_file=_optional("ECMPUSH_ROUTING_FILE"),
            ecm_user_claim=_optional("ECMPUSH_ECM_USER_CLAIM") or "ecm_user",
            external_id_claim=_optional("ECMPUSH_EXTERNAL_ID_CLAIM") or "ecm_external",
            retention_days=_int("ECMPUSH_RETENTION_DAYS", 90),
            secrets_max_age=_int("ECMPUSH_SECRETS_MAX_AGE", 300),
            idempotency_days=_int("ECMPUSH_IDEMPOTENCY_DAYS", 7),
            fcm_chunk_size=_int("ECMPUSH_FCM_CHUNK_SIZE", 100),
            fcm_timeout_seconds=_int("ECMPUSH_FCM_TIMEOUT_SECONDS", 5),
            delivery_batch_size=_int("ECMPUSH_DELIVERY_BATCH_SIZE", 250),
            dispatch_threads=_int("ECMPUSH_DISPATCH_THREADS", 16),
            action_token_ttl_hours=_int("ECMPUSH_ACTION_TOKEN_TTL_HOURS", 168),
            device_stale_days=_int("ECMPUSH_DEVICE_STALE_DAYS", 60),
            max_devices_per_user=_int("ECMPUSH_MAX_DEVICES_PER_USER", 10),
            max_users_per_event=_int("ECMPUSH_MAX_USERS_PER_EVENT", 250),
            max_groups_per_event=_int("ECMPUSH_MAX_GROUPS_PER_EVENT", 25),
            max_recipients_per_request=_int("ECMPUSH_MAX_RECIPIENTS_PER_REQUEST", 2500),
            firebase_auth_secret_id=_optional("ECMPUSH_FIREBASE_AUTH_SECRET_ID"),
            revocation_cache_seconds=_int("ECMPUSH_REVOCATION_CACHE_SECONDS", 60),
            identity_toolkit_url=_optional("ECMPUSH_IDENTITY_TOOLKIT_URL"),
            fcm_base_url=_optional("ECMPUSH_FCM_BASE_URL"),
            firebase_certs_url=_optional("ECMPUSH_FIREBASE_CERTS_URL"),
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The container's settings; tests call `settings.cache_clear()` after changing the env."""
    return Settings.from_env()
