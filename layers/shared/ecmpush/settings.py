"""Configuration read once per container from the environment the template sets (see
docs/resources.md), by pydantic-settings; a missing or malformed variable fails the cold start
with its name, not a KeyError deep in a request."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "ECMPUSH_"


class ConfigurationError(RuntimeError):
    """The deployment is missing or mis-sets an environment variable."""


class Settings(BaseSettings):
    """Each field from `ECMPUSH_<FIELD>`: required where the field has no default, else the
    default when the variable is unset or blank; integers checked as integers."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, str_strip_whitespace=True, extra="ignore"
    )

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
    # Hosts besides AppBaseUrl's and EcmBaseUrl's that links in pushes may name (comma list).
    link_hosts: str = ""
    # Revocation checks of ID tokens (issue 9): on when a Firebase Auth viewer secret is set.
    # How old a cached Firebase user account may be: on requests that change something (0 = read it
    # every time, a revocation is seen at once) and on reads (issue 21 §4).
    firebase_auth_secret_id: str | None = None
    revocation_cache_seconds: int = 0
    read_revocation_cache_seconds: int = 60
    # The Identity Platform tenant whose users may call the API; unset: project-level users
    # only, a tenant's token is refused (issue 21 §4).
    firebase_tenant_id: str | None = None
    # The scheduled relay poll (RelayPollFunction, EnableRelay): the workflow maps it watches
    # (relay.json's `maps`, JSON; empty: every map), their default stage and the tenant its
    # events name. Its state is a control item of RecordsTable.
    relay_maps: str = ""
    relay_default_stage: str = "task"
    relay_tenant: str = ""
    # The OTDS sign-in bridge (SignInFunction, docs/sign-in.md); unset unless OtdsBaseUrl is.
    otds_base_url: str = ""
    otds_client_id: str = ""
    otds_secret_id: str = ""
    otds_scope: str = ""
    otds_login_attribute: str = "name"
    otds_partition_suffix: str = "strip"
    otds_partitions: str = ""
    sign_in_redirect_uri: str = ""
    sign_in_firebase_secret_id: str = ""
    # Local stack only: never set by template.yaml, and refused anywhere else (LOCAL_ONLY).
    identity_toolkit_url: str | None = None
    routing_file: str | None = None
    fcm_base_url: str | None = None
    firebase_certs_url: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """`Settings(...)` is exactly the values given (tests, builders); only `from_env` reads
        the environment, so nothing a test or the local stack left there leaks in."""
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values: Any) -> Any:
        """A blank variable counts as unset: the field's default, or "required" when none."""
        if not isinstance(values, dict):
            return values
        return {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}

    @field_validator("app_base_url", "ecm_base_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        """Deep links and REST paths are joined with "/"."""
        return url.rstrip("/")

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of this environment, refusing local-only variables outside the local
        stack; pydantic's errors become one `ConfigurationError` naming the variable."""
        refuse_local_only_outside_the_local_stack()
        try:
            return cls(**EnvSettingsSource(cls)())
        except ValidationError as exc:
            raise ConfigurationError(_explain(exc)) from exc


def _explain(exc: ValidationError) -> str:
    """The first error in the words of the deployment: which variable, and what is wrong."""
    error = exc.errors()[0]
    name = variable(str(error["loc"][0])) if error["loc"] else ENV_PREFIX
    if error["type"] == "missing":
        return f"environment variable {name} is required"
    if error["type"].startswith("int_"):
        return f"environment variable {name} must be an integer"
    return f"environment variable {name}: {error['msg']}"


# Endpoints and files that replace what ecmpush trusts (Google's ID-token certificates, the
# Identity Toolkit, FCM, the operator's routing parameter): whoever sets one of these on a
# deployed function decides whose ID tokens are valid or who is notified (issue 20, finding 10).
LOCAL_ONLY = ("identity_toolkit_url", "routing_file", "fcm_base_url", "firebase_certs_url")
LOCAL_STACK_MARKER = "ECMPUSH_LOCAL_STACK"
# Set by Lambda in every execution environment (and by `sam local`), and reserved: a function's
# configuration can neither set nor remove them, so the marker alone cannot make a deployed
# function count as local.
LAMBDA_RUNTIME_VARIABLES = (
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
)


def running_in_local_stack() -> bool:
    """True only in devstack's in-process runtime: it sets the marker, and none of the variables
    Lambda itself sets is present."""
    marked = os.environ.get(LOCAL_STACK_MARKER, "").strip() == "1"
    return marked and not any(os.environ.get(name) for name in LAMBDA_RUNTIME_VARIABLES)


def refuse_local_only_outside_the_local_stack() -> None:
    """The cold start fails, naming the variable, when a local-only variable is set anywhere but
    the local stack: a deployment never needs one, so one there is a mistake or an attack."""
    if running_in_local_stack():
        return
    # pydantic-settings matches names case-insensitively, so the refusal does too.
    present = {name.upper() for name, value in os.environ.items() if value.strip()}
    for name in (variable(field_name) for field_name in LOCAL_ONLY):
        if name in present:
            raise ConfigurationError(
                f"environment variable {name} is for the local stack only and is refused here "
                f"(it would replace an endpoint or file ecmpush trusts); remove it"
            )


def variable(field_name: str) -> str:
    """The environment variable a Settings field is read from (docs/resources.md)."""
    return f"{ENV_PREFIX}{field_name.upper()}"


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The container's settings; tests call `settings.cache_clear()` after changing the env."""
    return Settings.from_env()
