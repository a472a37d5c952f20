"""firebase-admin, imported by the first call that sends or verifies: the sending App (only
Dispatch may read the service account) and the verify-only App of the API functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecmpush.bootstrap.secrets import secret_store
from ecmpush.components import component
from ecmpush.settings import settings

if TYPE_CHECKING:
    import firebase_admin

    from ecmpush.ports import IdTokenVerifier, PushSender


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
        tenant_id=config.firebase_tenant_id,
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
        read_revocation_cache_seconds=config.read_revocation_cache_seconds,
        tenant_id=config.firebase_tenant_id,
    )
