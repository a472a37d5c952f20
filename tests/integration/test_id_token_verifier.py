"""FirebaseIdTokenVerifier through firebase-admin's real verification (RS256 signature against
certificates fetched over HTTP from the stand-in, kid, aud, iss, sub, expiry)."""

from __future__ import annotations

import time
from pathlib import Path

import firebase_admin
import pytest
from google.auth import crypt, jwt

from devstack.fcm_standin import RunningFcmStandIn
from devstack.identity import LocalIdentity
from ecmpush import bootstrap
from ecmpush.adapters.firebase_app import get_firebase_app
from ecmpush.adapters.id_token_verifier import FirebaseIdTokenVerifier
from ecmpush.domain.identity import Principal, Unauthenticated
from tests.integration.harness import Harness

EMULATOR_ENV = "FIREBASE_AUTH_EMULATOR_HOST"  # what makes firebase-admin skip the checks


@pytest.fixture
def verifier(
    firebase_app: firebase_admin.App, fcm_standin: RunningFcmStandIn
) -> FirebaseIdTokenVerifier:
    return FirebaseIdTokenVerifier(firebase_app)


def forge(claims_from: str, key_pem: str, kid: str) -> str:
    """Re-sign the claims of `claims_from` with another key under the given kid."""
    claims = jwt.decode(claims_from, verify=False)
    signer = crypt.RSASigner.from_string(key_pem, key_id=kid)
    token: bytes = jwt.encode(signer, claims)
    return token.decode()


def test_valid_token_gives_the_ecm_user(
    verifier: FirebaseIdTokenVerifier, local_identity: LocalIdentity
) -> None:
    principal = verifier.verify(local_identity.mint_id_token("alice"))
    assert principal == Principal(uid="local-alice", ecm_user="alice", external_id=None)
    assert principal.owner == "alice"


def test_external_stakeholder_token(
    verifier: FirebaseIdTokenVerifier, local_identity: LocalIdentity
) -> None:
    token = local_identity.mint_id_token(None, external_id="CUST-42", uid="u-ext")
    principal = verifier.verify(f"Bearer {token}")
    assert principal == Principal(uid="u-ext", ecm_user=None, external_id="CUST-42")
    assert principal.owner == "ext:CUST-42"


def test_claim_names_are_configurable(
    firebase_app: firebase_admin.App, local_identity: LocalIdentity
) -> None:
    verifier = FirebaseIdTokenVerifier(firebase_app, ecm_user_claim="otcs_user")
    token = local_identity.mint_id_token(None, extra_claims={"otcs_user": "bob"})
    assert verifier.verify(token).ecm_user == "bob"


def test_clock_skew_is_tolerated(
    verifier: FirebaseIdTokenVerifier, local_identity: LocalIdentity
) -> None:
    token = local_identity.mint_id_token("alice", issued_at=int(time.time()) - 3602)
    assert verifier.verify(token).ecm_user == "alice"


def make_bad_token(case: str, identity: LocalIdentity, tmp_path: Path) -> str:
    now = int(time.time())
    if case == "expired":
        return identity.mint_id_token("alice", issued_at=now - 7200)
    if case == "issued_in_future":
        return identity.mint_id_token("alice", issued_at=now + 600)
    if case == "wrong_audience":
        return identity.mint_id_token("alice", extra_claims={"aud": "another-project"})
    if case == "wrong_issuer":
        return identity.mint_id_token(
            "alice", extra_claims={"iss": "https://securetoken.google.com/another-project"}
        )
    if case == "empty_subject":
        return identity.mint_id_token("alice", uid="")
    stranger = LocalIdentity.load_or_create(tmp_path)
    if case == "other_key_same_kid":
        return forge(identity.mint_id_token("alice"), stranger.id_token_key_pem, identity.kid)
    if case == "unknown_kid":
        return stranger.mint_id_token("alice")
    if case == "no_claims":
        return identity.mint_id_token(None)
    if case == "tampered":
        head, _, signature = identity.mint_id_token("alice").split(".")
        other_payload = stranger.mint_id_token("mallory").split(".")[1]
        return ".".join((head, other_payload, signature))
    assert case == "garbage"
    return "not.a.jwt-at-all"


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "issued_in_future",
        "wrong_audience",
        "wrong_issuer",
        "empty_subject",
        "other_key_same_kid",
        "unknown_kid",
        "tampered",
        "no_claims",
        "garbage",
    ],
)
def test_bad_tokens_are_unauthenticated(
    verifier: FirebaseIdTokenVerifier, local_identity: LocalIdentity, tmp_path: Path, case: str
) -> None:
    token = make_bad_token(case, local_identity, tmp_path)
    with pytest.raises(Unauthenticated) as raised:
        verifier.verify(token)
    assert token not in str(raised.value)
    # SDK messages can quote the token, so the SDK exception is not chained either.
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__


def test_expired_reason_is_specific(
    verifier: FirebaseIdTokenVerifier, local_identity: LocalIdentity
) -> None:
    token = local_identity.mint_id_token("alice", issued_at=int(time.time()) - 7200)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


@pytest.mark.parametrize("value", ["", "   ", "Bearer "])
def test_missing_token(verifier: FirebaseIdTokenVerifier, value: str) -> None:
    with pytest.raises(Unauthenticated, match="missing"):
        verifier.verify(value)


def test_certificate_fetch_failure_is_unauthenticated(
    local_identity: LocalIdentity, fcm_standin: RunningFcmStandIn
) -> None:
    app = get_firebase_app(
        local_identity.service_account_info(fcm_standin.token_uri),
        fcm_base_url=fcm_standin.url,
        certs_url=f"{fcm_standin.url}/robot/v1/metadata/x509/nobody@example.com",  # 404
    )
    try:
        with pytest.raises(Unauthenticated, match="certificates"):
            FirebaseIdTokenVerifier(app).verify(local_identity.mint_id_token("alice"))
    finally:
        firebase_admin.delete_app(app)


def test_refuses_to_run_with_the_auth_emulator_variable(
    verifier: FirebaseIdTokenVerifier,
    local_identity: LocalIdentity,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(EMULATOR_ENV, "127.0.0.1:9099")
    with pytest.raises(RuntimeError, match="Auth emulator"):
        verifier.verify(local_identity.mint_id_token("alice"))


def test_the_sdks_emulator_test_is_the_one_the_verifier_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The verifier asks the SDK's private `_auth_utils.is_emulated` (deployable code never names
    the emulator variable); this pins that the pinned SDK has it and that it reads Firebase's
    documented variable."""
    from firebase_admin import _auth_utils

    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    assert _auth_utils.is_emulated() is False
    monkeypatch.setenv(EMULATOR_ENV, "127.0.0.1:9099")
    assert _auth_utils.is_emulated() is True


def test_verify_only_app_checks_tokens_without_any_credential(
    local_identity: LocalIdentity, fcm_standin: RunningFcmStandIn
) -> None:
    """What the API functions use (issue 9): the project id and Google's certificates, no
    service account; anything that would need a credential fails by name."""
    from firebase_admin import auth

    from ecmpush.adapters.firebase_app import get_verifier_app

    app = get_verifier_app(local_identity.project_id, certs_url=fcm_standin.certs_url)
    verifier = FirebaseIdTokenVerifier(app)
    assert verifier.verify(local_identity.mint_id_token("alice")).ecm_user == "alice"
    with pytest.raises(Exception, match="holds no Google credential"):
        auth.get_user("local-alice", app=app)
    assert get_verifier_app(local_identity.project_id, certs_url=fcm_standin.certs_url) is app


# -- Identity Platform tenants (issue 21 §4) ---------------------------------------------------
# Every tenant's tokens share the project's keys, audience and issuer: only `firebase.tenant`
# tells them apart, and the SDK's verify_id_token (not tenant-scoped) does not look at it.

TENANT = "field-crews-x7k2p"


def test_without_a_configured_tenant_a_tenants_token_is_refused(
    verifier: FirebaseIdTokenVerifier, local_identity: LocalIdentity
) -> None:
    with pytest.raises(Unauthenticated, match="another Identity Platform tenant"):
        verifier.verify(local_identity.mint_id_token("alice", tenant=TENANT))
    assert verifier.verify(local_identity.mint_id_token("alice")).ecm_user == "alice"


@pytest.mark.parametrize(
    ("tenant", "refused"),
    [
        (TENANT, None),
        ("other-tenant-q9z3m", "another Identity Platform tenant"),
        (None, "carries no Identity Platform tenant"),
    ],
)
def test_a_configured_tenant_is_pinned(
    firebase_app: firebase_admin.App,
    local_identity: LocalIdentity,
    tenant: str | None,
    refused: str | None,
) -> None:
    verifier = FirebaseIdTokenVerifier(firebase_app, tenant_id=TENANT)
    token = local_identity.mint_id_token("alice", tenant=tenant)
    if refused is None:
        assert verifier.verify(token).ecm_user == "alice"
    else:
        with pytest.raises(Unauthenticated, match=refused):
            verifier.verify(token)


def test_the_api_refuses_a_tenants_token_by_default_and_stores_nothing(harness: Harness) -> None:
    token = harness.identity.mint_id_token("asmith", tenant=TENANT)
    body = {"token": "fcm-tenant-asmith", "platform": "android"}
    assert harness.device_call("PUT", "asmith-tenant-7f3a9c2e41", body, bearer=token).status == 401
    read = harness.app_call(harness.devices_fn, "GET", "/me/preferences", bearer=token)
    assert read.status == 401
    assert harness.devices_of("asmith") == []


def test_the_api_takes_the_configured_tenants_users_only(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECMPUSH_FIREBASE_TENANT_ID", TENANT)
    bootstrap.reset()
    body = {"token": "fcm-tenant-asmith", "platform": "android"}
    project_user = harness.identity.mint_id_token("asmith")
    assert (
        harness.device_call("PUT", "asmith-tenant-7f3a9c2e41", body, bearer=project_user).status
        == 401
    )
    tenant_user = harness.identity.mint_id_token("asmith", tenant=TENANT)
    assert (
        harness.device_call("PUT", "asmith-tenant-7f3a9c2e41", body, bearer=tenant_user).status
        == 201
    )
    assert len(harness.devices_of("asmith")) == 1
