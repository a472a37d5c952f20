"""The secrets every function reads: the webhook HMAC secrets, the action-token keys (each
with a rate-limited fresh read for a key rotated in after the cache was filled), and the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecmpush.components import component
from ecmpush.settings import settings

if TYPE_CHECKING:
    from ecmpush.adapters.secrets import SecretStore


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
