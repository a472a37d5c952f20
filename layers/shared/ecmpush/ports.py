"""The interfaces services depend on; adapters implement them and tests may swap in fakes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ecmpush.domain.delivery import SendResult
from ecmpush.domain.identity import Principal
from ecmpush.domain.push import Push


class PushSender(Protocol):
    def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        """Send each push once; the result list is aligned with `pushes`. Never raises for a
        per-message FCM error: those are results. Raises only when nothing could be sent."""
        ...


class IdTokenVerifier(Protocol):
    def verify(self, bearer_token: str) -> Principal:
        """Verify a Firebase ID token (signature, expiry, audience, issuer); raise
        `Unauthenticated` for anything that is not a valid token of this project."""
        ...
