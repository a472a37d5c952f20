"""Action tokens: what lets a push's buttons act on exactly one ECM task, for one person, for a
while (contract §3). Signed with HMAC-SHA256 rather than a JWT library: both ends are ecmpush,
the format is two base64url parts, and keeping it small keeps the push under 4 KiB."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass

_PREFIX = "v1"


class ActionTokenInvalid(Exception):
    """Malformed or not signed by an active key (401)."""


class ActionTokenUnknownKey(ActionTokenInvalid):
    """Well formed, but signed by none of the keys given: either forged, or signed with a key
    newer than the verifier's cached ones (a rotation it has not seen yet)."""


class ActionTokenExpired(Exception):
    """Well signed but past its expiry (410)."""


@dataclass(frozen=True)
class ActionClaims:
    notification_id: str
    ecm_user: str
    process_id: str
    subprocess_id: str
    task_id: str
    actions: tuple[str, ...]
    expires_at: int  # unix seconds

    def to_wire(self) -> dict[str, object]:
        return {
            "n": self.notification_id,
            "u": self.ecm_user,
            "t": [self.process_id, self.subprocess_id, self.task_id],
            "a": list(self.actions),
            "e": self.expires_at,
        }

    @classmethod
    def from_wire(cls, raw: object) -> ActionClaims:
        if not isinstance(raw, dict):
            raise ActionTokenInvalid("action token claims are malformed")
        try:
            process_id, subprocess_id, task_id = (str(part) for part in raw["t"])
            return cls(
                notification_id=str(raw["n"]),
                ecm_user=str(raw["u"]),
                process_id=process_id,
                subprocess_id=subprocess_id,
                task_id=task_id,
                actions=tuple(str(a) for a in raw["a"]),
                expires_at=int(raw["e"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ActionTokenInvalid("action token claims are malformed") from exc


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Strict: only the canonical unpadded form decodes, so one token has exactly one spelling
    (single-use checks and logs key on the text)."""
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:
        raise ValueError("non-canonical base64url")
    return raw


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode(), hashlib.sha256).digest()


def sign(claims: ActionClaims, key: bytes) -> str:
    payload = _b64(json.dumps(claims.to_wire(), separators=(",", ":")).encode())
    signed = f"{_PREFIX}.{payload}"
    return f"{signed}.{_b64(_mac(key, signed))}"


def verify(token: str, keys: Sequence[bytes], now: float) -> ActionClaims:
    """Check the signature against every active key, then the expiry; return the claims."""
    parts = token.split(".") if isinstance(token, str) and len(token) < 4096 else []
    if len(parts) != 3 or parts[0] != _PREFIX:
        raise ActionTokenInvalid("action token is malformed")
    signed = f"{parts[0]}.{parts[1]}"
    try:
        signature = _unb64(parts[2])
    except ValueError as exc:
        raise ActionTokenInvalid("action token is malformed") from exc
    # The signature is checked before the payload is parsed: nothing unsigned reaches json.
    if not any(hmac.compare_digest(_mac(key, signed), signature) for key in keys):
        raise ActionTokenUnknownKey("action token signature does not match")
    try:
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ActionTokenInvalid("action token is malformed") from exc
    claims = ActionClaims.from_wire(payload)
    if claims.expires_at <= now:
        raise ActionTokenExpired("action token has expired")
    return claims
