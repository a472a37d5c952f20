"""The Firebase ID-token verifier of the app-facing API functions (devices, response callback):
a verify-only App, never the FCM sender's key (issue 9)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecmpush.bootstrap.cache import cached
from ecmpush.bootstrap.parts import build_secret_store
from ecmpush.settings import Settings, settings

if TYPE_CHECKING:
    from ecmpush.ports import IdTokenVerifier


@cached
def build_id_token_verifier(config: Settings | None = None) -> IdTokenVerifier:
    """ID-token verification needs the project id; revocation checks a service account that may
    only read users (Firebase Authentication Viewer), when one is configured."""
    from firebase_admin import credentials

    from ecmpush.adapters.firebase_app import get_verifier_app
    from ecmpush.adapters.id_token_verifier import FirebaseIdTokenVerifier

    config = config or settings()
    credential = None
    if config.firebase_auth_secret_id:
        viewer = build_secret_store().json(config.firebase_auth_secret_id)
        credential = credentials.Certificate(viewer)
    app = get_verifier_app(
        config.firebase_project_id,
        credential=credential,
        certs_url=config.firebase_certs_url,
        identity_toolkit_url=config.identity_toolkit_url,
        tenant_id=config.firebase_tenant_id,
    )
    return FirebaseIdTokenVerifier(
        app,
        ecm_user_claim=config.ecm_user_claim,
        external_id_claim=config.external_id_claim,
        revocation_cache_seconds=(
            config.revocation_cache_seconds if config.firebase_auth_secret_id else None
        ),
        read_revocation_cache_seconds=config.read_revocation_cache_seconds,
        tenant_id=config.firebase_tenant_id,
    )
