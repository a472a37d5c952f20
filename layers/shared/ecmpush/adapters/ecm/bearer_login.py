"""Content Server's own word on who an OTDS access token's holder is: `GET /api/v1/auth` with
`Authorization: Bearer` answers the member record of the user Content Server maps that OTDS user
to (401 when it has none). The sign-in bridge asks with the user's token, never ecmpush's."""

from __future__ import annotations

import requests

from ecmpush.domain.sign_in import SignInRefused

TIMEOUT_S = 5.0


class BearerLoginCheck:
    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._session = session or requests.Session()

    def login_of(self, access_token: str) -> str | None:
        try:
            response = self._session.get(
                f"{self._base}/api/v1/auth",
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=TIMEOUT_S,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            message = f"Content Server could not be reached ({type(exc).__name__})"
            raise SignInRefused(502, message) from None
        if response.status_code in (401, 403):
            return None
        if response.status_code != 200:
            raise SignInRefused(502, f"Content Server answered /api/v1/auth {response.status_code}")
        try:
            data = response.json().get("data")
        except (ValueError, AttributeError):
            data = None
        name = data.get("name") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name:
            raise SignInRefused(502, "Content Server answered /api/v1/auth without a member name")
        return name
