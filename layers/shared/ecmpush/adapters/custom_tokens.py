"""Firebase custom tokens for the sign-in bridge, signed locally with the service account's key
by firebase-admin (`create_custom_token`; a tenant's `auth_for_tenant` when FirebaseTenantId is
set), which the app exchanges for an ID token with `signInWithCustomToken`."""

from __future__ import annotations

from collections.abc import Mapping

import firebase_admin
from firebase_admin import auth, tenant_mgt


class FirebaseCustomTokens:
    def __init__(self, app: firebase_admin.App, tenant_id: str | None = None) -> None:
        self._app = app
        self._tenant_id = tenant_id

    def mint(self, uid: str, claims: Mapping[str, str]) -> str:
        if self._tenant_id:
            client = tenant_mgt.auth_for_tenant(self._tenant_id, app=self._app)
            token: bytes = client.create_custom_token(uid, dict(claims))
        else:
            token = auth.create_custom_token(uid, dict(claims), app=self._app)
        return token.decode("ascii")
