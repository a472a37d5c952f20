"""OTDS's authorization code flow in the Content Server stand-in (which already plays OTDS's
token endpoint), for the sign-in bridge: `GET/POST /otdsws/oauth2/auth` (a sign-in page for the
seeded users, with their local passwords), `grant_type=authorization_code` at
`/otdsws/oauth2/token`, and `GET /otdsws/rest/currentuser` (the user record as pyxecm's otds.py
shows it: `userPartitionID`, `name`, `id`, `values[{name, values}]`).

Strict where RFC 6749 and RFC 7636 are: an unknown client or a redirect URI not registered for
it is an error page, never a redirect; PKCE with S256 is required (plain is refused); a code is
single-use (a replay is `invalid_grant` and revokes the tokens the code gave), expires after
`CODE_SECONDS`, and is bound to its client, redirect URI and challenge. Every Content Server user
is an OTDS user of the partition; seed `otds_users` adds OTDS users without a Content Server
account (their tokens get 401 from `GET /api/v1/auth`)."""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from devstack.ecm_auth import OTDS_TOKEN_LIFETIME_S, AuthRoutes
from devstack.ecm_model import OAuthClient
from devstack.ecm_wire import json_response, oauth_error

CODE_SECONDS = 60
AUTHORIZATION_CODE = "authorization_code"
ROUTES = [
    Rule("/otdsws/oauth2/auth", endpoint="otds_authorize", methods=["GET", "POST"]),
    Rule("/otdsws/rest/currentuser", endpoint="otds_current_user", methods=["GET"]),
]
_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)


@dataclass
class IssuedCode:
    client_id: str
    redirect_uri: str
    challenge: str
    user: str
    expires: float
    used: bool = False
    tokens: list[str] = field(default_factory=list)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OtdsSignInRoutes(AuthRoutes):
    def otds_user(self, name: str) -> dict[str, Any] | None:
        """The seeded user's OTDS record (with its local password under `_password`)."""
        with self._lock:
            cs_user = self.users.get(name)
            extra = self.otds_only_users.get(name)
            partition = self.partition
        if cs_user is not None:
            seed = {
                "name": cs_user.login,
                "password": cs_user.password,
                "partition": partition,
                "attributes": {
                    "mail": [cs_user.email],
                    "givenName": [cs_user.first_name],
                    "sn": [cs_user.last_name],
                },
            }
        elif extra is not None:
            seed = extra
        else:
            return None
        return _record(seed)

    # -- /otdsws/oauth2/auth ------------------------------------------------------------------

    def _h_otds_authorize(self, request: Request, entry: dict[str, Any]) -> Response:
        params = {k: (request.values.get(k) or "") for k in _PARAMETERS}
        with self._lock:
            client = self.clients.get(params["client_id"])
        if client is None or params["redirect_uri"] not in client.redirect_urls:
            # RFC 6749 §4.1.2.1: never redirect to an unverified URI.
            return _page("Unknown OAuth client or redirect URI not registered for it.", 400)
        refused = _refusal(params)
        if refused:
            return _back(params, {"error": refused[0], "error_description": refused[1]})
        if request.method == "GET":
            return _login_page(params, "")
        name = request.form.get("username", "")
        password = request.form.get("password", "")
        user = self.otds_user(name)
        if user is None or not password or not secrets.compare_digest(user["_password"], password):
            return _login_page(params, "Invalid username or password.", 401)
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = IssuedCode(
                client.client_id,
                params["redirect_uri"],
                params["code_challenge"],
                name,
                self._clock() + CODE_SECONDS,
            )
        entry["user"] = name
        return _back(params, {"code": code})

    # -- /otdsws/oauth2/token, grant_type=authorization_code ---------------------------------

    def _h_otds_token(self, request: Request, entry: dict[str, Any]) -> Response:
        if request.form.get("grant_type") != AUTHORIZATION_CODE:
            return super()._h_otds_token(request, entry)
        client = self._client(request)
        name = self._redeem(client, request.form)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (name, self._clock() + OTDS_TOKEN_LIFETIME_S)
            self._codes[request.form.get("code", "")].tokens.append(token)
        entry["user"] = name
        return json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": OTDS_TOKEN_LIFETIME_S}
        )

    def _redeem(self, client: OAuthClient, form: Any) -> str:
        code, verifier = form.get("code", ""), form.get("code_verifier", "")
        with self._lock:
            issued = self._codes.get(code)
            if issued is None or issued.client_id != client.client_id:
                raise oauth_error(400, "invalid_grant", "Unknown authorization code.")
            if issued.used:  # RFC 6749 §4.1.2: refuse, and revoke what the code gave
                for token in issued.tokens:
                    self._tokens.pop(token, None)
                raise oauth_error(400, "invalid_grant", "The authorization code was used.")
            if self._clock() >= issued.expires:
                raise oauth_error(400, "invalid_grant", "The authorization code has expired.")
            if form.get("redirect_uri", "") != issued.redirect_uri:
                raise oauth_error(400, "invalid_grant", "redirect_uri does not match.")
            if not verifier or not secrets.compare_digest(s256(verifier), issued.challenge):
                raise oauth_error(400, "invalid_grant", "code_verifier does not match.")
            issued.used = True
            return str(issued.user)

    # -- /otdsws/rest/currentuser -------------------------------------------------------------

    def _h_otds_current_user(self, request: Request, entry: dict[str, Any]) -> Response:
        authorization = request.headers.get("Authorization", "")
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        with self._lock:
            found = self._tokens.get(token)
            valid = found is not None and self._clock() < found[1]
        user = self.otds_user(found[0]) if found and valid else None
        if user is None:
            return json_response({"error": "Unauthorized"}, status=401)
        entry["user"] = user["name"]
        record = {k: v for k, v in user.items() if k != "_password"}
        return json_response({"user": record, "isAdmin": False, "isSysAdmin": False})


def _refusal(params: dict[str, str]) -> tuple[str, str] | None:
    if params["response_type"] != "code":
        return "unsupported_response_type", "Only response_type=code is supported."
    if params["code_challenge_method"] != "S256" or len(params["code_challenge"]) != 43:
        return "invalid_request", "PKCE with code_challenge_method=S256 is required."
    return None


def _record(seed: dict[str, Any]) -> dict[str, Any]:
    name, partition = str(seed["name"]), str(seed["partition"])
    values: dict[str, list[str]] = {
        "oTExternalID1": [name],
        "oTExternalID2": [f"{name}@{partition}"],
        "oTExternalID3": [name],
        "oTExternalID4": [f"{partition}\\{name}"],
        "accountDisabled": ["true" if seed.get("disabled") else "false"],
        **{k: list(v) for k, v in dict(seed.get("attributes", {})).items()},
    }
    uuid = hashlib.sha256(f"{partition}/{name}".encode()).hexdigest()
    return {
        "userPartitionID": partition,
        "name": name,
        "id": name,
        "location": f"oTPerson={uuid[:8]},orgunit=users,partition={partition},"
        "dc=identity,dc=opentext,dc=net",
        "values": [{"name": k, "values": v} for k, v in values.items()],
        "objectClass": "oTPerson",
        "uuid": uuid[:32],
        "_password": str(seed.get("password", "")),
    }


def _back(params: dict[str, str], answer: dict[str, str]) -> Response:
    if params["state"]:
        answer["state"] = params["state"]
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return Response(
        status=302, headers={"Location": params["redirect_uri"] + separator + urlencode(answer)}
    )


def _page(message: str, status: int) -> Response:
    body = f"<!doctype html><title>OTDS</title><p role='alert'>{html.escape(message)}</p>"
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def _login_page(params: dict[str, str], error: str, status: int = 200) -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v, quote=True)}">'
        for k, v in params.items()
    )
    alert = f"<p role='alert'>{html.escape(error)}</p>" if error else ""
    body = (
        "<!doctype html><title>OTDS sign-in (local stand-in)</title>"
        "<h1>Sign in to OpenText Directory Services</h1>"
        f"{alert}<form method='post' action='/otdsws/oauth2/auth'>{hidden}"
        "<label>User name <input name='username' autocomplete='username'></label>"
        "<label>Password <input name='password' type='password'></label>"
        "<button type='submit'>Sign in</button></form>"
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8")
