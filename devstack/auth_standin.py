"""A stand-in for the Firebase Authentication REST endpoints the Firebase JS SDK calls for a
custom-token sign-in, issuing **real RS256 ID tokens** signed by the local Secure Token key.

The web client runs the production sign-in code (`signInWithCustomToken`, then
`user.getIdToken()`); only `connectAuthEmulator` points the SDK here instead of Google. Unlike
the Firebase Auth emulator, whose tokens are unsigned, these tokens pass the API's
firebase-admin verification (signature, `kid`, audience, issuer, expiry) unchanged.

Endpoints (paths as the SDK builds them in emulator mode, `?key=<apiKey>` required):
- `POST /identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken` `{token}`: the custom
  token must be signed by the project's service account for the Identity Toolkit audience, as
  firebase-admin's `auth.create_custom_token` makes it; its developer `claims` become claims of
  the ID token, as Firebase does.
- `POST /identitytoolkit.googleapis.com/v1/accounts:lookup` `{idToken}`: the user record.
- `POST /securetoken.googleapis.com/v1/token` (form `grant_type=refresh_token`): a fresh ID
  token for a refresh token this stand-in issued.

Refused as Firebase documents it (REST reference, "Exchange custom token" / "Exchange a refresh
token" / "Get user data"; issue 21 §4): a disabled user's sign-in and refresh are
`USER_DISABLED`, a refresh token issued before the user's `validSince` (sessions revoked) is
`TOKEN_EXPIRED`, a deleted user's refresh `USER_NOT_FOUND`; a lookup with an ID token issued
before `validSince` is `INVALID_ID_TOKEN`. A custom-token sign-in of a deleted uid creates the
user anew, as Firebase does. Errors have each API's shape: Identity Toolkit
`{"error": {"code", "message", "errors": [{"message", "domain": "global", "reason"}]}}`,
Secure Token `{"error": {"code", "message", "status": "INVALID_ARGUMENT"}}`; the message is the
code the client SDKs map (`USER_DISABLED` → `auth/user-disabled`, `TOKEN_EXPIRED` →
`auth/user-token-expired`).

Admin endpoints (what firebase-admin's `auth.get_user`, `revoke_refresh_tokens` and
`update_user(disabled=...)` call, `_user_mgt.UserManager`; OAuth bearer token from the FCM
stand-in's token endpoint required, no API key):
- `POST /identitytoolkit.googleapis.com/v1/projects/{p}/accounts:lookup` `{localId: [uid]}` →
  `{users: [{localId, disabled, validSince (epoch seconds, a string), createdAt, lastLoginAt}]}`.
  Every uid exists here (the local identity mints tokens for any name) unless deleted.
- `POST …/projects/{p}/accounts:update` `{localId, validSince?, disableUser?}` → `{localId}`:
  revoking a user's tokens (validSince = now) or disabling them.
- `POST …/projects/{p}/accounts:delete` `{localId}`: the user is gone (lookup answers no users).
- The same under `…/projects/{p}/tenants/{t}/`: an Identity Platform tenant's users, apart from
  the project's (a uid is unique within its tenant only). A custom token's `tenant_id` (what
  a tenant-scoped `create_custom_token` writes) signs the user into that tenant: the ID token
  carries `firebase.tenant`; a request `tenantId` that differs is `TENANT_ID_MISMATCH`."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from google.auth import jwt
from werkzeug.wrappers import Request, Response

from devstack.http_server import json_response as _json
from devstack.identity import LocalIdentity

CUSTOM_TOKEN_AUDIENCE = (
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
)
LOCAL_API_KEY = "local-api-key"
ID_TOKEN_SECONDS = 3600
# Claims Firebase reserves; a custom token carrying one as a developer claim is refused.
RESERVED_CLAIMS = frozenset(
    {"acr", "amr", "at_hash", "aud", "auth_time", "azp", "cnf", "c_hash", "exp", "firebase"}
    | {"iat", "iss", "jti", "nbf", "nonce", "sub"}
)
_SDK_HEADERS = "Content-Type, X-Client-Version, X-Firebase-gmpid, X-Firebase-Client, "
_SDK_HEADERS += "X-Firebase-AppCheck, X-Firebase-Locale"


@dataclass
class _User:
    valid_since: int = 0  # epoch seconds; tokens issued before are revoked
    disabled: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class _Session:
    uid: str
    claims: dict[str, Any]
    signed_in_at: int  # epoch seconds: the refresh token's issue time, and auth_time
    tenant: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.tenant or "", self.uid)


_ADMIN_PATH = re.compile(
    r"/identitytoolkit\.googleapis\.com/v1/projects/([^/]+)(?:/tenants/([^/]+))?/(accounts:\w+)"
)


def _google_error(code: int, status: str, message: str) -> dict[str, Any]:
    """Google APIs' error shape, which firebase-admin reads (`error.status`, `error.message`)."""
    return {"error": {"code": code, "message": message, "status": status}}


class _AuthError(Exception):
    """Answered as Firebase Auth does, with a message code (`_error_body` gives the shape)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _error_body(path: str, error: _AuthError) -> dict[str, Any]:
    """The Secure Token API answers Google's plain shape with `status`; the Identity Toolkit's
    v1 `accounts:*` methods list the error under `errors` (the REST reference's "Error
    response format")."""
    body: dict[str, Any] = {"code": error.status, "message": error.message}
    if path.startswith("/securetoken.googleapis.com/"):
        body["status"] = "NOT_FOUND" if error.status == 404 else "INVALID_ARGUMENT"
    else:
        reason = "notFound" if error.status == 404 else "invalid"
        body["errors"] = [{"message": error.message, "domain": "global", "reason": reason}]
    return {"error": body}


class AuthStandIn:
    """WSGI app; mount it at both `/identitytoolkit.googleapis.com` and
    `/securetoken.googleapis.com` (it reads the full path, mount point included)."""

    def __init__(
        self,
        identity: LocalIdentity,
        api_key: str = LOCAL_API_KEY,
        access_token_valid: Callable[[str], bool] = lambda _: False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.identity = identity
        self.api_key = api_key
        self._access_token_valid = access_token_valid  # the FCM stand-in's OAuth tokens
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}  # refresh token → who signed in
        self._users: dict[tuple[str, str], _User] = {}  # (tenant or "", uid) → record
        self._admin = {
            "accounts:lookup": self._admin_lookup,
            "accounts:update": self._admin_update,
            "accounts:delete": self._admin_delete,
        }
        self._routes = {
            "/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken": self._sign_in,
            "/identitytoolkit.googleapis.com/v1/accounts:lookup": self._lookup,
            "/securetoken.googleapis.com/v1/token": self._refresh,
        }

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.method == "OPTIONS":
            response = Response(status=204)
        else:
            response = self._answer(request, request.script_root + request.path)
        response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "*")
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = _SDK_HEADERS
        response.headers["Vary"] = "Origin"
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _answer(self, request: Request, path: str) -> Response:
        admin = _ADMIN_PATH.fullmatch(path)
        if admin and request.method == "POST" and admin[3] in self._admin:
            return self._admin_answer(request, admin[1], admin[2], admin[3])
        handler = self._routes.get(path)
        try:
            if handler is None or request.method != "POST":
                raise _AuthError("NOT_FOUND", 404)
            if request.args.get("key") != self.api_key:
                raise _AuthError("API key not valid. Please pass a valid API key.")
            return _json(handler(request))
        except _AuthError as exc:
            return _json(_error_body(path, exc), exc.status)

    def _sign_in(self, request: Request) -> dict[str, Any]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("token"), str):
            raise _AuthError("MISSING_CUSTOM_TOKEN")
        try:
            claims = jwt.decode(  # type: ignore[no-untyped-call]
                body["token"],
                certs=self.identity.service_account_certs(),
                audience=CUSTOM_TOKEN_AUDIENCE,
            )
        except ValueError as exc:
            raise _AuthError("INVALID_CUSTOM_TOKEN") from exc
        uid = claims.get("uid")
        developer_claims = claims.get("claims") or {}
        if (
            claims.get("iss") != self.identity.client_email
            or not isinstance(uid, str)
            or not 1 <= len(uid) <= 128
            or not isinstance(developer_claims, dict)
            or RESERVED_CLAIMS & set(developer_claims)
        ):
            raise _AuthError("INVALID_CUSTOM_TOKEN")
        tenant = claims.get("tenant_id")
        if tenant != body.get("tenantId", tenant):
            raise _AuthError("TENANT_ID_MISMATCH")
        now = int(self._clock())
        with self._lock:
            session = _Session(uid, developer_claims, now, tenant)
            user = self._users.get(session.key)
            if user is not None and user.deleted:
                user = self._users[session.key] = _User()  # a custom token creates it anew
            if user is not None and user.disabled:
                raise _AuthError("USER_DISABLED")
            refresh_token = secrets.token_urlsafe(48)
            self._sessions[refresh_token] = session
        return {
            "kind": "identitytoolkit#VerifyCustomTokenResponse",
            "idToken": self._id_token(session, now),
            "refreshToken": refresh_token,
            "expiresIn": str(ID_TOKEN_SECONDS),
            "isNewUser": False,
        }

    def _lookup(self, request: Request) -> dict[str, Any]:
        body = request.get_json(silent=True)
        token = body.get("idToken") if isinstance(body, dict) else None
        try:
            claims = jwt.decode(  # type: ignore[no-untyped-call]
                token or "", certs=self.identity.certs(), audience=self.identity.project_id
            )
        except ValueError as exc:
            raise _AuthError("INVALID_ID_TOKEN") from exc
        firebase = claims.get("firebase")
        tenant = firebase.get("tenant") if isinstance(firebase, dict) else None
        with self._lock:
            user = self._users.get((tenant or "", claims["sub"]), _User())
        if user.deleted:
            raise _AuthError("USER_NOT_FOUND")
        if int(claims.get("iat", 0)) < user.valid_since:
            raise _AuthError("INVALID_ID_TOKEN")  # "the user must sign in again"
        now_ms = str(int(self._clock() * 1000))
        return {
            "kind": "identitytoolkit#GetAccountInfoResponse",
            "users": [
                {
                    "localId": claims["sub"],
                    "disabled": user.disabled,
                    "validSince": str(user.valid_since),
                    "lastLoginAt": now_ms,
                    "createdAt": now_ms,
                    "customAuth": True,
                    "customAttributes": json.dumps(
                        {k: v for k, v in claims.items() if k in ("ecm_user", "ecm_external")}
                    ),
                }
            ],
        }

    # -- admin (firebase-admin's UserManager) -------------------------------------------------

    def _admin_answer(
        self, request: Request, project: str, tenant: str | None, name: str
    ) -> Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self._access_token_valid(token.strip()):
            return _json(
                _google_error(401, "UNAUTHENTICATED", "Request had invalid credentials."), 401
            )
        if project != self.identity.project_id:
            return _json(_google_error(403, "PERMISSION_DENIED", "CONFIGURATION_NOT_FOUND"), 403)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _json(_google_error(400, "INVALID_ARGUMENT", "INVALID_JSON"), 400)
        try:
            return _json(self._admin[name](tenant or "", body))
        except _AuthError as exc:
            return _json(_google_error(exc.status, "INVALID_ARGUMENT", exc.message), exc.status)

    def _user(self, tenant: str, uid: Any) -> tuple[str, _User]:
        if not isinstance(uid, str) or not 1 <= len(uid) <= 128:
            raise _AuthError("INVALID_LOCAL_ID")
        with self._lock:
            return uid, self._users.setdefault((tenant, uid), _User())

    def _admin_lookup(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("localId")
        if not isinstance(ids, list) or not ids:
            raise _AuthError("MISSING_LOCAL_ID")
        users = []
        for raw in ids:
            uid, user = self._user(tenant, raw)
            if user.deleted:
                continue
            users.append(
                {
                    "localId": uid,
                    "disabled": user.disabled,
                    "validSince": str(user.valid_since),
                    "createdAt": "0",
                    "lastLoginAt": str(int(self._clock() * 1000)),
                    "customAuth": True,
                }
            )
        return (
            {"kind": "identitytoolkit#GetAccountInfoResponse", "users": users}
            if users
            else {"kind": "identitytoolkit#GetAccountInfoResponse"}
        )

    def _admin_update(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        uid, user = self._user(tenant, body.get("localId"))
        with self._lock:
            if user.deleted:
                raise _AuthError("USER_NOT_FOUND")
            if "validSince" in body:
                user.valid_since = int(body["validSince"])
            if "disableUser" in body:
                user.disabled = bool(body["disableUser"])
        return {"kind": "identitytoolkit#SetAccountInfoResponse", "localId": uid}

    def _admin_delete(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        _, user = self._user(tenant, body.get("localId"))
        with self._lock:
            user.deleted = True
        return {"kind": "identitytoolkit#DeleteAccountResponse"}

    def _refresh(self, request: Request) -> dict[str, Any]:
        if request.form.get("grant_type") != "refresh_token":
            raise _AuthError("INVALID_GRANT_TYPE")
        refresh_token = request.form.get("refresh_token", "")
        with self._lock:
            session = self._sessions.get(refresh_token)
            user = self._users.get(session.key, _User()) if session is not None else _User()
        if session is None:
            raise _AuthError("INVALID_REFRESH_TOKEN")
        if user.deleted:
            raise _AuthError("USER_NOT_FOUND")
        if user.disabled:
            raise _AuthError("USER_DISABLED")
        if session.signed_in_at < user.valid_since:
            raise _AuthError("TOKEN_EXPIRED")  # sessions revoked after this sign-in
        id_token = self._id_token(session, int(self._clock()))
        return {
            "access_token": id_token,
            "expires_in": str(ID_TOKEN_SECONDS),
            "token_type": "Bearer",
            "refresh_token": refresh_token,
            "id_token": id_token,
            "user_id": session.uid,
            "project_id": self.identity.project_id,
        }

    def _id_token(self, session: _Session, now: int) -> str:
        """Issued `now`; `auth_time` stays the sign-in's, as Firebase keeps it."""
        return self.identity.mint_id_token(
            None,
            uid=session.uid,
            expires_in=ID_TOKEN_SECONDS,
            issued_at=now,
            tenant=session.tenant,
            extra_claims={**session.claims, "auth_time": session.signed_in_at},
        )
