"""Action tokens (contract §3): "v1.<claims>.<hmac>", verified against every active key; a bad
or malformed token is ActionTokenInvalid (401), a well-signed stale one ActionTokenExpired (410),
and no input whatsoever makes verify raise anything else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace

import pytest

from ecmpush.domain.replies.action_token import (
    ActionClaims,
    ActionTokenExpired,
    ActionTokenInvalid,
    sign,
    verify,
)

NEW = b"k" * 32
OLD = b"o" * 32
NOW = 1_764_324_000

CLAIMS = ActionClaims(
    notification_id="a188d93b-7a4c-5f99-9406-a9f43e1bc996",
    ecm_user="asmith",
    process_id="4711",
    subprocess_id="4712",
    task_id="1",
    actions=("approve", "reject", "request_info"),
    expires_at=NOW + 3600,
)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_token(payload: bytes, key: bytes = NEW, prefix: str = "v1") -> str:
    """A token with an arbitrary payload and a correct signature (what only a key holder makes)."""
    signed = f"{prefix}.{b64(payload)}"
    mac = hmac.new(key, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{b64(mac)}"


# --- round trip and rotation --------------------------------------------------------------------


def test_round_trip_returns_the_same_claims() -> None:
    assert verify(sign(CLAIMS, NEW), [NEW], now=NOW) == CLAIMS


def test_token_has_three_url_safe_parts_and_the_v1_prefix() -> None:
    token = sign(CLAIMS, NEW)
    prefix, payload, signature = token.split(".")
    assert prefix == "v1"
    assert "=" not in token
    assert set(payload + signature) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert len(unb64(signature)) == 32


def test_claims_travel_in_the_compact_wire_form() -> None:
    payload = json.loads(unb64(sign(CLAIMS, NEW).split(".")[1]))
    assert payload == {
        "n": CLAIMS.notification_id,
        "u": "asmith",
        "t": ["4711", "4712", "1"],
        "a": ["approve", "reject", "request_info"],
        "e": NOW + 3600,
    }


def test_token_stays_small() -> None:
    """It rides in a 4 KiB push next to title and body."""
    assert len(sign(CLAIMS, NEW)) < 300


def test_non_ascii_claims_round_trip() -> None:
    claims = replace(CLAIMS, ecm_user="jürgen.müller", notification_id="n-😀")
    assert verify(sign(claims, NEW), [NEW], now=NOW) == claims


def test_signing_is_deterministic() -> None:
    assert sign(CLAIMS, NEW) == sign(CLAIMS, NEW)
    assert sign(CLAIMS, NEW) != sign(CLAIMS, OLD)


def test_token_signed_with_the_previous_key_verifies_during_rotation() -> None:
    assert verify(sign(CLAIMS, OLD), [NEW, OLD], now=NOW) == CLAIMS
    assert verify(sign(CLAIMS, NEW), [NEW, OLD], now=NOW) == CLAIMS


def test_token_signed_with_a_retired_key_is_invalid() -> None:
    with pytest.raises(ActionTokenInvalid):
        verify(sign(CLAIMS, OLD), [NEW], now=NOW)


def test_no_active_keys_means_invalid() -> None:
    with pytest.raises(ActionTokenInvalid):
        verify(sign(CLAIMS, NEW), [], now=NOW)


# --- tampering ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"ecm_user": "mallory"},
        {"actions": ("approve", "reject", "request_info", "acknowledge")},
        {"task_id": "2"},
        {"expires_at": NOW + 10**6},
        {"notification_id": "other"},
    ],
)
def test_swapped_payload_is_invalid(change: dict[str, object]) -> None:
    prefix, _, signature = sign(CLAIMS, NEW).split(".")
    forged_payload = sign(replace(CLAIMS, **change), OLD).split(".")[1]  # type: ignore[arg-type]
    with pytest.raises(ActionTokenInvalid):
        verify(f"{prefix}.{forged_payload}.{signature}", [NEW, OLD], now=NOW)


def test_every_single_character_change_of_the_payload_is_invalid() -> None:
    token = sign(CLAIMS, NEW)
    prefix, payload, signature = token.split(".")
    for index in range(len(payload)):
        swapped = "A" if payload[index] != "A" else "B"
        tampered = f"{prefix}.{payload[:index]}{swapped}{payload[index + 1 :]}.{signature}"
        with pytest.raises(ActionTokenInvalid):
            verify(tampered, [NEW], now=NOW)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-2],  # truncated
        lambda s: s[::-1],  # reversed
        lambda s: ("A" if s[0] != "A" else "B") + s[1:],  # first byte changed
        lambda s: b64(b"\x00" * 32),
        lambda s: "",
        lambda s: s + s,
    ],
)
def test_tampered_signature_is_invalid(mangle: Callable[[str], str]) -> None:
    prefix, payload, signature = sign(CLAIMS, NEW).split(".")
    with pytest.raises(ActionTokenInvalid):
        verify(f"{prefix}.{payload}.{mangle(signature)}", [NEW], now=NOW)


# --- expiry -------------------------------------------------------------------------------------


def test_one_second_before_expiry_is_valid() -> None:
    assert verify(sign(CLAIMS, NEW), [NEW], now=CLAIMS.expires_at - 1) == CLAIMS


@pytest.mark.parametrize("after", [0, 0.001, 1, 86_400 * 365])
def test_at_or_after_expiry_is_expired(after: float) -> None:
    with pytest.raises(ActionTokenExpired):
        verify(sign(CLAIMS, NEW), [NEW], now=CLAIMS.expires_at + after)


def test_expired_token_with_the_previous_key_is_still_expired() -> None:
    with pytest.raises(ActionTokenExpired):
        verify(sign(CLAIMS, OLD), [NEW, OLD], now=CLAIMS.expires_at)


def test_expired_is_not_a_kind_of_invalid() -> None:
    """The handler answers 410 for one and 401 for the other; neither may catch the other."""
    assert not issubclass(ActionTokenExpired, ActionTokenInvalid)
    assert not issubclass(ActionTokenInvalid, ActionTokenExpired)


def test_expired_token_with_a_bad_signature_is_invalid_not_expired() -> None:
    """Expiry is only news for a token we signed; a forger must not learn anything from it."""
    expired = sign(CLAIMS, NEW)
    with pytest.raises(ActionTokenInvalid):
        verify(expired, [OLD], now=CLAIMS.expires_at + 10)
    prefix, payload, signature = expired.split(".")
    with pytest.raises(ActionTokenInvalid):
        verify(f"{prefix}.{payload}.{signature[:-4]}AAAA", [NEW], now=CLAIMS.expires_at + 10)


# --- prefix and garbage -------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["v2", "V1", "v0", "", "v1 ", "jwt"])
def test_wrong_prefix_is_invalid_even_when_correctly_signed(prefix: str) -> None:
    payload = json.dumps(CLAIMS.to_wire()).encode()
    with pytest.raises(ActionTokenInvalid):
        verify(signed_token(payload, prefix=prefix), [NEW], now=NOW)


GARBAGE: list[object] = [
    None,
    0,
    12.5,
    b"v1.e30.AAAA",
    ["v1", "e30", "AAAA"],
    {"token": "v1"},
    "",
    ".",
    "..",
    "...",
    "v1",
    "v1.",
    "v1..",
    "v1.e30",
    "v1.e30.AAAA.AAAA",
    "v1.!!!.###",
    "v1.%%%%.AAAA",
    "v1.e30.\u00e9\u00e9\u00e9\u00e9",
    "v1.\u00e9\u00e9\u00e9\u00e9.AAAA",
    "v1.\x00.\x00",
    "v1.A.A",  # impossible base64 length
    "v1.e30=.AAAA",
    "v1." + "A" * 5000 + ".AAAA",
    "v1." + b64(b"\xff\xfe\xfd") + ".AAAA",  # not UTF-8
    "v1." + b64(b"not json") + ".AAAA",
    "v1." + b64(b"{}") + "." + "A" * 5000,
    "x" * 100_000,
    "v1.e30.AAAA" + "\n",
    "\ud800",
]


@pytest.mark.parametrize("token", GARBAGE, ids=[repr(g)[:40] for g in GARBAGE])
def test_garbage_is_invalid(token: object) -> None:
    with pytest.raises(ActionTokenInvalid):
        verify(token, [NEW, OLD], now=NOW)  # type: ignore[arg-type]


SIGNED_BAD_CLAIMS: list[bytes] = [
    b"[]",
    b'"asmith"',
    b"42",
    b"null",
    b"true",
    b"{}",
    b'{"n":"x","u":"y","t":["a","b","c"],"a":[]}',  # no expiry
    b'{"n":"x","u":"y","t":["a","b"],"a":[],"e":1}',  # task with two parts
    b'{"n":"x","u":"y","t":["a","b","c","d"],"a":[],"e":1}',
    b'{"n":"x","u":"y","t":5,"a":[],"e":1}',
    b'{"n":"x","u":"y","t":null,"a":[],"e":1}',
    b'{"n":"x","u":"y","t":["a","b","c"],"a":5,"e":1}',
    b'{"n":"x","u":"y","t":["a","b","c"],"a":[],"e":"soon"}',
    b'{"n":"x","u":"y","t":["a","b","c"],"a":[],"e":null}',
    b'{"n":"x","u":"y","t":["a","b","c"],"a":[],"e":[1]}',
    b'{"n":"x","u":"y","t":["a","b","c"],"a":[],"e":NaN}',
]


@pytest.mark.parametrize(
    "payload", SIGNED_BAD_CLAIMS, ids=[p.decode()[:40] for p in SIGNED_BAD_CLAIMS]
)
def test_correctly_signed_but_malformed_claims_are_invalid(payload: bytes) -> None:
    with pytest.raises(ActionTokenInvalid):
        verify(signed_token(payload), [NEW], now=NOW)


@pytest.mark.parametrize("raw", [[], "x", 1, None])
def test_from_wire_refuses_non_dicts(raw: object) -> None:
    with pytest.raises(ActionTokenInvalid):
        ActionClaims.from_wire(raw)


# --- Bugs ---------------------------------------------------------------------------------------


def test_deeply_nested_unsigned_payload_is_invalid() -> None:
    token = f"v1.{b64(b'[' * 1500)}.AAAA"
    with pytest.raises(ActionTokenInvalid):
        verify(token, [NEW], now=NOW)


def test_signed_infinite_expiry_is_invalid() -> None:
    payload = b'{"n":"x","u":"y","t":["a","b","c"],"a":[],"e":1e999}'
    with pytest.raises(ActionTokenInvalid):
        verify(signed_token(payload), [NEW], now=NOW)


@pytest.mark.parametrize("variant", ["padded", "trailing_bits"])
def test_only_the_canonical_token_string_verifies(variant: str) -> None:
    token = sign(CLAIMS, NEW)
    if variant == "padded":
        other = token + "=="
    else:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(token[-1])
        # 32 bytes are 43 base64 characters; the last one carries 2 unused bits.
        other = token[:-1] + alphabet[last ^ 1]
    assert other != token
    with pytest.raises(ActionTokenInvalid):
        verify(other, [NEW], now=NOW)
