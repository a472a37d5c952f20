"""SDK answers the stand-in cannot produce cheaply (no HTTP body, HTTP-date Retry-After, an
unspecified errorCode) read into an FcmAnswer."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import pytest
import requests
from firebase_admin import exceptions, messaging

from ecmpush.adapters.fcm_errors import FcmAnswer, classify
from ecmpush.adapters.fcm_sender import fcm_answer
from ecmpush.domain.delivery.outcomes import SendVerdict

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def http_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers.update(headers or {})
    return response


def failed(exc: Exception) -> FcmAnswer:
    answer = fcm_answer(messaging.SendResponse(resp=None, exception=exc))
    assert answer is not None
    return answer


def rpc_body(status: str, error_code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": 500, "message": "m", "status": status}
    if error_code:
        error["details"] = [{"@type": FCM_ERROR, "errorCode": error_code}]
    return {"error": error}


def test_success() -> None:
    assert fcm_answer(messaging.SendResponse({"name": "projects/p/messages/1"}, None)) is None


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (exceptions.UnavailableError("Failed to establish a connection"), "UNAVAILABLE"),
        (exceptions.DeadlineExceededError("Timed out"), "DEADLINE_EXCEEDED"),
        (messaging.UnregisteredError("gone"), "UNREGISTERED"),
        (messaging.ThirdPartyAuthError("apns"), "THIRD_PARTY_AUTH_ERROR"),
        (
            exceptions.InternalError(
                "m", http_response=http_response(500, rpc_body("INTERNAL", "UNSPECIFIED_ERROR"))
            ),
            "INTERNAL",
        ),
        (
            exceptions.UnknownError("bad gateway", http_response=http_response(502, b"<html>")),
            "UNKNOWN",
        ),
        (
            exceptions.UnauthenticatedError(
                "m",
                http_response=http_response(401, rpc_body("UNAUTHENTICATED", "APNS_AUTH_ERROR")),
            ),
            "APNS_AUTH_ERROR",
        ),
    ],
)
def test_error_codes(exc: Exception, code: str) -> None:
    result = failed(exc)
    assert result.error_code == code
    assert result.error_message == str(exc)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (90, 90.0),  # an int here means an HTTP-date that many seconds from now
        (-90, 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after(header: str | int | None, expected: float | None) -> None:
    if isinstance(header, int):
        header = email.utils.formatdate(time.time() + header, usegmt=True)
    headers = {"Retry-After": header} if header is not None else {}
    response = http_response(429, rpc_body("RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), headers)
    result = failed(messaging.QuotaExceededError("q", http_response=response))
    assert result.error_code == "QUOTA_EXCEEDED"
    if expected is None:
        assert result.retry_after_seconds is None
    else:
        assert result.retry_after_seconds == pytest.approx(expected, abs=2)


def test_googles_invalid_token_answer_keeps_its_message_and_fcm_error_code() -> None:
    """The body of FCM's error-codes page, "Example 2", as the SDK hands it over."""
    body = {
        "error": {
            "code": 400,
            "message": "The registration token is not a valid FCM registration token",
            "status": "INVALID_ARGUMENT",
            "details": [{"@type": FCM_ERROR, "errorCode": "INVALID_ARGUMENT"}],
        }
    }
    exc = exceptions.InvalidArgumentError(
        body["error"]["message"], http_response=http_response(400, body)
    )
    result = failed(exc)
    assert (result.error_code, result.fcm_error_code) == ("INVALID_ARGUMENT", "INVALID_ARGUMENT")
    assert result.error_message == "The registration token is not a valid FCM registration token"
    assert result.field_violations == ()
    assert classify(result) is SendVerdict.INVALID_TOKEN


def test_an_answer_without_fcm_error_detail_has_no_fcm_error_code() -> None:
    body = {"error": {"code": 400, "message": "Invalid JSON", "status": "INVALID_ARGUMENT"}}
    exc = exceptions.InvalidArgumentError("m", http_response=http_response(400, body))
    result = failed(exc)
    assert (result.error_code, result.fcm_error_code) == ("INVALID_ARGUMENT", None)
