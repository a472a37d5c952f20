"""What an FCM answer says, in the domain's terms: FCM reports errors as a google.rpc.Status
`status` plus an optional FcmError `errorCode`; this table, the only place that reads those
codes, decides which answers are sent, an invalid token, worth a retry (and after how long),
or failed. The domain (`domain/delivery/outcomes.py`) decides what each means for a delivery."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecmpush.domain.delivery.outcomes import SendResult, SendVerdict

TRANSIENT_CODES = frozenset(
    {
        "UNAVAILABLE",
        "INTERNAL",
        "QUOTA_EXCEEDED",
        "RESOURCE_EXHAUSTED",
        "DEADLINE_EXCEEDED",
        "UNKNOWN",
        # 401 without an FcmError: FCM refused ecmpush's own access token (revoked, clock
        # skew). The sender drops it and the next attempt fetches a new one. APNs or web-push
        # credentials (THIRD_PARTY_AUTH_ERROR) come with an errorCode and are PLATFORM_AUTH.
        "UNAUTHENTICATED",
    }
)
DEAD_TOKEN_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH", "NOT_FOUND"})
# The answers a wrong service account (another Firebase project) gets for every token.
WRONG_PROJECT_CODES = frozenset({"SENDER_ID_MISMATCH", "NOT_FOUND"})
PLATFORM_AUTH_CODES = frozenset({"THIRD_PARTY_AUTH_ERROR", "APNS_AUTH_ERROR"})
# FCM's quota is per Firebase project: with a Retry-After, every sender holds off.
QUOTA_CODES = frozenset({"QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED"})
TOKEN_FIELDS = frozenset({"message.token", "message.fid"})
# Google's answer to an invalid registration token (FCM's error-codes page, and what real
# servers send): 400 INVALID_ARGUMENT with this message and only an FcmError detail whose
# errorCode is INVALID_ARGUMENT, no BadRequest field violation. The same status and errorCode
# also refuse a message that is too big or a reserved data key, so the message decides.
INVALID_TOKEN_MESSAGE = re.compile(
    r"registration token is not a valid FCM registration token", re.IGNORECASE
)


@dataclass(frozen=True)
class FcmAnswer:
    """One FCM error answer as the SDK and the HTTP body gave it."""

    error_code: str  # FCM's errorCode when it sent one, else the canonical status
    error_message: str | None = None
    retry_after_seconds: float | None = None
    # `google.rpc.BadRequest.fieldViolations[].field` of the answer: which part of the request
    # FCM refused (`message.data[0].value` for a malformed payload).
    field_violations: tuple[str, ...] = ()
    # The `errorCode` of the answer's FcmError detail, exactly as FCM sent it (None when the
    # answer had none, or when nothing reached FCM): tells FCM's own verdicts, such as an
    # invalid registration token, from the JSON parser's and from local refusals.
    fcm_error_code: str | None = None


def classify(answer: FcmAnswer) -> SendVerdict:
    """INVALID_ARGUMENT is FCM's answer both to an invalid token and to a malformed message; it
    is an invalid token only when the answer says the token is at fault (`invalid_token`)."""
    code = answer.error_code
    if code in DEAD_TOKEN_CODES:
        return SendVerdict.INVALID_TOKEN
    if code == "INVALID_ARGUMENT" and invalid_token(answer):
        return SendVerdict.INVALID_TOKEN
    if code in PLATFORM_AUTH_CODES:
        return SendVerdict.PLATFORM_AUTH
    if code in TRANSIENT_CODES:
        return SendVerdict.RETRY
    return SendVerdict.FAILED


def invalid_token(answer: FcmAnswer) -> bool:
    """True when an INVALID_ARGUMENT answer blames the target: Google's documented invalid-token
    answer (FcmError INVALID_ARGUMENT, its message, no violation on another field), or a field
    violation naming `message.token` / `message.fid`. A payload FCM refuses (too big, a reserved
    data key, a wrong type) blames the message, and a refusal before sending has no FcmError
    detail at all: neither removes a device."""
    fields = set(answer.field_violations)
    if fields & TOKEN_FIELDS:
        return True
    return (
        answer.fcm_error_code == "INVALID_ARGUMENT"
        and not fields
        and INVALID_TOKEN_MESSAGE.search(answer.error_message or "") is not None
    )


def send_result(answer: FcmAnswer) -> SendResult:
    """The domain's result for one FCM error answer."""
    code = answer.error_code
    return SendResult(
        verdict=classify(answer),
        error_code=code,
        error_message=answer.error_message,
        retry_after_seconds=answer.retry_after_seconds,
        wrong_project=code in WRONG_PROJECT_CODES,
        project_quota=code in QUOTA_CODES,
    )
