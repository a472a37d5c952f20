"""The FCM stand-in's wire behaviour, in-process through werkzeug's test client (no sockets)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from google.auth import crypt, jwt
from werkzeug.test import Client, TestResponse

from devstack import push_samples
from devstack.fcm_schema import payload_size
from devstack.fcm_standin import (
    CERTS_PATH,
    FCM_ERROR_TYPE,
    GOOGLE_TOKEN_AUDIENCE,
    JWT_BEARER_GRANT,
    FcmStandIn,
    create_fcm_standin,
)
from devstack.identity import LocalIdentity
from ecmpush.adapters.fcm_sender import FcmSender
from ecmpush.domain.delivery.devices import Device
from ecmpush.domain.delivery.render import render_push

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


BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


def parse_error(field: str | None, description: str) -> dict[str, Any]:
    """Google's answer to a body its JSON parser refuses: a BadRequest detail, no FcmError."""
    violation = {"field": field, "description": description} if field else {}
    violation.setdefault("description", description)
    return {
        "code": 400,
        "message": description,
        "status": "INVALID_ARGUMENT",
        "details": [{"@type": BAD_REQUEST_TYPE, "fieldViolations": [violation]}],
    }


def fcm_error(message: str, field: str | None) -> dict[str, Any]:
    """FCM's own refusal of a parsed message: its FcmError detail (and the field, if any)."""
    details: list[dict[str, Any]] = [{"@type": FCM_ERROR_TYPE, "errorCode": "INVALID_ARGUMENT"}]
    if field:
        details.append(
            {
                "@type": BAD_REQUEST_TYPE,
                "fieldViolations": [{"field": field, "description": message}],
            }
        )
    return {"code": 400, "message": message, "status": "INVALID_ARGUMENT", "details": details}


ENUM = "type.googleapis.com/google.firebase.fcm.v1."
MALFORMED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # FCM's error-codes page, "Example 1", word for word.
    "data value not a string": (
        {"token": "t", "data": {"a": "b", "n": 12}},
        parse_error(
            "message.data[1].value", "Invalid value at 'message.data[1].value' (TYPE_STRING), 12"
        ),
    ),
    "nested unknown field": (
        {"token": "t", "android": {"notification": {"title": "x", "colour": "red"}}},
        parse_error(
            "message.android.notification",
            'Invalid JSON payload received. Unknown name "colour" at '
            "'message.android.notification': Cannot find field.",
        ),
    ),
    "unknown field in a camelCase block": (
        {"token": "t", "webpush": {"fcmOptions": {"link": "https://a.example", "target": "x"}}},
        parse_error(
            "message.webpush.fcm_options",
            'Invalid JSON payload received. Unknown name "target" at '
            "'message.webpush.fcm_options': Cannot find field.",
        ),
    ),
    "android.priority outside its enum": (
        {"token": "t", "android": {"priority": "urgent"}},
        parse_error(
            "message.android.priority",
            "Invalid value at 'message.android.priority' "
            f'({ENUM}AndroidMessagePriority), "urgent"',
        ),
    ),
    "notification visibility outside its enum": (
        {"token": "t", "android": {"notification": {"visibility": "hidden"}}},
        parse_error(
            "message.android.notification.visibility",
            "Invalid value at 'message.android.notification.visibility' "
            f'({ENUM}AndroidNotification.Visibility), "hidden"',
        ),
    ),
    "ttl without its unit": (
        {"token": "t", "android": {"ttl": "3600"}},
        parse_error(
            "message.android.ttl",
            "Invalid value at 'message.android.ttl' "
            '(type.googleapis.com/google.protobuf.Duration), "3600"',
        ),
    ),
    "ttl as a number": (
        {"token": "t", "android": {"ttl": 3600}},
        parse_error(
            "message.android.ttl",
            "Invalid value at 'message.android.ttl' "
            "(type.googleapis.com/google.protobuf.Duration), 3600",
        ),
    ),
    "apns header as an integer": (
        {"token": "t", "apns": {"headers": {"apns-priority": 10}}},
        parse_error(
            "message.apns.headers[0].value",
            "Invalid value at 'message.apns.headers[0].value' (TYPE_STRING), 10",
        ),
    ),
    "boolean as a string": (
        {"token": "t", "android": {"direct_boot_ok": "yes"}},
        parse_error(
            "message.android.direct_boot_ok",
            "Invalid value at 'message.android.direct_boot_ok' (TYPE_BOOL), \"yes\"",
        ),
    ),
    "a block that is not an object": (
        {"token": "t", "notification": "hello"},
        parse_error(
            "message.notification",
            f"Invalid value at 'message.notification' ({ENUM}Notification), \"hello\"",
        ),
    ),
    "http web link": (
        {"token": "t", "webpush": {"fcm_options": {"link": "http://app.example/tasks/1"}}},
        fcm_error("Invalid link: HTTPS is required.", "message.webpush.fcm_options.link"),
    ),
    **{
        f"reserved data key {key}": (
            {"token": "t", "data": {"title": "x", key: "v"}},
            fcm_error(f"Invalid data payload key: {key}", "message.data"),
        )
        for key in (
            "from",
            "notification",
            "message_type",
            "collapse_key",
            "google.c.a.e",
            "gcm.notification.title",
            "GCM.n.e",
        )
    },
    "reserved key in android data": (
        {"token": "t", "android": {"data": {"from": "x"}}},
        fcm_error("Invalid data payload key: from", "message.android.data"),
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_messages_are_refused_as_fcm_refuses_them(
    client: Client, auth_header: dict[str, str], standin: FcmStandIn, case: str
) -> None:
    message, expected = MALFORMED[case]
    response = send(client, auth_header, message)
    assert response.status_code == 400
    assert body(response) == {"error": expected}
    assert standin.messages()[-1]["answer"]["status"] == 400  # recorded, never delivered


def test_every_parse_error_is_listed(client: Client, auth_header: dict[str, str]) -> None:
    """Google's parser reports all it refuses at once: one line and one violation each."""
    message = {"token": "t", "colour": "red", "android": {"priority": "urgent", "size": 1}}
    error = body(send(client, auth_header, message))["error"]
    lines = [
        "Invalid JSON payload received. Unknown name \"colour\" at 'message': Cannot find field.",
        f"Invalid value at 'message.android.priority' ({ENUM}AndroidMessagePriority), \"urgent\"",
        "Invalid JSON payload received. Unknown name \"size\" at 'message.android': "
        "Cannot find field.",
    ]
    assert error["message"] == "\n".join(lines)
    [detail] = error["details"]
    assert [v.get("field") for v in detail["fieldViolations"]] == [
        "message",
        "message.android.priority",
        "message.android",
    ]


def test_an_unknown_name_at_the_root_names_no_field(
    client: Client, auth_header: dict[str, str]
) -> None:
    response = client.post(
        SEND, json={"message": {"token": "t"}, "dry_run": True}, headers=auth_header
    )
    text = 'Invalid JSON payload received. Unknown name "dry_run": Cannot find field.'
    assert body(response)["error"] == {
        "code": 400,
        "message": text,
        "status": "INVALID_ARGUMENT",
        "details": [{"@type": BAD_REQUEST_TYPE, "fieldViolations": [{"description": text}]}],
    }


@pytest.mark.parametrize(
    "message",
    [
        # proto-JSON takes a field's JSON name (camelCase) as well as its proto name
        {
            "token": "t",
            "fcmOptions": {"analyticsLabel": "l"},
            "android": {
                "collapseKey": "k",
                "ttl": "3.5s",
                "directBootOk": True,
                "notification": {"clickAction": "A", "channelId": "c", "notificationCount": 2},
            },
            "apns": {"headers": {"apns-priority": "10"}, "fcmOptions": {"analyticsLabel": "l"}},
            "webpush": {"fcmOptions": {"link": "https://app.example/t/1"}},
        },
        # enum values in any case (firebase-admin sends "high"), or by number
        {"token": "t", "android": {"priority": "high"}},
        {"token": "t", "android": {"priority": "HIGH", "notification": {"visibility": "private"}}},
        {"token": "t", "android": {"priority": 1, "notification": {"visibility": "SECRET"}}},
        # durations and numbers as proto-JSON writes them; null is an absent field
        {"token": "t", "android": {"ttl": "0s", "notification": {"notification_count": "3"}}},
        {"token": "t", "android": {"ttl": "600.000000001s", "collapse_key": None}},
        {"token": "t", "apns": {"payload": {"aps": {"category": "C", "mutable-content": 1}}}},
        {"token": "t", "data": {"collapsed": "x", "googled": "y", "from_user": "z"}},
    ],
)
def test_what_fcm_accepts_is_accepted(
    client: Client, auth_header: dict[str, str], message: dict[str, Any]
) -> None:
    response = send(client, auth_header, message)
    assert response.status_code == 200, body(response)


def test_validate_only_in_camel_case(
    client: Client, auth_header: dict[str, str], standin: FcmStandIn
) -> None:
    response = send(client, auth_header, {"token": "t"}, validateOnly=True)
    assert body(response) == {"name": "projects/ecmpush-local/messages/fake_message_id"}
    assert standin.messages()[0]["validate_only"] is True


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


def rendered_messages() -> list[tuple[str, dict[str, Any]]]:
    """Every flow's push as the renderer and firebase-admin build it, for each platform and
    for the catalog languages, with and without an action token."""
    flows = push_samples._flows()
    cases: list[tuple[str, dict[str, Any]]] = []
    for label, notification in flows:
        for platform, locale, zone in [
            ("android", "en-GB", "Europe/Berlin"),
            ("ios", "de-DE", "America/New_York"),
            ("web", None, None),
        ]:
            device = Device(
                owner=notification.recipients[0],
                installation_id=f"inst-{platform}",
                token=f"fcm-token-{platform}-0001",
                platform=platform,
                locale=locale,
                timezone=zone,
                created_at=push_samples.NOW,
                updated_at=push_samples.NOW,
            )
            for token in (push_samples.ACTION_TOKEN, None):
                push = render_push(notification, device, token if notification.actions else None)
                cases.append((f"{label} / {platform}", FcmSender.wire_message(push)))
    return cases


def test_every_message_the_renderer_builds_is_accepted(
    client: Client, auth_header: dict[str, str]
) -> None:
    cases = rendered_messages()
    assert len(cases) >= 3 * len(push_samples._flows())
    refused = {}
    for label, message in cases:
        response = send(client, auth_header, message)
        if response.status_code != 200:
            refused[label] = body(response)["error"]["message"]
    assert refused == {}
