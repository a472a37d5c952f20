"""`IdTokenVerifier` on firebase-admin's `auth.verify_id_token` (signature against Google's
securetoken certificates, `kid`, RS256, audience, issuer, subject, expiry).

Failures become `Unauthenticated` with a fixed, short reason: the SDK's and google-auth's
messages can quote the token itself (e.g. "Wrong number of segments in token: b'...'"), so they
are neither passed on nor chained.

When the SDK considers itself pointed at the Auth emulator it skips the signature and expiry
checks. The local stack never needs that (it serves real certificates, see `firebase_app`), so
an emulated SDK means a misconfigured deployment, and verification refuses to run rather than
accept forged tokens. The SDK's own predicate decides, so the guard follows any change to it."""

from __future__ import annotations

from typing import Any

import firebase_admin
from firebase_admin import _auth_utils, auth, exceptions

from ecmpush.domain.identity import Principal, Unauthenticated


class FirebaseIdTokenVerifier:
    """Verifies bearer tokens of the App's Firebase project (contract §2)."""

    def __init__(
        self,
        app: firebase_admin.App,
        *,
        ecm_user_claim: str = "ecm_user",
        external_id_claim: str = "ecm_external",
        clock_skew_seconds: int = 5,
    ) -> None:
        if not 0 <= clock_skew_seconds <= 60:
            raise ValueError("clock_skew_seconds must be between 0 and 60 (the SDK's limit)")
        self._app = app
        self._ecm_user_claim = ecm_user_claim
        self._external_id_claim = external_id_claim
        self._clock_skew_seconds = clock_skew_seconds

    def verify(self, bearer_token: str) -> Principal:
        """`bearer_token` is the token itself; a leading "Bearer " is tolerated."""
        if _auth_utils.is_emulated():
            raise RuntimeError(
                "firebase-admin is configured for the Auth emulator: it would accept unsigned "
                "and expired ID tokens, so ecmpush refuses to verify any. Remove the emulator "
                "setting (the local stack serves real certificates instead)."
            )
        token = bearer_token.strip()
        scheme, _, rest = token.partition(" ")
        if scheme.lower() == "bearer":
            token = rest.strip()
        if not token:
            raise Unauthenticated("missing ID token")
        claims = self._verified_claims(token)
        ecm_user = _claim(claims, self._ecm_user_claim)
        external_id = _claim(claims, self._external_id_claim)
        if ecm_user is None and external_id is None:
            raise Unauthenticated(
                f"ID token carries neither a {self._ecm_user_claim!r} "
                f"nor an {self._external_id_claim!r} claim"
            )
        return Principal(uid=str(claims["uid"]), ecm_user=ecm_user, external_id=external_id)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        reason: str
        try:
            claims: dict[str, Any] = auth.verify_id_token(
                token, app=self._app, clock_skew_seconds=self._clock_skew_seconds
            )
            return claims
        except auth.ExpiredIdTokenError:
            reason = "ID token expired"
        except auth.InvalidIdTokenError:
            reason = "ID token invalid (signature, audience, issuer or format)"
        except auth.CertificateFetchError:
            reason = "ID token could not be checked: signing certificates unavailable"
        except (ValueError, exceptions.FirebaseError):
            reason = "ID token malformed"
        raise Unauthenticated(reason) from None


def _claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None
