"""Issue 9, finding 2 (installation ids of enough entropy): what a new registration may use."""

from __future__ import annotations

import uuid

import pytest

from ecmpush.domain.delivery.installation_ids import weak_installation_id


@pytest.mark.parametrize(
    "value",
    [
        # Fixed samples (random ones would differ between xdist workers' collections).
        str(uuid.UUID(int=0x5F3A9C1E7D2B6E4A8C1F9A7D2E4B6C8A)),
        str(uuid.UUID(int=0x5F3A9C1E7D2B6E4A8C1F9A7D2E4B6C8A)).upper(),
        "web-0b6f2c1e-93a4-4d7e-8f21-6c5a9e3b7d40",  # what clients/web generates
        "qyZuAPDI3AOQaMCibYzlQg",  # secrets.token_urlsafe(16): 22 characters
        "cX7RkM2aTqW9bLp0vN4eYs",  # the shape of a Firebase installation id
        "8f3a1c9e2b7d4a60",  # an Android id: 16 hex digits
    ],
)
def test_random_ids_are_accepted(value: str) -> None:
    assert weak_installation_id(value) is None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("my-phone", "at least 16 characters"),  # the README's old example
        ("ipad-1", "at least 16 characters"),
        ("a" * 16, "different characters"),
        ("abababababababab", "different characters"),
        ("1234512345123451", "different characters"),
        ("phone.of.asmith.01", "at least 16 characters"),  # '.' is not URL-safe base64
        ("x" * 129, "at least 16 characters"),
    ],
)
def test_guessable_ids_are_refused(value: str, why: str) -> None:
    refusal = weak_installation_id(value)
    assert refusal is not None
    assert why in refusal
