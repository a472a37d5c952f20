"""Issue 9, finding 2 (installation ids of enough entropy): what a new registration may use."""

from __future__ import annotations

import pytest

from ecmpush.domain.devices import weak_installation_id


@pytest.mark.parametrize(
    "value",
    [
        # Fixed values: xdist workers must collect the same test ids.
        "3f2b8c1e-9a4d-4e7b-b6c2-5d8e1f0a7c93",
        "3F2B8C1E-9A4D-4E7B-B6C2-5D8E1F0A7C93",
        "web-6a1d3e9f-2b7c-4c8a-9e5f-0b4d7a2c1e86",  # what clients/web generates
        "Qm9yTk1lZkR3cF9YbGtz-A",  # secrets.token_urlsafe(16): 22 characters
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
