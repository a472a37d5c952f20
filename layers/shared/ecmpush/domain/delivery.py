"""What FCM answered for one push, and what that answer means for the device and the SQS item.

FCM reports errors as a google.rpc.Status `status` plus an optional FcmError `errorCode`; the
sender adapter reduces both to one `error_code` string so this table stays the only place that
decides which answers are permanent, which remove the token and which are worth a retry."""

from __future__ import annotations

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


@dataclass(frozen=True)
class SendResult:
    """One FCM answer, aligned with the push it belongs to."""

    message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after_seconds: float | None = None

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
    }
)
DEAD_TOKEN_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH", "NOT_FOUND"})


def classify(result: SendResult) -> FcmOutcome:
    """Map an FCM answer to what dispatch does next.

    INVALID_ARGUMENT is FCM's answer both to a malformed token and to a malformed message; our
    messages are validated before sending, so it removes the token only when FCM names the token.
    """
    code = result.error_code
    if code is None:
        return FcmOutcome.SENT
    if code in DEAD_TOKEN_CODES:
        return FcmOutcome.REMOVE_TOKEN
    if code == "INVALID_ARGUMENT" and "registration token" in (result.error_message or "").lower():
        return FcmOutcome.REMOVE_TOKEN
    if code in TRANSIENT_CODES:
        return FcmOutcome.RETRY
    return FcmOutcome.PERMANENT
