"""The auth stand-in refuses what Firebase Authentication refuses (issue 21 §4), in each API's
error shape: a disabled user's sign-in and refresh (`USER_DISABLED`), a refresh after the user's
sessions were revoked (`TOKEN_EXPIRED`), a deleted user's refresh (`USER_NOT_FOUND`), a lookup
with a revoked ID token (`INVALID_ID_TOKEN`). The admin calls are the ones firebase-admin's
`revoke_refresh_tokens` / `update_user` / `delete_user` send (`accounts:update`, `:delete`)."""

from __future__ import annotations

import time
from typing import Any

import firebase_admin
import pytest
from firebase_admin import credentials, tenant_mgt
from google.auth import jwt
from werkzeug.test import Client

from devstack.auth_standin import LOCAL_API_KEY, AuthStandIn
from devstack.identity import LocalIdentity
from devstack.sign_in_bridge import SignInBridge

TOOLKIT = "/identitytoolkit.googleapis.com/v1"
ADMIN_TOKEN = "admin-access-token"


class _Clock:
    """The stand-in's clock, moved forward by the tests; it starts five minutes back, so the
    tokens it issues are never from the future for the checks that use the real time."""

    def __init__(self) -> None:
        self.start = int(time.time()) - 300
        self.now = float(self.start)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


@pytest.fixture
def client(local_identity: LocalIdentity, clock: _Clock) -> Client:
    standin = AuthStandIn(
        local_identity, access_token_valid=lambda token: token == ADMIN_TOKEN, clock=clock
    )
    return Client(standin)


@pytest.fixture
def bridge(local_identity: LocalIdentity) -> SignInBridge:
    return SignInBridge(local_identity, "http://127.0.0.1:1/token")  # signs locally, no fetch


def _sign_in(client: Client, bridge: SignInBridge, user: str = "asmith") -> Any:
    return client.post(
        f"{TOOLKIT}/accounts:signInWithCustomToken?key={LOCAL_API_KEY}",
        json={"token": bridge.custom_token(user), "returnSecureToken": True},
    )


def _refresh(client: Client, refresh_token: str) -> Any:
    return client.post(
        f"/securetoken.googleapis.com/v1/token?key={LOCAL_API_KEY}",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
    )


def _admin(client: Client, method: str, body: dict[str, Any]) -> None:
    reply = client.post(
        f"{TOOLKIT}/projects/ecmpush-local/{method}",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert reply.status_code == 200, reply.json


def _toolkit_error(code: str) -> dict[str, Any]:
    return {
        "error": {
            "code": 400,
            "message": code,
            "errors": [{"message": code, "domain": "global", "reason": "invalid"}],
        }
    }


def _securetoken_error(code: str) -> dict[str, Any]:
    return {"error": {"code": 400, "message": code, "status": "INVALID_ARGUMENT"}}


def test_a_session_refreshes_with_a_new_iat_and_the_sign_ins_auth_time(
    client: Client, bridge: SignInBridge, clock: _Clock, local_identity: LocalIdentity
) -> None:
    session = _sign_in(client, bridge).json
    clock.now += 60
    reply = _refresh(client, session["refreshToken"])
    assert reply.status_code == 200, reply.json
    claims = jwt.decode(
        reply.json["id_token"], certs=local_identity.certs(), audience="ecmpush-local"
    )
    assert (claims["sub"], claims["ecm_user"]) == ("local-asmith", "asmith")
    assert (claims["iat"], claims["auth_time"]) == (clock.start + 60, clock.start)
    assert reply.json["user_id"] == "local-asmith"


def test_a_disabled_user_can_neither_refresh_nor_sign_in(
    client: Client, bridge: SignInBridge
) -> None:
    session = _sign_in(client, bridge).json
    _admin(client, "accounts:update", {"localId": "local-asmith", "disableUser": True})
    refreshed = _refresh(client, session["refreshToken"])
    assert (refreshed.status_code, refreshed.json) == (400, _securetoken_error("USER_DISABLED"))
    signed_in = _sign_in(client, bridge)
    assert (signed_in.status_code, signed_in.json) == (400, _toolkit_error("USER_DISABLED"))
    assert _sign_in(client, bridge, "bjones").status_code == 200  # only asmith is disabled

    _admin(client, "accounts:update", {"localId": "local-asmith", "disableUser": False})
    assert _refresh(client, session["refreshToken"]).status_code == 200
    assert _sign_in(client, bridge).status_code == 200


def test_after_a_revocation_old_sessions_are_token_expired_and_new_ones_work(
    client: Client, bridge: SignInBridge, clock: _Clock
) -> None:
    old = _sign_in(client, bridge).json
    clock.now += 5
    # What auth.revoke_refresh_tokens sends: validSince = now, in whole seconds.
    _admin(client, "accounts:update", {"localId": "local-asmith", "validSince": int(clock.now)})
    refreshed = _refresh(client, old["refreshToken"])
    assert (refreshed.status_code, refreshed.json) == (400, _securetoken_error("TOKEN_EXPIRED"))
    looked_up: Any = client.post(
        f"{TOOLKIT}/accounts:lookup?key={LOCAL_API_KEY}", json={"idToken": old["idToken"]}
    )
    assert (looked_up.status_code, looked_up.json) == (400, _toolkit_error("INVALID_ID_TOKEN"))

    new = _sign_in(client, bridge).json  # signing in again is what the user must do
    assert _refresh(client, new["refreshToken"]).status_code == 200
    lookup: Any = client.post(
        f"{TOOLKIT}/accounts:lookup?key={LOCAL_API_KEY}", json={"idToken": new["idToken"]}
    )
    [user] = lookup.json["users"]
    assert (user["localId"], user["disabled"], user["validSince"]) == (
        "local-asmith",
        False,
        str(clock.start + 5),
    )


def test_a_deleted_users_session_is_gone_and_a_new_sign_in_creates_the_user_anew(
    client: Client, bridge: SignInBridge
) -> None:
    old = _sign_in(client, bridge).json
    _admin(client, "accounts:delete", {"localId": "local-asmith"})
    refreshed = _refresh(client, old["refreshToken"])
    assert (refreshed.status_code, refreshed.json) == (400, _securetoken_error("USER_NOT_FOUND"))
    assert _sign_in(client, bridge).status_code == 200


def test_unknown_refresh_tokens_and_api_keys_have_each_apis_error_shape(client: Client) -> None:
    refreshed = _refresh(client, "never-issued")
    assert (refreshed.status_code, refreshed.json) == (
        400,
        _securetoken_error("INVALID_REFRESH_TOKEN"),
    )
    wrong_key: Any = client.post(f"{TOOLKIT}/accounts:signInWithCustomToken?key=nope", json={})
    assert wrong_key.status_code == 400
    assert wrong_key.json["error"]["errors"][0]["domain"] == "global"
    assert wrong_key.json["error"]["message"].startswith("API key not valid")


def test_a_tenants_users_are_apart_from_the_projects(
    client: Client, bridge: SignInBridge, local_identity: LocalIdentity
) -> None:
    """A tenant-scoped `create_custom_token` signs the user into that tenant: the ID token
    names it, and disabling the tenant's uid leaves the project's same uid alone."""
    tenant = "field-crews-x7k2p"
    app = firebase_admin.initialize_app(
        credentials.Certificate(local_identity.service_account_info("http://127.0.0.1:1/token")),
        name="test-auth-standin-tenant",
    )
    try:
        custom = tenant_mgt.auth_for_tenant(tenant, app=app).create_custom_token(
            "local-asmith", {"ecm_user": "asmith"}
        )
    finally:
        firebase_admin.delete_app(app)
    url = f"{TOOLKIT}/accounts:signInWithCustomToken?key={LOCAL_API_KEY}"
    mismatch = client.post(url, json={"token": custom.decode(), "tenantId": "other-tenant"})
    assert (mismatch.status_code, mismatch.json) == (400, _toolkit_error("TENANT_ID_MISMATCH"))
    signed_in: Any = client.post(url, json={"token": custom.decode(), "tenantId": tenant})
    assert signed_in.status_code == 200, signed_in.json
    claims = jwt.decode(signed_in.json["idToken"], verify=False)
    assert claims["firebase"]["tenant"] == tenant

    reply = client.post(
        f"{TOOLKIT}/projects/ecmpush-local/tenants/{tenant}/accounts:update",
        json={"localId": "local-asmith", "disableUser": True},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert reply.status_code == 200
    refreshed = _refresh(client, signed_in.json["refreshToken"])
    assert (refreshed.status_code, refreshed.json) == (400, _securetoken_error("USER_DISABLED"))
    assert _sign_in(client, bridge).status_code == 200  # the project's local-asmith
