"""The FCM adapter's one table reading FCM's error codes (an invalid token, worth a retry, the
platform's credentials, or failed), and the domain's suspicion of the service account."""

from __future__ import annotations

import pytest

from ecmpush.adapters.fcm_errors import (
    DEAD_TOKEN_CODES,
    TRANSIENT_CODES,
    FcmAnswer,
    classify,
    send_result,
)
from ecmpush.domain.delivery.outcomes import SendResult, SendVerdict, suspect_credentials


def test_a_result_without_an_error_is_sent() -> None:
    assert SendResult(message_id="projects/p/messages/1").verdict is SendVerdict.SENT
    assert SendResult().ok


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        # FcmError errorCode values (FCM HTTP v1)
        ("UNREGISTERED", SendVerdict.INVALID_TOKEN),
        ("SENDER_ID_MISMATCH", SendVerdict.INVALID_TOKEN),
        ("QUOTA_EXCEEDED", SendVerdict.RETRY),
        ("UNAVAILABLE", SendVerdict.RETRY),
        ("INTERNAL", SendVerdict.RETRY),
        ("THIRD_PARTY_AUTH_ERROR", SendVerdict.PLATFORM_AUTH),
        ("APNS_AUTH_ERROR", SendVerdict.PLATFORM_AUTH),
        ("INVALID_ARGUMENT", SendVerdict.FAILED),
        ("UNSPECIFIED_ERROR", SendVerdict.FAILED),
        # canonical google.rpc codes the sender falls back to
        ("NOT_FOUND", SendVerdict.INVALID_TOKEN),
        ("RESOURCE_EXHAUSTED", SendVerdict.RETRY),
        ("DEADLINE_EXCEEDED", SendVerdict.RETRY),
        ("UNKNOWN", SendVerdict.RETRY),
        ("PERMISSION_DENIED", SendVerdict.FAILED),
        ("UNAUTHENTICATED", SendVerdict.RETRY),  # our access token: fetched anew, then retried
        ("FAILED_PRECONDITION", SendVerdict.FAILED),
        # anything else is not retried forever
        ("SOMETHING_NEW", SendVerdict.FAILED),
        ("", SendVerdict.FAILED),
    ],
)
def test_every_code_has_an_outcome(code: str, outcome: SendVerdict) -> None:
    assert classify(FcmAnswer(error_code=code, error_message="x")) is outcome


def test_code_sets_are_disjoint() -> None:
    assert not DEAD_TOKEN_CODES & TRANSIENT_CODES


@pytest.mark.parametrize("code", sorted(DEAD_TOKEN_CODES))
def test_dead_token_codes_remove_the_token(code: str) -> None:
    assert classify(FcmAnswer(error_code=code)) is SendVerdict.INVALID_TOKEN


@pytest.mark.parametrize("code", sorted(TRANSIENT_CODES))
def test_transient_codes_retry_whatever_the_message(code: str) -> None:
    result = FcmAnswer(error_code=code, error_message="registration token", retry_after_seconds=3)
    assert classify(result) is SendVerdict.RETRY


@pytest.mark.parametrize("field", ["message.token", "message.fid"])
def test_invalid_argument_whose_violation_names_the_target_removes_it(field: str) -> None:
    result = FcmAnswer(
        error_code="INVALID_ARGUMENT",
        error_message="Request contains an invalid argument.",  # FCM's generic wording
        field_violations=(field,),
    )
    assert classify(result) is SendVerdict.INVALID_TOKEN


INVALID_TOKEN = "The registration token is not a valid FCM registration token"


def test_googles_documented_invalid_token_answer_removes_the_token() -> None:
    """FCM's error-codes page: 400 INVALID_ARGUMENT, this message, only an FcmError detail."""
    result = FcmAnswer(
        error_code="INVALID_ARGUMENT",
        error_message=INVALID_TOKEN,
        fcm_error_code="INVALID_ARGUMENT",
    )
    assert classify(result) is SendVerdict.INVALID_TOKEN


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
    result = FcmAnswer(
        error_code="INVALID_ARGUMENT",
        error_message=message,
        field_violations=fields,
        fcm_error_code=fcm_error_code,
    )
    assert classify(result) is SendVerdict.FAILED


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
    results = [
        SendResult() if code is None else send_result(FcmAnswer(error_code=code)) for code in codes
    ]
    assert suspect_credentials(results) is suspect


def test_an_error_answer_keeps_its_code_and_is_not_ok() -> None:
    result = send_result(FcmAnswer("QUOTA_EXCEEDED", "slow down", retry_after_seconds=30))
    assert not result.ok
    assert (result.verdict, result.error_code, result.error_message) == (
        SendVerdict.RETRY,
        "QUOTA_EXCEEDED",
        "slow down",
    )
    assert (result.retry_after_seconds, result.project_quota, result.wrong_project) == (
        30,
        True,
        False,
    )
    assert send_result(FcmAnswer("UNAVAILABLE", retry_after_seconds=5)).project_quota is False
