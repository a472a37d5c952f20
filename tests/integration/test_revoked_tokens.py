"""Issue 9, finding 6, and issue 21 §4: revoked ID tokens. With revocation checks configured (the
operator's `FirebaseAuthSecretArn`), the API reads the caller's user record from Firebase
Authentication (Identity Toolkit `accounts:lookup`, here the devstack stand-in, driven through
firebase-admin's own admin calls): a token issued before the user's sessions were revoked, or of
a disabled or deleted user, is 401 and nothing is stored or applied.

A request that changes something sees a revocation at once with the default settings, however
warm the container's cache (`RevocationCacheSeconds` = 0, what the SDK's `check_revoked` does);
reads may use a record cached for `ReadRevocationCacheSeconds` (60 s)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import firebase_admin
import pytest
from firebase_admin import auth, credentials, tenant_mgt

from devstack.auth_standin import AuthStandIn
from ecmpush import bootstrap
from ecmpush.adapters.firebase_app import get_verifier_app
from tests.integration.harness import Harness, Reply
from tests.integration.test_response_callback import APPROVAL, _ecm_task, _push

pytestmark = pytest.mark.revocation_check

UID = "local-asmith"  # what the local identity names asmith's Firebase user


@pytest.fixture
def admin(harness: Harness, identity_toolkit: tuple[AuthStandIn, str]) -> Iterator[Any]:
    """An operator's firebase-admin App on the same Identity Toolkit, to revoke and disable.
    asmith starts enabled, with tokens valid from a minute ago."""
    info = harness.identity.service_account_info(harness.fcm.token_uri)
    app = get_verifier_app(
        harness.identity.project_id,
        credential=credentials.Certificate(info),
        certs_url=harness.fcm.certs_url,
        identity_toolkit_url=identity_toolkit[1],
        http_timeout=5,
    )
    auth.update_user(UID, disabled=False, valid_since=int(time.time()) - 60, app=app)
    yield app
    firebase_admin.delete_app(app)


def _token(h: Harness) -> str:
    """asmith's token from before anything a test revokes (the revocation's `validSince` has
    whole seconds: a token from the same second would count as issued after it)."""
    return h.identity.mint_id_token("asmith", issued_at=int(time.time()) - 30)


def _register(h: Harness, bearer: str, installation: str = "asmith-tablet-7f3a9c2e41") -> Reply:
    body = {"token": f"fcm-{installation}", "platform": "android"}
    return h.device_call("PUT", installation, body, bearer=bearer)


def _read(h: Harness, bearer: str) -> Reply:
    return h.app_call(h.devices_fn, "GET", "/me/preferences", bearer=bearer)


def test_a_token_issued_before_the_revocation_is_401_and_registers_nothing(
    harness: Harness, admin: Any
) -> None:
    old = _token(harness)
    auth.revoke_refresh_tokens(UID, app=admin)
    reply = _register(harness, old)
    assert reply.status == 401, reply
    assert harness.devices_of("asmith") == []
    fresh = harness.identity.mint_id_token("asmith")  # signed in again after the revocation
    assert _register(harness, fresh).status == 201
    assert len(harness.devices_of("asmith")) == 1


def test_the_next_write_sees_a_revocation_at_once_however_warm_the_cache(
    harness: Harness, admin: Any
) -> None:
    token = _token(harness)
    assert _register(harness, token).status == 201  # the container now holds asmith's record
    auth.revoke_refresh_tokens(UID, app=admin)
    assert _register(harness, token, "asmith-laptop-9c2e417f3a").status == 401
    assert harness.device_call("DELETE", "asmith-tablet-7f3a9c2e41", bearer=token).status == 401
    assert [d["installation_id"] for d in harness.devices_of("asmith")] == [
        "asmith-tablet-7f3a9c2e41"
    ]


def test_a_revoked_token_cannot_answer_a_push(harness: Harness, admin: Any) -> None:
    token = _token(harness)
    data = _push(harness, APPROVAL)  # registers asmith's phone: her record is cached
    auth.revoke_refresh_tokens(UID, app=admin)
    body = {"action_token": data["action_token"], "action": "approve"}
    reply = harness.reply(body, bearer=token)
    assert reply.status == 401, reply
    assert _ecm_task(harness, APPROVAL)["status"] == "open"
    key = {"notification_id": data["notification_id"], "sk": "r#asmith"}
    assert "Item" not in harness.table("DeliveriesTable").get_item(Key=key)
    queued = harness.sqs.receive_message(QueueUrl=harness.write_back_url)
    assert queued.get("Messages", []) == []


def test_the_next_write_of_a_disabled_user_is_401_at_once(harness: Harness, admin: Any) -> None:
    token = harness.identity.mint_id_token("asmith")
    assert _register(harness, token).status == 201
    auth.update_user(UID, disabled=True, app=admin)
    assert _register(harness, token, "asmith-laptop-9c2e417f3a").status == 401
    prefs = {"muted_categories": ["expiry"]}
    put = harness.app_call(harness.devices_fn, "PUT", "/me/preferences", prefs, bearer=token)
    assert put.status == 401
    assert len(harness.devices_of("asmith")) == 1


def test_reads_may_use_the_cached_record_until_a_write_or_the_bound_refreshes_it(
    harness: Harness, admin: Any
) -> None:
    token = _token(harness)
    assert _read(harness, token).status == 200
    verifier = bootstrap.build_id_token_verifier()
    assert verifier.lookups == 1  # type: ignore[attr-defined]
    auth.revoke_refresh_tokens(UID, app=admin)
    # Within ReadRevocationCacheSeconds a read trusts the record it has (documented bound).
    assert _read(harness, token).status == 200
    assert verifier.lookups == 1  # type: ignore[attr-defined]
    # A write reads the record again, and reads then see the revocation too.
    assert _register(harness, token).status == 401
    assert _read(harness, token).status == 401
    assert verifier.lookups == 2  # type: ignore[attr-defined]


def test_reads_see_a_revocation_at_once_with_a_read_bound_of_0(
    harness: Harness, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECMPUSH_READ_REVOCATION_CACHE_SECONDS", "0")
    bootstrap.reset()
    token = _token(harness)
    assert _read(harness, token).status == 200
    auth.update_user(UID, disabled=True, app=admin)
    assert _read(harness, token).status == 401


def test_an_operator_bound_lets_writes_trust_a_recent_record(
    harness: Harness, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`RevocationCacheSeconds` > 0 trades the at-once check for fewer lookups: within the
    bound a write trusts the record it read last."""
    monkeypatch.setenv("ECMPUSH_REVOCATION_CACHE_SECONDS", "300")
    bootstrap.reset()
    token = _token(harness)
    assert _register(harness, token).status == 201
    auth.revoke_refresh_tokens(UID, app=admin)
    assert _register(harness, token, "asmith-laptop-9c2e417f3a").status == 201
    assert bootstrap.build_id_token_verifier().lookups == 1  # type: ignore[attr-defined]


def test_every_write_reads_the_record_and_reads_once_per_bound(
    harness: Harness, admin: Any
) -> None:
    token = harness.identity.mint_id_token("asmith")
    verifier = bootstrap.build_id_token_verifier()
    assert _read(harness, token).status == 200
    assert _read(harness, token).status == 200
    assert verifier.lookups == 1  # type: ignore[attr-defined]
    assert _register(harness, token, "asmith-tablet-aaaaaaaaaaaa").status == 201
    assert _register(harness, token, "asmith-tablet-bbbbbbbbbbbb").status == 201
    assert verifier.lookups == 3  # type: ignore[attr-defined]


def test_identity_toolkit_down_fails_closed_with_503(
    harness: Harness, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECMPUSH_IDENTITY_TOOLKIT_URL", "http://127.0.0.1:9/v1")
    bootstrap.reset()
    reply = _register(harness, harness.identity.mint_id_token("asmith"))
    assert reply.status == 503
    assert reply.headers.get("Retry-After") == "5"
    assert harness.devices_of("asmith") == []


def test_with_a_tenant_the_record_is_read_in_that_tenant(
    harness: Harness,
    admin: Any,
    identity_toolkit: tuple[AuthStandIn, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Identity Platform: a uid is unique within its tenant only. Revoking the project-level
    `local-asmith` must not touch the tenant's `local-asmith`, and revoking the tenant's must."""
    tenant = "field-crews-x7k2p"
    monkeypatch.setenv("ECMPUSH_FIREBASE_TENANT_ID", tenant)
    bootstrap.reset()
    info = harness.identity.service_account_info(harness.fcm.token_uri)
    operator = get_verifier_app(
        harness.identity.project_id,
        credential=credentials.Certificate(info),
        certs_url=harness.fcm.certs_url,
        identity_toolkit_url=identity_toolkit[1],
        http_timeout=5,
        tenant_id=tenant,
    )
    in_tenant = tenant_mgt.auth_for_tenant(tenant, app=operator)
    try:
        in_tenant.update_user(UID, disabled=False, valid_since=int(time.time()) - 60)
        token = harness.identity.mint_id_token(
            "asmith", tenant=tenant, issued_at=int(time.time()) - 30
        )
        auth.revoke_refresh_tokens(UID, app=admin)  # the project's user, not the tenant's
        assert _register(harness, token).status == 201
        in_tenant.revoke_refresh_tokens(UID)
        assert _register(harness, token, "asmith-laptop-9c2e417f3a").status == 401
        assert len(harness.devices_of("asmith")) == 1
    finally:
        firebase_admin.delete_app(operator)
