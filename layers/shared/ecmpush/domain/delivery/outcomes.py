"""What FCM's answer to one push means for the device and the SQS item, and what became of
each delivery. The FCM adapter (adapters/fcm_errors.py) reads FCM's error codes into a
`SendResult`; nothing here knows those codes."""

from __future__ import annotations

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


class SendVerdict(StrEnum):
    """What FCM's answer to one push says (the FCM adapter reads FCM's codes into this)."""

    SENT = "sent"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - the token is dead or not FCM's: remove it
    RETRY = "retry"  # transient: worth another attempt, after `retry_after_seconds` if given
    FAILED = "failed"  # permanent for this push (a malformed message, a refused field)
    # APNs or web-push credentials of the Firebase project are wrong: not the device's fault
    # (no prune), and a retry meets the same answer (no retry storm). Alarmed.
    PLATFORM_AUTH = "platform_auth"


@dataclass(frozen=True)
class SendResult:
    """One FCM answer, aligned with the push it belongs to."""

    verdict: SendVerdict = SendVerdict.SENT
    message_id: str | None = None
    error_code: str | None = None  # FCM's code, as stored with the delivery and logged
    error_message: str | None = None
    retry_after_seconds: float | None = None
    # The answer says the token belongs to another Firebase project (SENDER_ID_MISMATCH, or a
    # 404 without FCM's errorCode): from most devices at once, that means ecmpush is the other
    # project (`suspect_credentials`).
    wrong_project: bool = False
    # A quota answer: FCM's quota is the project's, so its Retry-After holds every sender.
    project_quota: bool = False

    @property
    def ok(self) -> bool:
        return self.verdict is SendVerdict.SENT


# Share of one send's answers above which "token of another project" means "we are the other
# project": prune nothing, fail the batch, raise the alarm (`suspect_credentials`).
WRONG_PROJECT_SHARE = 0.5


def suspect_credentials(results: Sequence[SendResult]) -> bool:
    """True when at least half of one send's answers say "this token belongs to another
    project" (SENDER_ID_MISMATCH, or a 404 without FCM's errorCode): then the service account
    is the wrong one, and pruning would delete every device ecmpush knows."""
    wrong = sum(1 for r in results if r.wrong_project)
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
