"""Verifies `X-Ecmpush-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]` (contract §1).

The timestamp is signed with the body so a captured request cannot be replayed after the
window; several `v1` entries let a sender sign with the old and the new secret during rotation."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

REPLAY_WINDOW_SECONDS = 300
_MAX_HEADER = 2048
# ASCII only: str.isdigit() also accepts '²' and Arabic-Indic digits, which int() rejects or reads.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


class InvalidSignature(Exception):
    """The request is not provably from a holder of an active webhook secret (401)."""


class SignatureMismatch(InvalidSignature):
    """Well-formed and fresh, but no active secret produces it: possibly a secret rotated after
    this container cached the active set, so worth one re-read before refusing."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The header value an ECM-side sender puts on a request (used by the demo and tests)."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    header: str | None,
    body: bytes,
    secrets: Sequence[bytes],
    now: float,
    window: int = REPLAY_WINDOW_SECONDS,
) -> None:
    if not header:
        raise InvalidSignature("missing X-Ecmpush-Signature header")
    if len(header) > _MAX_HEADER:
        raise InvalidSignature("malformed X-Ecmpush-Signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise InvalidSignature("malformed X-Ecmpush-Signature header")
        if key == "t":
            if timestamp is not None or not _TIMESTAMP.fullmatch(value):
                raise InvalidSignature("malformed X-Ecmpush-Signature timestamp")
            timestamp = int(value)
        elif key == "v1" and _HEX_DIGEST.fullmatch(value):
            candidates.append(value.lower())  # anything else could never match: ignored
    if timestamp is None or not candidates:
        raise InvalidSignature("X-Ecmpush-Signature needs t= and at least one v1=")
    if abs(now - timestamp) > window:
        raise InvalidSignature("X-Ecmpush-Signature timestamp outside the replay window")
    signed = f"{timestamp}.".encode() + body
    for secret in secrets:
        expected = hmac.new(secret, signed, hashlib.sha256).hexdigest()
        # Compare against every candidate so timing does not reveal which one matched.
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return
    raise SignatureMismatch("X-Ecmpush-Signature does not match an active secret")
