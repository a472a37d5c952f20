"""The OTDS sign-in bridge (docs/design/otds-sign-in.md): `start` hands the app an OTDS
authorization URL and a signed state bound to the app's PKCE challenge; `finish` checks the
state against the verifier, exchanges the code at OTDS, maps the OTDS user to a login, has
Content Server confirm that login with the user's own token, and mints a Firebase custom token
carrying it. Nothing is stored: OTDS keeps codes single-use, the state carries the rest."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecmpush.domain.sign_in import LoginMapping, SignInRefused, check_state, issue_state

if TYPE_CHECKING:
    from ecmpush.ports import ContentServerLogins, CustomTokenMinter, OtdsAuthorization

MAX_UID = 128  # Firebase's limit on a uid


@dataclass(frozen=True)
class SignInStart:
    authorize_url: str
    state: str


@dataclass(frozen=True)
class SignedIn:
    custom_token: str
    ecm_user: str


class SignInService:
    def __init__(
        self,
        otds: Callable[[], OtdsAuthorization],
        content_server: ContentServerLogins,
        minter: Callable[[], CustomTokenMinter],
        state_keys: Callable[[], list[bytes]],
        mapping: LoginMapping,
        ecm_user_claim: str = "ecm_user",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._otds = otds
        self._content_server = content_server
        self._minter = minter
        self._state_keys = state_keys
        self._mapping = mapping
        self._claim = ecm_user_claim
        self._clock = clock

    def start(self, code_challenge: str) -> SignInStart:
        key = self._state_keys()[0]
        state = issue_state(key, code_challenge, int(self._clock()), secrets.token_urlsafe(12))
        return SignInStart(self._otds().authorize_url(state, code_challenge), state)

    def finish(self, code: str, state: str, code_verifier: str) -> SignedIn:
        check_state(self._state_keys(), state, code_verifier, int(self._clock()))
        otds = self._otds()
        access_token = otds.exchange_code(code, code_verifier)
        user = otds.current_user(access_token)
        login = self._mapping.login(user)
        confirmed = self._content_server.login_of(access_token)
        if confirmed is None:
            raise SignInRefused(403, "this OTDS user has no Content Server login")
        if confirmed.casefold() != login.casefold():
            raise SignInRefused(403, "OTDS and Content Server name different logins for this user")
        uid = f"ecm:{confirmed}"
        if len(uid) > MAX_UID:
            raise SignInRefused(403, "the Content Server login is too long for a Firebase uid")
        token = self._minter().mint(uid, {self._claim: confirmed})
        return SignedIn(token, confirmed)
