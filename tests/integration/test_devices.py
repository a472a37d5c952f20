"""PUT/DELETE /devices through the real handler with real ID-token verification."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

from tests.integration.harness import Harness, table_unreachable

BODY = {
    "token": "fcm-token-0123456789",
    "platform": "ios",
    "locale": "fr-FR",
    "timezone": "Europe/Paris",
    "app_version": "2.1.0",
}


def test_register_then_refresh(harness: Harness) -> None:
    token = harness.identity.mint_id_token("asmith")
    first = harness.device_call("PUT", "ipad-1-7c41e9a0b2", BODY, bearer=token)
    assert first.status == 201
    assert first.body["owner"] == "asmith"
    assert "token" not in first.body  # the push token is never echoed back
    stored = harness.devices_of("asmith")
    assert [(d["installation_id"], d["token"], d["platform"], d["timezone"]) for d in stored] == [
        ("ipad-1-7c41e9a0b2", "fcm-token-0123456789", "ios", "Europe/Paris")
    ]
    created_at = stored[0]["created_at"]

    second = harness.device_call(
        "PUT", "ipad-1-7c41e9a0b2", {**BODY, "token": "fcm-token-rotated-999"}, bearer=token
    )
    assert second.status == 200
    stored = harness.devices_of("asmith")
    assert stored[0]["token"] == "fcm-token-rotated-999"
    assert stored[0]["created_at"] == created_at


def test_optional_fields_removed_on_refresh(harness: Harness) -> None:
    token = harness.identity.mint_id_token("asmith")
    harness.device_call("PUT", "ipad-1-7c41e9a0b2", BODY, bearer=token)
    harness.device_call(
        "PUT", "ipad-1-7c41e9a0b2", {"token": BODY["token"], "platform": "ios"}, bearer=token
    )
    stored = harness.devices_of("asmith")[0]
    assert "timezone" not in stored
    assert "locale" not in stored


@pytest.mark.parametrize("bearer", [None, "", "not-a-jwt", "a.b.c"])
def test_missing_or_garbage_token_is_401(harness: Harness, bearer: str | None) -> None:
    reply = harness.device_call("PUT", "ipad-1-7c41e9a0b2", BODY, bearer=bearer)
    assert reply.status == 401
    assert harness.devices_of("asmith") == []


def test_expired_token_is_401(harness: Harness) -> None:
    issued = int(time.time()) - 7200
    token = harness.identity.mint_id_token("asmith", issued_at=issued, expires_in=3600)
    assert harness.device_call("PUT", "ipad-1-7c41e9a0b2", BODY, bearer=token).status == 401


def test_token_signed_by_another_key_is_401(harness: Harness) -> None:
    genuine = harness.identity.mint_id_token("asmith")
    claims = jwt.decode(genuine, verify=False)
    header = {"kid": next(iter(harness.identity.certs()))}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = jwt.encode(crypt.RSASigner.from_string(pem), claims, header=header).decode()
    assert harness.device_call("PUT", "ipad-1-7c41e9a0b2", BODY, bearer=forged).status == 401


def test_external_registration_needs_the_claim(harness: Harness) -> None:
    internal = harness.identity.mint_id_token("asmith")
    reply = harness.device_call(
        "PUT", "ext-1-5e2b8c1f9a7d", {**BODY, "audience": "external"}, bearer=internal
    )
    assert reply.status == 403
    external = harness.identity.mint_id_token(None, external_id="cust-globex-001")
    reply = harness.device_call(
        "PUT", "ext-1-5e2b8c1f9a7d", {**BODY, "audience": "external"}, bearer=external
    )
    assert reply.status == 201
    stored = harness.devices_of("ext:cust-globex-001")
    assert [(d["audience"], d["external_id"]) for d in stored] == [("external", "cust-globex-001")]


def test_external_id_cannot_come_from_the_body(harness: Harness) -> None:
    token = harness.identity.mint_id_token("asmith")
    reply = harness.device_call(
        "PUT", "ipad-1-7c41e9a0b2", {**BODY, "external_id": "cust-1"}, bearer=token
    )
    assert reply.status == 422
    assert reply.body["errors"][0]["path"] == "external_id"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({**BODY, "platform": "blackberry"}, "platform"),
        ({**BODY, "timezone": "Mars/Olympus"}, "timezone"),
        ({k: v for k, v in BODY.items() if k != "token"}, "token"),
        ({**BODY, "locale": "not a locale!"}, "locale"),
    ],
)
def test_invalid_body_is_422_with_the_field(
    harness: Harness, body: dict[str, Any], path: str
) -> None:
    token = harness.identity.mint_id_token("asmith")
    reply = harness.device_call("PUT", "ipad-1-7c41e9a0b2", body, bearer=token)
    assert reply.status == 422
    assert path in [e["path"] for e in reply.body["errors"]]


def test_invalid_installation_id_is_422(harness: Harness) -> None:
    token = harness.identity.mint_id_token("asmith")
    reply = harness.device_call("PUT", "bad id with spaces", BODY, bearer=token)
    assert reply.status == 422


def test_delete_own_device_only(harness: Harness) -> None:
    harness.register("asmith", "ipad-1-7c41e9a0b2", "fcm-token-asmith-0001")
    other = harness.identity.mint_id_token("bjones")
    assert harness.device_call("DELETE", "ipad-1-7c41e9a0b2", bearer=other).status == 404
    assert len(harness.devices_of("asmith")) == 1
    owner = harness.identity.mint_id_token("asmith")
    assert harness.device_call("DELETE", "ipad-1-7c41e9a0b2", bearer=owner).status == 204
    assert harness.devices_of("asmith") == []
    assert harness.device_call("DELETE", "ipad-1-7c41e9a0b2", bearer=owner).status == 404


def test_installation_changing_hands_leaves_the_previous_owner(harness: Harness) -> None:
    harness.register("asmith", "shared-tablet-3c8e", "fcm-token-tablet-0001")
    harness.register("bjones", "shared-tablet-3c8e", "fcm-token-tablet-0001")  # proves it holds it
    assert harness.devices_of("asmith") == []
    assert [d["token"] for d in harness.devices_of("bjones")] == ["fcm-token-tablet-0001"]


def test_aws_outage_is_503_with_retry_after(harness: Harness) -> None:
    token = harness.identity.mint_id_token("asmith")
    with table_unreachable("DevicesTable"):
        reply = harness.device_call("PUT", "ipad-1-7c41e9a0b2", BODY, bearer=token)
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "5"
    assert reply.body["message"] == "temporarily unavailable; retry"
