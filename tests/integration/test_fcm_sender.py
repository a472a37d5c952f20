"""FcmSender through the real firebase-admin SDK (OAuth grant, urllib3 retries, error mapping)
against the FCM stand-in on a free port.

Time budget: SDK retries are real. UNAVAILABLE/INTERNAL faults get the one retry ecmpush allows
(firebase_app.SEND_ATTEMPTS, so a send fits Dispatch's deadline reserve), 0.5 s of backoff at
most, and none when FCM answered with Retry-After; a 401 is never retried with a new token; all
error kinds go into one `send` (one thread per message)."""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import firebase_admin
import google.auth.transport.requests
import pytest
from firebase_admin import _http_client, messaging

from devstack.fcm_schema import payload_size
from devstack.fcm_standin import RunningFcmStandIn
from devstack.identity import LocalIdentity
from ecmpush.adapters import firebase_app as firebase_app_module
from ecmpush.adapters.fcm_sender import FcmSender, to_message
from ecmpush.adapters.firebase_app import (
    FcmRetry,
    FirebaseSdkChanged,
    fcm_retry,
    get_firebase_app,
)
from ecmpush.domain.delivery.outcomes import SendVerdict
from ecmpush.domain.delivery.push import Push, WebAction

# A registration token has the FID, a colon and a long opaque part; an FID alone is 22 chars.
REG_TOKEN = "cXk1a2FhbGRzZjJhcmVh:APA91bH" + "x" * 140
FID = "eXk1a2FhbGRzZjJhcmVhMQ"


def make_push(token: str, **changes: Any) -> Push:
    push = Push(
        token=token,
        title="Approve contract 4711",
        body="Due 2026-12-01 - requested by Legal",
        data={
            "notification_id": "ntf-1",
            "type": "task.assigned",
            "title": "Approve contract 4711",
            "body": "Due 2026-12-01",
            "deep_link": "ecmpush://tasks/1/2/3",
            "category": "approval",
            "actions": "approve,reject",
            "action_token": "tok.sig",
        },
        link="https://app.example.com/tasks/1/2/3",
        apns_category="ECM_APPROVAL",
        click_action="ECM_APPROVAL",
        web_actions=(WebAction("approve", "Approve"), WebAction("reject", "Reject")),
        collapse_key="task-1-2-3",
        tag="task-1-2-3",
    )
    return replace(push, **changes)


@pytest.fixture
def sender(firebase_app: firebase_admin.App) -> FcmSender:
    return FcmSender(firebase_app)


def test_pushes_arrive_as_the_wire_message(
    sender: FcmSender, fcm_standin: RunningFcmStandIn
) -> None:
    pushes = [
        make_push(REG_TOKEN),
        make_push(FID, priority="normal"),
        make_push("tok-local-link", link="http://localhost:3000/tasks/1", web_actions=()),
    ]
    results = sender.send(pushes)

    assert [r.ok for r in results] == [True, True, True]
    assert all(
        r.message_id and r.message_id.startswith("projects/ecmpush-local/messages/")
        for r in results
    )
    for push in pushes:
        [record] = fcm_standin.messages(push.token)
        assert record["message"] == FcmSender.wire_message(push)
        assert record["answer"]["status"] == 200

    wire = fcm_standin.messages(REG_TOKEN)[0]["message"]
    assert wire["token"] == REG_TOKEN
    assert "fid" not in wire
    assert wire["data"] == pushes[0].data
    assert wire["notification"] == {"title": pushes[0].title, "body": pushes[0].body}
    assert wire["android"]["notification"]["click_action"] == "ECM_APPROVAL"
    assert wire["android"]["collapse_key"] == "task-1-2-3"
    assert wire["android"]["priority"] == "high"
    assert wire["apns"]["headers"] == {
        "apns-priority": "10",
        "apns-push-type": "alert",
        "apns-collapse-id": "task-1-2-3",
    }
    assert wire["webpush"]["headers"] == {"Urgency": "high"}
    aps = wire["apns"]["payload"]["aps"]
    assert aps["category"] == "ECM_APPROVAL"
    assert aps["mutable-content"] == 1
    assert "alert" not in aps  # built by FCM from the top-level notification
    assert wire["webpush"]["notification"]["actions"] == [
        {"action": "approve", "title": "Approve"},
        {"action": "reject", "title": "Reject"},
    ]
    assert wire["webpush"]["fcm_options"] == {"link": "https://app.example.com/tasks/1/2/3"}

    assert fcm_standin.messages(FID)[0]["message"]["fid"] == FID
    local = fcm_standin.messages("tok-local-link")[0]["message"]
    assert "fcm_options" not in local["webpush"]  # non-https link omitted, not fatal
    assert "actions" not in local["webpush"]["notification"]


def test_translation_emits_no_deprecation_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_message(make_push(REG_TOKEN))
        to_message(make_push(FID))


def test_ttl_reaches_every_platform() -> None:
    wire = FcmSender.wire_message(make_push(REG_TOKEN, ttl_seconds=600))
    assert wire["android"]["ttl"] == "600s"
    assert wire["webpush"]["headers"] == {"Urgency": "high", "TTL": "600"}
    expires = int(wire["apns"]["headers"]["apns-expiration"])
    assert abs(expires - (time.time() + 600)) < 5


# token → (fault, expected error_code, verdict, HTTP attempts the SDK makes)
ERROR_CASES: dict[str, tuple[dict[str, Any], str, SendVerdict, int]] = {
    "tok-unregistered": ({"error": "UNREGISTERED"}, "UNREGISTERED", SendVerdict.INVALID_TOKEN, 1),
    "tok-invalid": (
        {"error": "INVALID_ARGUMENT"},
        "INVALID_ARGUMENT",
        SendVerdict.INVALID_TOKEN,
        1,
    ),
    "tok-quota": (
        {"error": "QUOTA_EXCEEDED", "retry_after": 1},
        "QUOTA_EXCEEDED",
        SendVerdict.RETRY,
        1,  # Retry-After is dispatch's to honour (SQS visibility), not slept out in the SDK
    ),
    "tok-quota-no-header": ({"error": "QUOTA_EXCEEDED"}, "QUOTA_EXCEEDED", SendVerdict.RETRY, 1),
    "tok-unavailable": ({"error": "UNAVAILABLE"}, "UNAVAILABLE", SendVerdict.RETRY, 2),
    # FCM said when to come back: not asked again half a second later (dispatch waits it out).
    "tok-unavailable-retry-after": (
        {"error": "UNAVAILABLE", "retry_after": 7},
        "UNAVAILABLE",
        SendVerdict.RETRY,
        1,
    ),
    "tok-internal": ({"error": "INTERNAL"}, "INTERNAL", SendVerdict.RETRY, 2),
    "tok-mismatch": (
        {"error": "SENDER_ID_MISMATCH"},
        "SENDER_ID_MISMATCH",
        SendVerdict.INVALID_TOKEN,
        1,
    ),
    # 401 about APNs' or web push's credentials: no new access token cures it, none is fetched.
    "tok-apns-auth": (
        {"error": "THIRD_PARTY_AUTH_ERROR"},
        "THIRD_PARTY_AUTH_ERROR",
        SendVerdict.PLATFORM_AUTH,
        1,
    ),
}


def test_fcm_errors_become_results(sender: FcmSender, fcm_standin: RunningFcmStandIn) -> None:
    for token, (fault, *_rest) in ERROR_CASES.items():
        fcm_standin.add_fault(match_token=token, **fault)
    tokens = [*ERROR_CASES, "tok-fine"]
    sender.authorize(60)
    token_requests = fcm_standin.standin.token_requests

    results = dict(zip(tokens, sender.send([make_push(t) for t in tokens]), strict=True))

    assert fcm_standin.standin.token_requests == token_requests  # no fetch inside the send

    assert results.pop("tok-fine").ok
    actual = {
        t: (r.error_code, r.verdict, len(fcm_standin.messages(t))) for t, r in results.items()
    }
    expected = {
        t: (code, outcome, attempts) for t, (_, code, outcome, attempts) in ERROR_CASES.items()
    }
    assert actual == expected
    assert results["tok-quota"].retry_after_seconds == 1.0
    assert results["tok-quota-no-header"].retry_after_seconds is None
    assert results["tok-unavailable-retry-after"].retry_after_seconds == 7.0
    # Google's invalid-token answer: its message and FcmError detail are why it is an invalid
    # token (adapters/fcm_errors.py; the fields themselves: tests/unit/test_fcm_send_result.py).
    invalid = results["tok-invalid"]
    assert invalid.error_message == "The registration token is not a valid FCM registration token"
    statuses = [r["answer"]["status"] for r in fcm_standin.messages("tok-unavailable")]
    assert statuses == [503] * 2  # one retry, then the SQS record's retry takes over


def test_a_refused_access_token_is_one_attempt_then_fetched_anew(
    sender: FcmSender, firebase_app: firebase_admin.App, fcm_standin: RunningFcmStandIn
) -> None:
    """FCM refusing ecmpush's own access token (401 without errorCode) costs one attempt and
    no token fetch inside the send; the next send's `authorize` fetches a new token."""
    sender.authorize(60)
    fcm_standin.standin.revoke_access_token(firebase_app.credential.get_credential().token)
    fetched = fcm_standin.standin.token_requests

    [result] = sender.send([make_push("tok-revoked")])

    assert (result.error_code, result.verdict) == ("UNAUTHENTICATED", SendVerdict.RETRY)
    assert [r["answer"]["status"] for r in fcm_standin.messages("tok-revoked")] == [401]
    assert fcm_standin.standin.token_requests == fetched
    sender.authorize(60)
    assert fcm_standin.standin.token_requests == fetched + 1
    [again] = sender.send([make_push("tok-revoked")])
    assert again.ok


def test_the_send_session_is_pinned_to_the_pinned_sdk(firebase_app: firebase_admin.App) -> None:
    """The private settings firebase_app.py writes: no token refresh on a 401, and the retry
    policy that hands back a Retry-After, mounted for the FCM URL."""
    service = messaging._get_messaging_service(firebase_app)
    session = service._client.session
    assert session._refresh_status_codes == ()
    retry = session.get_adapter(service._fcm_url).max_retries
    assert isinstance(retry, FcmRetry)
    assert (retry.total, retry.respect_retry_after_header) == (1, False)


def test_fcm_retry_is_the_sdks_policy_within_the_budget() -> None:
    ours, sdk = fcm_retry(), _http_client.DEFAULT_RETRY_CONFIG
    for name in (
        "connect",
        "read",
        "status_forcelist",
        "allowed_methods",
        "raise_on_status",
        "backoff_factor",
    ):
        assert getattr(ours, name) == getattr(sdk, name), name
    assert ours.is_retry("POST", 503)
    assert ours.is_retry("POST", 500)
    assert not ours.is_retry("POST", 503, has_retry_after=True)
    assert not ours.is_retry("POST", 429, has_retry_after=True)
    assert not ours.is_retry("POST", 401)


def test_an_sdk_without_the_refresh_setting_fails_loudly(
    local_identity: LocalIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_class = google.auth.transport.requests.AuthorizedSession
    original = session_class.__init__

    def changed(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        del self._refresh_status_codes  # as if google-auth had renamed it

    monkeypatch.setattr(session_class, "__init__", changed)
    info = local_identity.service_account_info("http://127.0.0.1:1/token")
    with pytest.raises(FirebaseSdkChanged, match="_refresh_status_codes"):
        get_firebase_app(info, fcm_base_url="http://127.0.0.1:1", pool_size=9)


def test_fault_for_one_attempt_is_absorbed_by_sdk_retry(
    sender: FcmSender, fcm_standin: RunningFcmStandIn
) -> None:
    fcm_standin.add_fault("UNAVAILABLE", match_token="tok-blip", times=1)
    [result] = sender.send([make_push("tok-blip")])
    assert result.ok
    assert [r["answer"]["status"] for r in fcm_standin.messages("tok-blip")] == [503, 200]


def test_slow_success(sender: FcmSender, fcm_standin: RunningFcmStandIn) -> None:
    fcm_standin.add_fault(latency_ms=200, times=1)
    started = time.monotonic()
    [result] = sender.send([make_push("tok-slow")])
    assert result.ok
    assert time.monotonic() - started >= 0.2


def test_oversized_message_is_permanent_not_a_dead_token(
    sender: FcmSender, fcm_standin: RunningFcmStandIn
) -> None:
    push = make_push("tok-big", body="x" * 5000)
    assert payload_size(FcmSender.wire_message(push)) > 4096
    [result] = sender.send([push])
    assert (result.error_code, result.error_message) == ("INVALID_ARGUMENT", "Message is too big")
    assert result.verdict is SendVerdict.FAILED


def test_push_the_sdk_refuses_fails_alone(
    sender: FcmSender, fcm_standin: RunningFcmStandIn
) -> None:
    bad = make_push("tok-bad", data={"n": 1})  # not a dict[str, str]: the SDK refuses it
    results = sender.send([bad, make_push("tok-good")])
    assert results[0].error_code == "INVALID_ARGUMENT"
    assert results[0].verdict is SendVerdict.FAILED
    assert results[1].ok
    assert fcm_standin.messages("tok-bad") == []


def test_sends_in_chunks(
    firebase_app: firebase_admin.App,
    fcm_standin: RunningFcmStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_send_each = messaging.send_each
    calls: list[int] = []

    def spy(messages: list[messaging.Message], **kwargs: Any) -> messaging.BatchResponse:
        calls.append(len(messages))
        return real_send_each(messages, **kwargs)

    monkeypatch.setattr(messaging, "send_each", spy)
    tokens = [f"tok-{i:03d}" for i in range(250)]

    results = FcmSender(firebase_app, chunk_size=100).send([make_push(t) for t in tokens])

    assert calls == [100, 100, 50]
    assert all(r.ok for r in results)
    assert sorted(r["target"] for r in fcm_standin.messages()) == tokens


def test_chunk_that_cannot_authenticate_becomes_unavailable_results(
    fcm_standin: RunningFcmStandIn, tmp_path: Path
) -> None:
    # A service account the token endpoint does not know: every refresh is invalid_grant.
    stranger = LocalIdentity.load_or_create(tmp_path)
    app = get_firebase_app(
        stranger.service_account_info(fcm_standin.token_uri), fcm_base_url=fcm_standin.url
    )
    try:
        results = FcmSender(app, chunk_size=2).send([make_push(f"tok-{i}") for i in range(3)])
    finally:
        firebase_admin.delete_app(app)
    assert [r.error_code for r in results] == ["UNAVAILABLE"] * 3
    assert all(r.verdict is SendVerdict.RETRY for r in results)
    assert "invalid_grant" in (results[0].error_message or "")
    assert fcm_standin.messages() == []


def test_app_is_initialized_once_per_configuration(
    local_identity: LocalIdentity, fcm_standin: RunningFcmStandIn, firebase_app: firebase_admin.App
) -> None:
    info = local_identity.service_account_info(fcm_standin.token_uri)
    same = get_firebase_app(
        info, fcm_base_url=fcm_standin.url, certs_url=fcm_standin.certs_url, pool_size=100
    )
    assert same is firebase_app
    service = messaging._get_messaging_service(firebase_app)
    assert service._fcm_url == f"{fcm_standin.url}/v1/projects/ecmpush-local/messages:send"
    adapter = service._client.session.get_adapter(service._fcm_url)
    assert adapter._pool_maxsize == 100


def test_production_configuration_keeps_google_and_resizes_the_pool(
    local_identity: LocalIdentity,
) -> None:
    app = get_firebase_app(
        local_identity.service_account_info("https://oauth2.googleapis.com/token"), pool_size=64
    )
    try:
        service = messaging._get_messaging_service(app)
        assert (
            service._fcm_url == "https://fcm.googleapis.com/v1/projects/ecmpush-local/messages:send"
        )
        assert service._client.session.get_adapter(service._fcm_url)._pool_maxsize == 64
    finally:
        firebase_admin.delete_app(app)


def test_sdk_change_fails_loudly(
    local_identity: LocalIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        messaging._MessagingService, "FCM_URL", "https://fcm.googleapis.com/v2/{0}:send"
    )
    info = local_identity.service_account_info("http://127.0.0.1:1/token")
    with pytest.raises(FirebaseSdkChanged):
        get_firebase_app(info, fcm_base_url="http://127.0.0.1:1", pool_size=7)
    name = firebase_app_module._app_name(info, "http://127.0.0.1:1", None, 7, 10)
    with pytest.raises(ValueError, match="does not exist"):
        firebase_admin.get_app(name)  # not left half-configured


def test_the_sdks_private_encoder_is_used_through_one_adapter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """firebase_app.encode_message owns the use of `_MessagingService.encode_message`: on the
    pinned SDK it gives the wire message and refuses what send_each would; if an upgrade
    removes it, sending fails loudly, not with an AttributeError in the middle of a batch."""
    encoded = firebase_app_module.encode_message(
        messaging.Message(token=REG_TOKEN, data={"a": "1"})
    )
    assert encoded == {"token": REG_TOKEN, "data": {"a": "1"}}
    with pytest.raises(ValueError, match="non-string values"):
        firebase_app_module.encode_message(messaging.Message(token=REG_TOKEN, data={"a": 1}))
    monkeypatch.delattr(messaging._MessagingService, "encode_message")
    with pytest.raises(FirebaseSdkChanged, match="encode_message"):
        firebase_app_module.encode_message(messaging.Message(token=REG_TOKEN))
