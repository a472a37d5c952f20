"""`IdTokenVerifier` on firebase-admin's `auth.verify_id_token`, with revocation and disabled
users checked through a bounded cache of Firebase user accounts.
Why: docs/design/id-token-verification.md."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import firebase_admin
from firebase_admin import _auth_utils, auth, exceptions, tenant_mgt

from ecmpush.domain.identity import Principal, RevocationCheckUnavailable, Unauthenticated

MAX_CACHED_USERS = 10_000


@dataclass(frozen=True)
class _UserState:
    exists: bool
    disabled: bool
    valid_after_ms: int  # tokens issued before this are revoked
    read_at: float  # monotonic


class FirebaseIdTokenVerifier:
    """Verifies bearer tokens of the App's Firebase project (contract §2)."""

    def __init__(
        self,
        app: firebase_admin.App,
        *,
        ecm_user_claim: str = "ecm_user",
        external_id_claim: str = "ecm_external",
        clock_skew_seconds: int = 5,
        revocation_cache_seconds: float | None = None,
        read_revocation_cache_seconds: float = 60,
        tenant_id: str | None = None,
    ) -> None:
        """`revocation_cache_seconds` None: no revocation checks (the App has no credential);
        else the age a cached user account may have on a request that changes something (0: read it
        every time), `read_revocation_cache_seconds` the same on reads. `tenant_id`: the
        Identity Platform tenant whose users may call (None: project-level users only)."""
        if not 0 <= clock_skew_seconds <= 60:
            raise ValueError("clock_skew_seconds must be between 0 and 60 (the SDK's limit)")
        ages = (revocation_cache_seconds or 0, read_revocation_cache_seconds)
        if min(ages) < 0:
            raise ValueError("revocation cache ages cannot be negative")
        self._app = app
        self._ecm_user_claim = ecm_user_claim
        self._external_id_claim = external_id_claim
        self._clock_skew_seconds = clock_skew_seconds
        self._revocation_ttl = revocation_cache_seconds
        self._read_revocation_ttl = read_revocation_cache_seconds
        self._tenant_id = tenant_id or None
        self._users: dict[str, _UserState] = {}
        self._lock = threading.Lock()
        self.lookups = 0  # Identity Toolkit reads so far; for tests and the cost bound

    def verify(self, bearer_token: str, *, changes: bool = False) -> Principal:
        """`bearer_token` is the token itself; a leading "Bearer " is tolerated. `changes`: the
        request changes something, so a revocation must be seen within the tighter bound."""
        # The SDK's own test (private, pinned by tests/integration/test_id_token_verifier.py):
        # pointed at the Auth emulator, verify_id_token skips signature and expiry checks.
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
        self._refuse_other_tenants(claims)
        if self._revocation_ttl is not None:
            max_age = self._revocation_ttl if changes else self._read_revocation_ttl
            self._refuse_revoked(claims, max_age)
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

    def _refuse_other_tenants(self, claims: dict[str, Any]) -> None:
        """The SDK's `TenantAwareAuth` check (`firebase.tenant` equals its tenant), applied
        without a tenant as well: then a token must carry none."""
        firebase = claims.get("firebase")
        tenant = firebase.get("tenant") if isinstance(firebase, dict) else None
        if tenant != self._tenant_id:
            raise Unauthenticated(
                "ID token carries no Identity Platform tenant"
                if tenant is None
                else "ID token of another Identity Platform tenant"
            )

    def _refuse_revoked(self, claims: dict[str, Any], max_age: float) -> None:
        state = self._user_state(str(claims["uid"]), max_age)
        if not state.exists:
            raise Unauthenticated("ID token of a deleted user")
        if state.disabled:
            raise Unauthenticated("ID token of a disabled user")
        if int(claims.get("iat", 0)) * 1000 < state.valid_after_ms:
            raise Unauthenticated("ID token revoked")

    def _user_state(self, uid: str, max_age: float) -> _UserState:
        now = time.monotonic()
        with self._lock:
            cached = self._users.get(uid)
        if cached is not None and now - cached.read_at < max_age:
            return cached
        try:
            self.lookups += 1
            user = self._get_user(uid)
            state = _UserState(True, bool(user.disabled), user.tokens_valid_after_timestamp, now)
        except auth.UserNotFoundError:
            state = _UserState(False, False, 0, now)
        except (exceptions.FirebaseError, ValueError, RuntimeError) as exc:
            # Fails closed; the SDK's message can name the project, not the token: no chaining
            # needed, but keep the type for the logs.
            raise RevocationCheckUnavailable(
                f"could not read the user account ({type(exc).__name__})"
            ) from None
        with self._lock:
            if len(self._users) >= MAX_CACHED_USERS:
                self._users.clear()  # bounded memory; the next lookups refill it
            self._users[uid] = state
        return state

    def _get_user(self, uid: str) -> auth.UserRecord:
        """The user account in the configured tenant, or the project's."""
        if self._tenant_id is None:
            return auth.get_user(uid, app=self._app)
        return tenant_mgt.auth_for_tenant(self._tenant_id, app=self._app).get_user(uid)


def _claim(claims: dict[str, Any], name: str) -> str | None:
    """An absent claim is None; a present one must be a string, and `Principal` reads it in its
    one spelling (`domain/user_ids.py`): a blank or whitespace claim is refused, not absent."""
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unauthenticated(f"the {name!r} claim is not a string")
    return value
