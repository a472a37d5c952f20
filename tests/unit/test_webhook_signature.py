"""X-Ecmpush-Signature (contract §1): HMAC-SHA256 over "<t>.<raw body>", any v1 entry matching any
active secret passes; anything malformed, wrong or outside the 300 s window is InvalidSignature."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ecmpush.entrypoints.webhook_signature import (
    REPLAY_WINDOW_SECONDS,
    InvalidSignature,
    sign,
    verify,
)

SECRET = b"current-secret"
PREVIOUS = b"previous-secret"
BODY = b'{"id":"evt-1","type":"task.completed"}'
T = 1_764_324_000  # 2025-11-28T10:00:00Z


def digest(secret: bytes, timestamp: int, body: bytes = BODY) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_sign_produces_the_documented_header_format() -> None:
    assert sign(SECRET, T, BODY) == f"t={T},v1={digest(SECRET, T)}"


def test_round_trip_passes() -> None:
    verify(sign(SECRET, T, BODY), BODY, [SECRET], now=T)


def test_empty_body_round_trip_passes() -> None:
    verify(sign(SECRET, T, b""), b"", [SECRET], now=T)


def test_any_of_several_v1_entries_may_match() -> None:
    header = f"t={T},v1={digest(b'unknown', T)},v1={digest(SECRET, T)},v1={'0' * 64}"
    verify(header, BODY, [SECRET], now=T)


def test_header_signed_with_old_and_new_secret_passes_with_either_active() -> None:
    header = f"t={T},v1={digest(PREVIOUS, T)},v1={digest(SECRET, T)}"
    verify(header, BODY, [SECRET], now=T)
    verify(header, BODY, [PREVIOUS], now=T)


@pytest.mark.parametrize("signing_secret", [SECRET, PREVIOUS])
def test_any_active_secret_passes(signing_secret: bytes) -> None:
    verify(sign(signing_secret, T, BODY), BODY, [SECRET, PREVIOUS], now=T)


def test_secret_that_is_no_longer_active_fails() -> None:
    with pytest.raises(InvalidSignature):
        verify(sign(PREVIOUS, T, BODY), BODY, [SECRET], now=T)


def test_no_active_secret_fails() -> None:
    with pytest.raises(InvalidSignature):
        verify(sign(SECRET, T, BODY), BODY, [], now=T)


@pytest.mark.parametrize("offset", [-REPLAY_WINDOW_SECONDS, 0, REPLAY_WINDOW_SECONDS])
def test_replay_window_edges_pass(offset: int) -> None:
    """Exactly 300 s old or 300 s in the future is still inside the window."""
    verify(sign(SECRET, T, BODY), BODY, [SECRET], now=T + offset)


@pytest.mark.parametrize(
    "now",
    [
        T + REPLAY_WINDOW_SECONDS + 1,  # 301 s old
        T - REPLAY_WINDOW_SECONDS - 1,  # 301 s in the future
        T + REPLAY_WINDOW_SECONDS + 0.5,  # the handler passes time.time(), a float
        T - REPLAY_WINDOW_SECONDS - 0.5,
        T + 86_400,
    ],
)
def test_outside_replay_window_fails(now: float) -> None:
    with pytest.raises(InvalidSignature, match="replay window"):
        verify(sign(SECRET, T, BODY), BODY, [SECRET], now=now)


def test_replay_window_is_checked_even_for_a_correct_signature_of_an_old_timestamp() -> None:
    old = T - 3600
    with pytest.raises(InvalidSignature):
        verify(sign(SECRET, old, BODY), BODY, [SECRET], now=T)


def test_custom_window_is_honoured() -> None:
    verify(sign(SECRET, T, BODY), BODY, [SECRET], now=T + 10, window=10)
    with pytest.raises(InvalidSignature):
        verify(sign(SECRET, T, BODY), BODY, [SECRET], now=T + 11, window=10)


@pytest.mark.parametrize(
    "tampered",
    [
        BODY + b" ",
        BODY[:-1],
        BODY.replace(b"evt-1", b"evt-2"),
        b"",
    ],
)
def test_tampered_body_fails(tampered: bytes) -> None:
    with pytest.raises(InvalidSignature):
        verify(sign(SECRET, T, BODY), tampered, [SECRET], now=T)


def test_signature_moved_to_another_timestamp_fails() -> None:
    """The timestamp is part of the signed string: re-dating a captured request breaks it."""
    header = f"t={T + 100},v1={digest(SECRET, T)}"
    with pytest.raises(InvalidSignature):
        verify(header, BODY, [SECRET], now=T)


def test_uppercase_hex_is_accepted() -> None:
    header = f"t={T},v1={digest(SECRET, T).upper()}"
    verify(header, BODY, [SECRET], now=T)


def test_spaces_around_the_separators_are_tolerated() -> None:
    header = f" t={T} , v1={digest(SECRET, T)} "
    verify(header, BODY, [SECRET], now=T)


def test_unknown_schemes_are_ignored_next_to_a_valid_v1() -> None:
    header = f"t={T},v0=deadbeef,v1={digest(SECRET, T)}"
    verify(header, BODY, [SECRET], now=T)


def good_v1() -> str:
    return digest(SECRET, T)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"{T}",
        f"t={T}",  # no v1
        f"v1={'0' * 64}",  # no t
        f"t={T},v0={'0' * 64}",  # only an unknown scheme
        f"t={T},v1=",  # empty v1
        f"t=,v1={'0' * 64}",  # empty t
        f"t={T},t={T},v1={'0' * 64}",  # duplicate t
        f"t={T},t={T + 1},v1={'0' * 64}",
        f"t=-{T},v1={'0' * 64}",  # sign
        f"t=+{T},v1={'0' * 64}",
        f"t={T}.0,v1={'0' * 64}",  # not an integer
        f"t=1e9,v1={'0' * 64}",
        f"t=0x{T:x},v1={'0' * 64}",
        f"t=abc,v1={'0' * 64}",
        f"t={T},,v1={'0' * 64}",  # empty part
        f"t={T},v1={'0' * 64},",  # trailing comma
        f"t={T};v1={'0' * 64}",  # wrong separator
        f"t={T},v1",  # part without '='
    ],
)
def test_malformed_header_fails(header: str | None) -> None:
    with pytest.raises(InvalidSignature):
        verify(header, BODY, [SECRET], now=T)


@pytest.mark.parametrize(
    "header",
    [
        f"t= {T},v1={good_v1()}",  # whitespace inside the timestamp value
        f"t={T} 0,v1={good_v1()}",
        f"t = {T},v1={good_v1()}",  # 't ' is not 't': no timestamp at all
        f"t\t={T},v1={good_v1()}",
        f"T={T},v1={good_v1()}",  # keys are case-sensitive
    ],
)
def test_whitespace_or_case_inside_a_part_is_malformed(header: str) -> None:
    with pytest.raises(InvalidSignature):
        verify(header, BODY, [SECRET], now=T)


def test_duplicate_t_fails_even_when_both_are_correct() -> None:
    header = f"t={T},v1={good_v1()},t={T}"
    with pytest.raises(InvalidSignature, match="timestamp"):
        verify(header, BODY, [SECRET], now=T)


def _padded_header(length: int) -> str:
    """A valid header padded with decoy v1 entries to exactly `length` characters."""
    header = sign(SECRET, T, BODY) + ",v1="
    header += "0" * (length - len(header))
    assert len(header) == length
    return header


def test_header_of_the_maximum_length_is_read() -> None:
    verify(_padded_header(2048), BODY, [SECRET], now=T)


def test_overlong_header_fails_even_with_a_valid_signature() -> None:
    with pytest.raises(InvalidSignature, match="malformed"):
        verify(_padded_header(2049), BODY, [SECRET], now=T)


def test_many_v1_entries_without_a_match_fail() -> None:
    header = f"t={T}" + f",v1={'a' * 64}" * 20
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(header, BODY, [SECRET, PREVIOUS], now=T)


# --- Bugs: inputs an unauthenticated caller controls must give 401, never a 500 ---------------


def test_superscript_digit_timestamp_is_malformed_not_a_crash() -> None:
    with pytest.raises(InvalidSignature):
        verify(f"t=\u00b2,v1={'0' * 64}", BODY, [SECRET], now=T)


def test_non_ascii_decimal_digits_in_timestamp_are_malformed() -> None:
    arabic = str(T).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    header = f"t={arabic},v1={good_v1()}"
    with pytest.raises(InvalidSignature):
        verify(header, BODY, [SECRET], now=T)


def test_non_ascii_v1_fails_cleanly() -> None:
    with pytest.raises(InvalidSignature):
        verify(f"t={T},v1=\u00e9{'0' * 63}", BODY, [SECRET], now=T)


def test_huge_timestamp_fails_cleanly_with_a_float_clock() -> None:
    with pytest.raises(InvalidSignature):
        verify(f"t={'9' * 400},v1={'0' * 64}", BODY, [SECRET], now=float(T))
