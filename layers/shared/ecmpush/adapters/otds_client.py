"""OTDS's OAuth 2.0 endpoints as the sign-in bridge uses them (a confidential client with PKCE):
`/otdsws/oauth2/auth`, `/otdsws/oauth2/token` (`grant_type=authorization_code`) and
`/otdsws/rest/currentuser`, paths as opentext/pyxecm's otds.py builds them. Every answer is
checked before use: OTDS is outside input too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import requests

from ecmpush.domain.sign_in import SignInRefused

TIMEOUT_S = 5.0
_REFUSED_CODE = frozenset({"invalid_grant", "invalid_request"})


class OtdsClient:
    """One OAuth client of one OTDS: `base_url` without `/otdsws`."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scope: str = "",
        session: requests.Session | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._scope = scope
        self._session = session or requests.Session()

    def authorize_url(self, state: str, code_challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": self._redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if self._scope:
            query["scope"] = self._scope
        return f"{self._base}/otdsws/oauth2/auth?{urlencode(query)}"

    def exchange_code(self, code: str, code_verifier: str) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri,
            "code_verifier": code_verifier,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        response = self._call("POST", "/otdsws/oauth2/token", data=form)
        body = _json_object(response)
        if response.status_code in (400, 401):
            error = body.get("error")
            if response.status_code == 400 and error in _REFUSED_CODE:
                raise SignInRefused(400, "OTDS refused the authorization code; sign in again")
            raise SignInRefused(502, f"OTDS refused ecmpush's OAuth client ({error or 'no error'})")
        if response.status_code != 200:
            raise SignInRefused(502, f"OTDS answered the token request with {response.status_code}")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise SignInRefused(502, "OTDS answered the token request without an access_token")
        return token

    def current_user(self, access_token: str) -> Mapping[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        response = self._call("GET", "/otdsws/rest/currentuser", headers=headers)
        if response.status_code != 200:
            raise SignInRefused(502, f"OTDS answered currentuser with {response.status_code}")
        user = _json_object(response).get("user")
        if not isinstance(user, Mapping):
            raise SignInRefused(502, "OTDS answered currentuser without a user")
        return user

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(
                method, f"{self._base}{path}", timeout=TIMEOUT_S, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            raise SignInRefused(502, f"OTDS could not be reached ({type(exc).__name__})") from None


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
