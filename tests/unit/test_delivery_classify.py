"""classify: the one table deciding what an FCM answer means (sent, remove the token, retry the
SQS item, or give up on this device)."""

from __future__ import annotations

import pytest

from ecmpush.domain.delivery.outcomes import (
    DEAD_TOKEN_CODES,
    TRANSIENT_CODES,
    FcmOutcome,
    SendResult,
    classify,
    suspect_credentials,
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
        ("THIRD_PARTY_AUTH_ERROR", FcmOutcome.PLATFORM_AUTH),
        ("APNS_AUTH_ERROR", FcmOutcome.PLATFORM_AUTH),
        ("INVALID_ARGUMENT", FcmOutcome.PERMANENT),
        ("UNSPECIFIED_ERROR", FcmOutcome.PERMANENT),
        # canonical google.rpc codes the sender falls back to
        ("NOT_FOUND", FcmOutcome.REMOVE_TOKEN),
        ("RESOURCE_EXHAUSTED", FcmOutcome.RETRY),
        ("DEADLINE_EXCEEDED", FcmOutcome.RETRY),
        ("UNKNOWN", FcmOutcome.RETRY),
        ("PERMISSION_DENIED", FcmOutcome.PERMANENT),
        ("UNAUTHENTICATED", FcmOutcome.RETRY),  # our access token: fetched anew, then retried
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


@pytest.mark.parametrize("field", ["message.token", "message.fid"])
def test_invalid_argument_whose_violation_names_the_target_removes_it(field: str) -> None:
    result = SendResult(
        error_code="INVALID_ARGUMENT",
        error_message="Request contains an invalid argument.",  # FCM's generic wording
        field_violations=(field,),
    )
    assert classify(result) is FcmOutcome.REMOVE_TOKEN


INVALID_TOKEN = "The registration token is not a valid FCM registration token"


def test_googles_documented_invalid_token_answer_removes_the_token() -> None:
    """FCM's error-codes page: 400 INVALID_ARGUMENT, this message, only an FcmError detail."""
    result = SendResult(
        error_code="INVALID_ARGUMENT",
        error_message=INVALID_TOKEN,
        fcm_error_code="INVALID_ARGUMENT",
    )
    assert classify(result) is FcmOutcome.REMOVE_TOKEN


@pytest.mark.parametrize(
    ("message", "fields", "fcm_error_code"),
    [
        ("Request contains an invalid argument.", (), None),
        (INVALID_TOKEN, (), None),  # the words without FCM's FcmError detail
        (INVALID_TOKEN, ("message.data[0].value",), "INVALID_ARGUMENT"),  # a field is to blame
        (
            "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
            ("message.data[0].value",),
            None,
        ),
        ("Message is too big", (), "INVALID_ARGUMENT"),
        ("Invalid data payload key: from", ("message.data",), "INVALID_ARGUMENT"),
        (f"not sent, rejected locally: {INVALID_TOKEN}", (), None),
    ],
)
def test_invalid_argument_not_about_the_token_is_permanent(
    message: str, fields: tuple[str, ...], fcm_error_code: str | None
) -> None:
    result = SendResult(
        error_code="INVALID_ARGUMENT",
        error_message=message,
        field_violations=fields,
        fcm_error_code=fcm_error_code,
    )
    assert classify(result) is FcmOutcome.PERMANENT


@pytest.mark.parametrize(
    ("codes", "suspect"),
    [
        (["SENDER_ID_MISMATCH"], True),  # one device, wrong project: never prune on that
        (["SENDER_ID_MISMATCH", "SENDER_ID_MISMATCH", None], True),
        (["NOT_FOUND", None], True),  # a bare 404 for half
        (["SENDER_ID_MISMATCH", None, None], False),  # one stale foreign token among good ones
        (["UNREGISTERED", "UNREGISTERED"], False),  # dead tokens are the devices' business
        ([], False),
        ([None, None], False),
    ],
)
def test_wrong_project_suspected_from_the_share_of_answers(
    codes: list[str | None], suspect: bool
) -> None:
    results = [SendResult(error_code=code) for code in codes]
    assert suspect_credentials(results) is suspect


def test_ok_follows_the_error_code() -> None:
    assert SendResult(message_id="m").ok
    assert not SendResult(error_code="UNAVAILABLE").ok
