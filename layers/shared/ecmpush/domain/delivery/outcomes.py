"""What FCM answered for one push, and what that answer means for the device and the SQS item.

FCM reports errors as a google.rpc.Status `status` plus an optional FcmError `errorCode`; the
sender adapter reduces both to one `error_code` string so this table stays the only place that
decides which answers are permanent, which remove the token and which are worth a retry."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class DeliveryStatus(StrEnum):
    SENDING = "sending"  # claimed by a dispatch attempt, answer not yet recorded
    SENT = "sent"  # FCM accepted the message
    RETRYING = "retrying"  # transient FCM error; the SQS item will be retried
    FAILED = "failed"  # permanent FCM error for this device
    TOKEN_REMOVED = "token_removed"  # noqa: S105 - FCM said the token is dead; device deleted
    NO_DEVICE = "no_device"  # the recipient has no registered device


class Claim(StrEnum):
    """Who may send to a device for a notification right now."""

    CLAIMED = "claimed"  # this attempt sends
    DONE = "done"  # a previous attempt reached a final answer for this device
    IN_FLIGHT = "in_flight"  # another attempt holds a fresh lease


class FcmOutcome(StrEnum):
    SENT = "sent"
    REMOVE_TOKEN = "remove_token"  # noqa: S105 - an outcome, not a credential
    RETRY = "retry"
    PERMANENT = "permanent"
    # APNs or web-push credentials of the Firebase project are wrong: not the device's fault
    # (no prune), and a retry meets the same answer (no retry storm). Alarmed.
    PLATFORM_AUTH = "platform_auth"


@dataclass(frozen=True)
class SendResult:
    """One FCM answer, aligned with the push it belongs to."""

    message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after_seconds: float | None = None
    # `google.rpc.BadRequest.fieldViolations[].field` of the answer: which part of the request
    # FCM refused (`message.data[0].value` for a malformed payload).
    field_violations: tuple[str, ...] = ()
    # The `errorCode` of the answer's FcmError detail, exactly as FCM sent it (None when the
    # answer had none, or when nothing reached FCM): tells FCM's own verdicts, such as an
    # invalid registration token, from the JSON parser's and from local refusals.
    fcm_error_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


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
TOKEN_FIELDS = frozenset({"message.token", "message.fid"})
# Google's answer to an invalid registration token (FCM's error-codes page, and what real
# servers send): 400 INVALID_ARGUMENT with this message and only an FcmError detail whose
# errorCode is INVALID_ARGUMENT, no BadRequest field violation. The same status and errorCode
# also refuse a message that is too big or a reserved data key, so the message decides.
INVALID_TOKEN_MESSAGE = re.compile(
    r"registration token is not a valid FCM registration token", re.IGNORECASE
)
# Share of one send's answers above which "token of another project" means "we are the other
# project": prune nothing, fail the batch, raise the alarm (`suspect_credentials`).
WRONG_PROJECT_SHARE = 0.5


def classify(result: SendResult) -> FcmOutcome:
    """Map an FCM answer to what dispatch does next.

    INVALID_ARGUMENT is FCM's answer both to an invalid token and to a malformed message; it
    removes the token only when the answer says the token is at fault (`invalid_token`).
    """
    code = result.error_code
    if code is None:
        return FcmOutcome.SENT
    if code in DEAD_TOKEN_CODES:
        return FcmOutcome.REMOVE_TOKEN
    if code == "INVALID_ARGUMENT" and invalid_token(result):
        return FcmOutcome.REMOVE_TOKEN
    if code in PLATFORM_AUTH_CODES:
        return FcmOutcome.PLATFORM_AUTH
    if code in TRANSIENT_CODES:
        return FcmOutcome.RETRY
    return FcmOutcome.PERMANENT


def invalid_token(result: SendResult) -> bool:
    """True when an INVALID_ARGUMENT answer blames the target: Google's documented invalid-token
    answer (FcmError INVALID_ARGUMENT, its message, no violation on another field), or a field
    violation naming `message.token` / `message.fid`. A payload FCM refuses (too big, a reserved
    data key, a wrong type) blames the message, and a refusal before sending has no FcmError
    detail at all: neither removes a device."""
    fields = set(result.field_violations)
    if fields & TOKEN_FIELDS:
        return True
    return (
        result.fcm_error_code == "INVALID_ARGUMENT"
        and not fields
        and INVALID_TOKEN_MESSAGE.search(result.error_message or "") is not None
    )


def suspect_credentials(results: Sequence[SendResult]) -> bool:
    """True when at least half of one send's answers say "this token belongs to another
    project" (SENDER_ID_MISMATCH, or a 404 without FCM's errorCode): then the service account
    is the wrong one, and pruning would delete every device ecmpush knows."""
    wrong = sum(1 for r in results if r.error_code in WRONG_PROJECT_CODES)
    return wrong > 0 and wrong >= WRONG_PROJECT_SHARE * len(results)


@dataclass(frozen=True)
class DeliveryTarget:
    """One device of one recipient for one notification: what a claim is taken on."""

    owner: str
    installation_id: str
    platform: str


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of one delivery (or, with `installation_id = NO_DEVICE_ID`, of a recipient
    without any device): the item Dispatch writes once the answer is known."""

    target: DeliveryTarget
    status: DeliveryStatus
    message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class PolicyOutcome:
    """What a recipient's preferences did to a notification: muted, deferred (until `detail`)
    or bypassed (which preference an urgent push went through), or a routing refusal."""

    owner: str
    outcome: str
    detail: str | None = None


NO_DEVICE_ID = "-"  # the installation id of a "this recipient has no device" outcome
