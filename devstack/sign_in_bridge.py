"""The local stand-in for an organisation's sign-in bridge: the small backend that, after its own
single sign-on (OTDS, SAML, OIDC) has identified a person, mints a Firebase custom token carrying
the `ecm_user` (or `ecm_external`) claim with firebase-admin, which the web client exchanges for
a Firebase ID token (`signInWithCustomToken`).

Production bridges do exactly the `create_custom_token` call below behind their SSO; this one
trusts the user name typed into the local page, so it exists only in the local stack
(`POST /_devstack/sign-in {"ecm_user": "asmith"}` or `{"external_id": "ext-globex-7"}`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import firebase_admin
from firebase_admin import auth, credentials
from werkzeug.wrappers import Request, Response

from devstack.http_server import json_response as _json
from devstack.identity import LocalIdentity

_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")


class SignInBridge:
    """WSGI app answering `POST /` with `{"custom_token": ...}`."""

    def __init__(self, identity: LocalIdentity, token_uri: str) -> None:
        name = f"devstack-sign-in-{identity.service_account_key_id}"
        try:
            self._app = firebase_admin.get_app(name)
        except ValueError:
            certificate = credentials.Certificate(identity.service_account_info(token_uri))
            self._app = firebase_admin.initialize_app(certificate, name=name)

    def custom_token(self, ecm_user: str | None = None, external_id: str | None = None) -> str:
        if ecm_user is not None:
            uid, claims = f"local-{ecm_user}", {"ecm_user": ecm_user}
        elif external_id is not None:
            uid, claims = f"local-ext-{external_id}", {"ecm_external": external_id}
        else:
            raise ValueError("ecm_user or external_id is required")
        token: bytes = auth.create_custom_token(uid, claims, app=self._app)
        return token.decode("ascii")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self._answer(request)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _answer(self, request: Request) -> Response:
        if request.method != "POST":
            return _json({"message": 'POST {"ecm_user": "<name>"}'}, 405)
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) - {"ecm_user", "external_id"} or len(body) != 1:
            return _json({"message": 'body must be {"ecm_user": ...} or {"external_id": ...}'}, 422)
        value = next(iter(body.values()))
        if not isinstance(value, str) or not _NAME.fullmatch(value):
            return _json({"message": "a user name is 1-64 of A-Z a-z 0-9 . _ @ -"}, 422)
        return _json({"custom_token": self.custom_token(**body)})
