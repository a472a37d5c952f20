"""Signing in to the Content Server stand-in: tickets (`POST /api/v1/auth` with a password,
`GET /api/v1/auth` with an OTDS token), the OTDS token endpoint (client credentials and token
exchange), and `Sessions`, the ticket check every authenticated route makes (Content Server
slides the session: each answer carries a refreshed ticket)."""

from __future__ import annotations

import secrets
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from devstack.ecm_model import OAuthClient, User
from devstack.ecm_state import EcmState
from devstack.ecm_wire import error, json_response, oauth_error, utc_now

OTDS_TOKEN_LIFETIME_S = 3600
CLIENT_CREDENTIALS = "client_credentials"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
USER_ID_TOKEN_TYPE = "urn:opentext.com:oauth:string:user_id"
ISSUED_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"

ROUTES = [
    Rule("/api/v1/ping", endpoint="ping", methods=["GET"]),
    Rule("/api/v1/auth", endpoint="auth_post", methods=["POST"]),
    Rule("/api/v1/auth", endpoint="auth_get", methods=["GET"]),
    Rule("/otdsws/oauth2/token", endpoint="otds_token", methods=["POST"]),
]


class Sessions(EcmState):
    """Tickets: issued at sign-in and refreshed on every authenticated answer."""

    def _issue_ticket(self, login: str, via: str) -> str:
        ticket = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            if len(self._tickets) > 1000:  # every answer refreshes: drop the expired ones
                self._tickets = {t: v for t, v in self._tickets.items() if v[1] > now}
            self._tickets[ticket] = (login, now + self.ticket_lifetime_s)
            if via != "refresh":
                self._logins.append({"via": via, "user": login, "at": utc_now()})
        return ticket

    def _ticket_user(self, request: Request, entry: dict[str, Any]) -> User:
        ticket = request.headers.get("OTCSTicket")
        if not ticket:
            raise error(401, "Authentication required: no OTCSTicket header.")
        with self._lock:
            found = self._tickets.get(ticket)
            if found is None or self._clock() >= found[1]:
                self._tickets.pop(ticket, None)
                raise error(401, "Session has expired or the ticket is invalid.")
            user = self.users[found[0]]
        entry["user"] = user.login
        # Content Server slides the session and answers a refreshed ticket in the header.
        entry["refresh"] = self._issue_ticket(user.login, "refresh")
        return user


class AuthRoutes(Sessions):
    """`/api/v1/ping`, `/api/v1/auth` and OTDS's `/otdsws/oauth2/token`."""

    def _h_ping(self, request: Request, entry: dict[str, Any]) -> Response:
        return json_response({"rest_api": [{"build": 2, "href": "api/v1", "version": 1}]})

    def _h_auth_post(self, request: Request, entry: dict[str, Any]) -> Response:
        login = request.form.get("username", "")
        password = request.form.get("password", "")
        with self._lock:
            user = self.users.get(login)
        if user is None or not password or not secrets.compare_digest(user.password, password):
            raise error(401, "Invalid username/password specified.")
        entry["user"] = login
        return json_response({"ticket": self._issue_ticket(login, "password")})

    def _h_auth_get(self, request: Request, entry: dict[str, Any]) -> Response:
        authorization = request.headers.get("Authorization", "")
        if authorization.lower().startswith("bearer "):
            token = authorization[len("bearer ") :].strip()
            with self._lock:
                found = self._tokens.get(token)
                valid = found is not None and self._clock() < found[1]
                user = self.users.get(found[0]) if found and valid else None
            if user is None:
                raise error(401, "The OTDS token is invalid or has expired.")
            entry["user"] = user.login
            ticket = self._issue_ticket(user.login, "bearer")
            return json_response({"data": user.as_member()}, headers={"OTCSTicket": ticket})
        user = self._ticket_user(request, entry)
        return json_response({"data": user.as_member()})

    def _client(self, request: Request) -> OAuthClient:
        """The OAuth client authenticated by form fields or HTTP Basic (RFC 6749 §2.3.1)."""
        form = request.form
        client_id = form.get("client_id") or (
            request.authorization.username if request.authorization else None
        )
        client_secret = form.get("client_secret") or (
            request.authorization.password if request.authorization else None
        )
        with self._lock:
            client = self.clients.get(client_id or "")
        if (
            client is None
            or not client_secret
            or not secrets.compare_digest(client.client_secret, client_secret)
        ):
            raise oauth_error(401, "invalid_client", "Client authentication failed.")
        return client

    def _h_otds_token(self, request: Request, entry: dict[str, Any]) -> Response:
        form = request.form
        client = self._client(request)
        grant = form.get("grant_type", "")
        body: dict[str, Any] = {"token_type": "Bearer", "expires_in": OTDS_TOKEN_LIFETIME_S}
        if grant == CLIENT_CREDENTIALS:
            login = client.user
        elif grant == TOKEN_EXCHANGE:
            if form.get("subject_token_type") != USER_ID_TOKEN_TYPE:
                raise oauth_error(400, "invalid_request", "Unsupported subject_token_type.")
            if not client.may_impersonate:
                raise oauth_error(
                    400, "unauthorized_client", "The client may not impersonate users."
                )
            login, _, partition = form.get("subject_token", "").rpartition("@")
            with self._lock:
                known = login in self.users
            if partition != self.partition or not known:
                raise oauth_error(400, "invalid_grant", "Unknown user or partition.")
            body["issued_token_type"] = ISSUED_ACCESS_TOKEN
        else:
            raise oauth_error(400, "unsupported_grant_type", f"Unsupported grant {grant!r}.")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (login, self._clock() + OTDS_TOKEN_LIFETIME_S)
        entry["user"] = login
        return json_response({"access_token": token, **body})
