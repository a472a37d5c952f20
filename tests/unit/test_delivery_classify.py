"""classify: the one table deciding what an FCM answer means (sent, remove the token, retry the
SQS item, or give up on this device)."""

from __future__ import annotations

import pytest

from ecmpush.domain.delivery import (
    DEAD_TOKEN_CODES,
    TRANSIENT_CODES,
    FcmOutcome,
    SendResult,
    classify,
)


def test_success_is_sent() -> None:
    assert classify(SendResult(message_id="projects/p/messages/1")) is FcmOutcome.SENT


def test_success_without_a_message_id_is_still_sent() -> None:
    assert classify(SendResult()) is FcmOutcome.SENT


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        # FcmError errorCode values (FCM HTTP v1)
        ("UNREGISTERED", FcmOutcome.REMOVE_TOKEN),
        ("SENDER_ID_MISMATCH", FcmOutcome.REMOVE_TOKEN),
        ("QUOTA_EXCEEDED", FcmOutcome.RETRY),
        ("UNAVAILABLE", FcmOutcome.RETRY),
        ("INTERNAL", FcmOutcome.RETRY),
        ("THIRD_PARTY_AUTH_ERROR", FcmOutcome.PERMANENT),
        ("INVALID_ARGUMENT", FcmOutcome.PERMANENT),
        ("UNSPECIFIED_ERROR", FcmOutcome.PERMANENT),
        # canonical google.rpc codes the sender falls back to
        ("NOT_FOUND", FcmOutcome.REMOVE_TOKEN),
        ("RESOURCE_EXHAUSTED", FcmOutcome.RETRY),
        ("DEADLINE_EXCEEDED", FcmOutcome.RETRY),
        ("UNKNOWN", FcmOutcome.RETRY),
        ("PERMISSION_DENIED", FcmOutcome.PERMANENT),
        ("UNAUTHENTICATED", FcmOutcome.PERMANENT),
        ("FAILED_PRECONDITION", FcmOutcome.PERMANENT),
        # anything else is not retried forever
        ("SOMETHING_NEW", FcmOutcome.PERMANENT),
        ("", FcmOutcome.PERMANENT),
    ],
)
def test_every_code_has_an_outcome(code: str, outcome: FcmOutcome) -> None:
    assert classify(SendResult(error_code=code, error_message="x")) is outcome


def test_code_sets_are_disjoint() -> None:
    assert not DEAD_TOKEN_CODES & TRANSIENT_CODES


@pytest.mark.parametrize("code", sorted(DEAD_TOKEN_CODES))
def test_dead_token_codes_remove_the_token(code: str) -> None:
    assert classify(SendResult(error_code=code)) is FcmOutcome.REMOVE_TOKEN


@pytest.mark.parametrize("code", sorted(TRANSIENT_CODES))
def test_transient_codes_retry_whatever_the_message(code: str) -> None:
    result = SendResult(error_code=code, error_message="registration token", retry_after_seconds=3)
    assert classify(result) is FcmOutcome.RETRY


@pytest.mark.parametrize(
    "message",
    [
        "The registration token is not a valid FCM registration token",
        "Invalid REGISTRATION TOKEN",
        "message.token: registration token is malformed",
    ],
)
def test_invalid_argument_naming_the_registration_token_removes_it(message: str) -> None:
    result = SendResult(error_code="INVALID_ARGUMENT", error_message=message)
    assert classify(result) is FcmOutcome.REMOVE_TOKEN


@pytest.mark.parametrize(
    "message",
    [
        None,
        "",
        "Request contains an invalid argument.",
        "Invalid value at 'message.data[0].value' (TYPE_STRING)",
        "Message is too big",
        "token",  # 'token' alone is not the registration token
        "not sent, rejected locally: Message.data must not contain reserved key 'from'",
    ],
)
def test_invalid_argument_not_about_the_token_is_permanent(message: str | None) -> None:
    result = SendResult(error_code="INVALID_ARGUMENT", error_message=message)
    assert classify(result) is FcmOutcome.PERMANENT


def test_ok_follows_the_error_code() -> None:
    assert SendResult(message_id="m").ok
    assert not SendResult(error_code="UNAVAILABLE").ok
