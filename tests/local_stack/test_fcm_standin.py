"""The FCM stand-in's wire behaviour, in-process through werkzeug's test client (no sockets)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from google.auth import crypt, jwt
from werkzeug.test import Client, TestResponse

from devstack.fcm_standin import (
    CERTS_PATH,
    FCM_ERROR_TYPE,
    GOOGLE_TOKEN_AUDIENCE,
    JWT_BEARER_GRANT,
    FcmStandIn,
    create_fcm_standin,
    payload_size,
)
from devstack.identity import LocalIdentity

SEND = "/v1/projects/ecmpush-local/messages:send"


def assertion(identity: LocalIdentity, *, key_pem: str | None = None, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": identity.client_email,
        "aud": GOOGLE_TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "scope": "https://www.googleapis.com/auth/cloud-platform",
        **claims,
    }
    key = key_pem or identity.service_account_key_pem
    signer = crypt.RSASigner.from_string(key, key_id=identity.service_account_key_id)
    token: bytes = jwt.encode(signer, payload)
    return token.decode()


@pytest.fixture
def standin(local_identity: LocalIdentity) -> FcmStandIn:
    return create_fcm_standin(local_identity)


@pytest.fixture
def client(standin: FcmStandIn) -> Client:
    return Client(standin)


@pytest.fixture
def auth_header(client: Client, local_identity: LocalIdentity) -> dict[str, str]:
    response = client.post(
        "/token", data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion(local_identity)}
    )
    assert response.status_code == 200
    return {"Authorization": f"Bearer {body(response)['access_token']}"}


def body(response: TestResponse) -> Any:
    return response.get_json()


def send(client: Client, headers: dict[str, str], message: dict[str, Any], **extra: Any) -> Any:
    return client.post(SEND, json={"message": message, **extra}, headers=headers)


def test_token_grant_answers_like_google(client: Client, local_identity: LocalIdentity) -> None:
    response = client.post(
        "/token", data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion(local_identity)}
    )
    assert response.status_code == 200
    assert body(response)["token_type"] == "Bearer"
    assert body(response)["expires_in"] == 3600
    assert body(response)["access_token"]


def test_token_grant_also_accepts_its_own_url_as_audience(
    client: Client, local_identity: LocalIdentity
) -> None:
    signed = assertion(local_identity, aud="http://localhost/token")
    response = client.post("/token", data={"grant_type": JWT_BEARER_GRANT, "assertion": signed})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "case", ["other_key", "wrong_audience", "wrong_issuer", "expired", "garbage"]
)
def test_token_grant_refuses_bad_assertions(
    client: Client, local_identity: LocalIdentity, tmp_path: Path, case: str
) -> None:
    if case == "other_key":
        other = LocalIdentity.load_or_create(tmp_path)
        signed = assertion(local_identity, key_pem=other.service_account_key_pem)
    elif case == "wrong_audience":
        signed = assertion(local_identity, aud="https://example.com/token")
    elif case == "wrong_issuer":
        signed = assertion(local_identity, iss="someone@example.com")
    elif case == "expired":
        signed = assertion(local_identity, iat=1_000_000, exp=1_003_600)
    else:
        signed = "not-a-jwt"
    response = client.post("/token", data={"grant_type": JWT_BEARER_GRANT, "assertion": signed})
    assert response.status_code == 400
    assert body(response)["error"] == "invalid_grant"


def test_token_grant_needs_the_jwt_bearer_grant_type(client: Client) -> None:
    response = client.post("/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert body(response)["error"] == "unsupported_grant_type"


def test_send_success_is_recorded(
    client: Client, auth_header: dict[str, str], standin: FcmStandIn
) -> None:
    response = send(client, auth_header, {"token": "tok-1", "data": {"a": "b"}})
    assert response.status_code == 200
    assert body(response)["name"].startswith("projects/ecmpush-local/messages/")
    [record] = standin.messages()
    assert record["target"] == "tok-1"
    assert record["message"] == {"token": "tok-1", "data": {"a": "b"}}
    assert record["answer"]["status"] == 200
    assert record["answer"]["body"] == body(response)
    assert record["received_at"].endswith("Z")


def test_fid_targets_are_accepted_and_filterable(
    client: Client, auth_header: dict[str, str], standin: FcmStandIn
) -> None:
    send(client, auth_header, {"fid": "fid-1"})
    send(client, auth_header, {"token": "tok-2"})
    assert [r["target"] for r in standin.messages("fid-1")] == ["fid-1"]
    listed = body(client.get("/_inspect/messages?token=tok-2"))["messages"]
    assert [r["target"] for r in listed] == ["tok-2"]


def test_validate_only_answers_fake_message_id(
    client: Client, auth_header: dict[str, str], standin: FcmStandIn
) -> None:
    response = send(client, auth_header, {"token": "t"}, validate_only=True)
    assert body(response) == {"name": "projects/ecmpush-local/messages/fake_message_id"}
    assert standin.messages()[0]["validate_only"] is True


@pytest.mark.parametrize("header", [None, "Bearer not-issued", "Basic abc"])
def test_send_without_valid_access_token_is_401(
    client: Client, standin: FcmStandIn, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = send(client, headers, {"token": "t"})
    assert response.status_code == 401
    assert body(response)["error"]["status"] == "UNAUTHENTICATED"
    assert standin.messages()[0]["answer"]["status"] == 401


def test_unknown_project_is_permission_denied(client: Client, auth_header: dict[str, str]) -> None:
    response = client.post(
        "/v1/projects/someone-else/messages:send",
        json={"message": {"token": "t"}},
        headers=auth_header,
    )
    assert response.status_code == 403
    assert body(response)["error"]["status"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        ({"message": {"token": "t", "fid": "f"}}, "Exactly one"),
        ({"message": {"data": {"a": "b"}}}, "Recipient"),
        ({"message": {"token": "t", "data": {"n": 1}}}, "message.data[0].value"),
        ({"message": {"token": "t", "colour": "red"}}, 'Unknown name "colour"'),
        ({"message": {"token": "t"}, "dry_run": True}, 'Unknown name "dry_run"'),
        ({"msg": {}}, 'Unknown name "msg"'),
    ],
)
def test_invalid_requests_are_400(
    client: Client, auth_header: dict[str, str], request_body: dict[str, Any], fragment: str
) -> None:
    response = client.post(SEND, json=request_body, headers=auth_header)
    assert response.status_code == 400
    assert body(response)["error"]["status"] == "INVALID_ARGUMENT"
    assert fragment in body(response)["error"]["message"]


def test_payload_over_4096_bytes_is_too_big(client: Client, auth_header: dict[str, str]) -> None:
    overhead = payload_size({"data": {"x": ""}})
    filler = "é" * ((4096 - overhead) // 2)  # two UTF-8 bytes each
    fits = {"token": "t" * 500, "data": {"x": filler}}
    assert payload_size(fits) <= 4096
    assert send(client, auth_header, fits).status_code == 200  # the token does not count
    too_big = {"token": "t", "data": {"x": filler + "ab"}}
    response = send(client, auth_header, too_big)
    assert response.status_code == 400
    error = body(response)["error"]
    assert error["message"] == "Message is too big"
    assert error["details"] == [{"@type": FCM_ERROR_TYPE, "errorCode": "INVALID_ARGUMENT"}]


@pytest.mark.parametrize(
    ("error", "status", "rpc_status"),
    [
        ("UNREGISTERED", 404, "NOT_FOUND"),
        ("INVALID_ARGUMENT", 400, "INVALID_ARGUMENT"),
        ("QUOTA_EXCEEDED", 429, "RESOURCE_EXHAUSTED"),
        ("UNAVAILABLE", 503, "UNAVAILABLE"),
        ("INTERNAL", 500, "INTERNAL"),
        ("SENDER_ID_MISMATCH", 403, "PERMISSION_DENIED"),
        ("THIRD_PARTY_AUTH_ERROR", 401, "UNAUTHENTICATED"),
    ],
)
def test_faults_answer_in_fcm_error_shape(
    client: Client, auth_header: dict[str, str], error: str, status: int, rpc_status: str
) -> None:
    created = client.post("/_inspect/faults", json={"error": error, "times": 1})
    assert created.status_code == 201
    response = send(client, auth_header, {"token": "t"})
    assert response.status_code == status
    answer = body(response)["error"]
    assert (answer["code"], answer["status"]) == (status, rpc_status)
    assert answer["details"] == [{"@type": FCM_ERROR_TYPE, "errorCode": error}]
    assert send(client, auth_header, {"token": "t"}).status_code == 200  # times: 1 consumed


def test_an_invalid_token_is_answered_as_google_documents_it(
    client: Client, auth_header: dict[str, str]
) -> None:
    """FCM's error-codes page, "Example 2": the message says it, no BadRequest detail does."""
    client.post("/_inspect/faults", json={"error": "INVALID_ARGUMENT", "times": 1})
    response = send(client, auth_header, {"token": "t"})
    assert response.status_code == 400
    assert body(response) == {
        "error": {
            "code": 400,
            "message": "The registration token is not a valid FCM registration token",
            "status": "INVALID_ARGUMENT",
            "details": [{"@type": FCM_ERROR_TYPE, "errorCode": "INVALID_ARGUMENT"}],
        }
    }


def test_no_fault_answers_a_bare_404(client: Client) -> None:
    """Nobody documents a 404 without FCM's errorCode: the stand-in does not invent one."""
    response = client.post("/_inspect/faults", json={"error": "NOT_FOUND"})
    assert response.status_code == 400


def test_fault_matching_retry_after_and_until_reset(
    client: Client, auth_header: dict[str, str], standin: FcmStandIn
) -> None:
    client.post(
        "/_inspect/faults",
        json={"match_token": "slow", "error": "QUOTA_EXCEEDED", "retry_after": 30},
    )
    assert send(client, auth_header, {"token": "other"}).status_code == 200
    for _ in range(3):
        response = send(client, auth_header, {"token": "slow"})
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "30"
    [record] = standin.messages("slow")[-1:]
    assert record["answer"]["headers"] == {"Retry-After": "30"}
    assert record["fault_id"] == 1
    assert client.delete("/_inspect").status_code == 204
    assert standin.messages() == []
    assert body(client.get("/_inspect/faults")) == {"faults": []}
    assert send(client, auth_header, {"token": "slow"}).status_code == 200


def test_latency_only_fault_is_a_slow_success(client: Client, auth_header: dict[str, str]) -> None:
    client.post("/_inspect/faults", json={"latency_ms": 150, "times": 1})
    started = time.monotonic()
    assert send(client, auth_header, {"token": "t"}).status_code == 200
    assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize(
    "spec",
    [
        {"error": "NOPE"},
        {},
        {"error": "INTERNAL", "times": 0},
        {"error": "INTERNAL", "retry_after": -1},
        {"error": "INTERNAL", "colour": "red"},
        [],
    ],
)
def test_bad_fault_specs_are_400(client: Client, spec: Any) -> None:
    response = client.post(
        "/_inspect/faults", data=json.dumps(spec), content_type="application/json"
    )
    assert response.status_code == 400


def test_certs_are_served_with_cache_control(client: Client, local_identity: LocalIdentity) -> None:
    response = client.get(CERTS_PATH)
    assert response.status_code == 200
    assert body(response) == local_identity.certs()
    assert "max-age=" in response.headers["Cache-Control"]
    other = client.get("/robot/v1/metadata/x509/nobody@example.com")
    assert other.status_code == 404


def test_inspection_is_for_loopback_clients_only(standin: FcmStandIn) -> None:
    remote = Client(standin)
    response = remote.get("/_inspect/messages", environ_base={"REMOTE_ADDR": "10.0.0.8"})
    assert response.status_code == 403
