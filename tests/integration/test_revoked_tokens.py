"""Issue 9, finding 6: revoked ID tokens. With revocation checks configured (the operator's
`FirebaseAuthSecretArn`), a request that changes something reads the caller's user record from
Firebase Authentication (Identity Toolkit `accounts:lookup`, here the devstack stand-in, driven
through firebase-admin's own admin calls): a token issued before the user's sessions were
revoked, or of a disabled or deleted user, is 401 and nothing is stored or applied."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import firebase_admin
import pytest
from firebase_admin import auth, credentials

from devstack.auth_standin import AuthStandIn
from ecmpush import bootstrap
from ecmpush.adapters.firebase_app import get_verifier_app
from tests.integration.harness import Harness
from tests.integration.test_response_callback import APPROVAL, _ecm_task, _push

pytestmark = pytest.mark.revocation_check

UID = "local-asmith"  # what the local identity names asmith's Firebase user


@pytest.fixture
def admin(harness: Harness, identity_toolkit: tuple[AuthStandIn, str]) -> Iterator[Any]:
    """An operator's firebase-admin App on the same Identity Toolkit, to revoke and disable."""
    info = harness.identity.service_account_info(harness.fcm.token_uri)
    app = get_verifier_app(
        harness.identity.project_id,
        credential=credentials.Certificate(info),
        certs_url=harness.fcm.certs_url,
        identity_toolkit_url=identity_toolkit[1],
        http_timeout=5,
    )
    auth.update_user(UID, disabled=False, app=app)
    auth.revoke_refresh_tokens(UID, app=app)  # validSince = now: every earlier token is old
    time.sleep(1.1)
    yield app
    firebase_admin.delete_app(app)


def _register(h: Harness, bearer: str, installation: str = "asmith-tablet-7f3a9c2e41") -> Any:
    body = {"token": f"fcm-{installation}", "platform": "android"}
    return h.device_call("PUT", installation, body, bearer=bearer)


def test_a_token_issued_before_the_revocation_is_401_and_registers_nothing(
    harness: Harness, admin: Any
) -> None:
    old = harness.identity.mint_id_token("asmith", issued_at=int(time.time()) - 30)
    reply = _register(harness, old)
    assert reply.status == 401, reply
    assert harness.devices_of("asmith") == []
    fresh = harness.identity.mint_id_token("asmith")  # signed in again after the revocation
    assert _register(harness, fresh).status == 201
    assert len(harness.devices_of("asmith")) == 1


def test_a_revoked_token_cannot_answer_a_push(harness: Harness, admin: Any) -> None:
    data = _push(harness, APPROVAL)  # registers with a fresh token
    auth.revoke_refresh_tokens(UID, app=admin)
    bootstrap.reset()  # a container whose cached record is older than the revocation
    time.sleep(1.1)
    # Well before the revocation: validSince has whole seconds, so a token 1-2 s older could
    # fall into the same second and still count as issued after it.
    stolen = harness.identity.mint_id_token("asmith", issued_at=int(time.time()) - 5)
    body = {"action_token": data["action_token"], "action": "approve"}
    reply = harness.reply(body, bearer=stolen)
    assert reply.status == 401, reply
    assert _ecm_task(harness, APPROVAL)["status"] == "open"
    key = {"notification_id": data["notification_id"], "sk": "r#asmith"}
    assert "Item" not in harness.table("DeliveriesTable").get_item(Key=key)


def test_a_disabled_user_is_401(harness: Harness, admin: Any) -> None:
    auth.update_user(UID, disabled=True, app=admin)
    reply = _register(harness, harness.identity.mint_id_token("asmith"))
    assert reply.status == 401
    assert harness.devices_of("asmith") == []


def test_reads_do_not_pay_for_a_lookup_and_lookups_are_cached(harness: Harness, admin: Any) -> None:
    token = harness.identity.mint_id_token("asmith")
    me = harness.app_call(harness.devices_fn, "GET", "/me/preferences", bearer=token)
    assert me.status == 200
    verifier = bootstrap.id_token_verifier()
    assert verifier.lookups == 0  # type: ignore[attr-defined]
    assert _register(harness, token, "asmith-tablet-aaaaaaaaaaaa").status == 201
    assert _register(harness, token, "asmith-tablet-bbbbbbbbbbbb").status == 201
    assert verifier.lookups == 1  # type: ignore[attr-defined]


def test_identity_toolkit_down_fails_closed_with_503(
    harness: Harness, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECMPUSH_IDENTITY_TOOLKIT_URL", "http://127.0.0.1:9/v1")
    bootstrap.reset()
    reply = _register(harness, harness.identity.mint_id_token("asmith"))
    assert reply.status == 503
    assert reply.headers.get("Retry-After") == "5"
    assert harness.devices_of("asmith") == []
