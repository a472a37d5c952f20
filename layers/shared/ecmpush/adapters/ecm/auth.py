"""Content Server tickets: obtained (password or OTDS, impersonating the acting user) and kept
between warm Lambda invocations.
Why: docs/design/content-server-client.md."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecmpush.adapters.ecm.config import AuthMode, EcmConfig
from ecmpush.adapters.ecm.parsing import error_text
from ecmpush.adapters.ecm.transport import Answer, Transport
from ecmpush.clock import Deadline
from ecmpush.domain.ecm.errors import EcmAuthError, EcmError, EcmProtocolError, EcmUnavailable
from ecmpush.privacy import who

log = logging.getLogger(__name__)

# OAuth grant and token-type names, not credentials.
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
USER_ID_TOKEN_TYPE = "urn:opentext.com:oauth:string:user_id"  # noqa: S105


@dataclass(frozen=True)
class Actor:
    """Who a request runs as: `user` None means the service account."""

    user: str | None = None

    @property
    def cache_key(self) -> str:
        return "" if self.user is None else f"user:{self.user}"


def _refused(answer: Answer, what: str) -> EcmError:
    text = error_text(answer.body) or answer.text[:200]
    if answer.status in (400, 401, 403):
        return EcmAuthError(
            f"{what} refused (HTTP {answer.status}): {text}",
            status=answer.status,
            server_message=text,
        )
    if answer.status >= 500:
        return EcmUnavailable(
            f"{what} failed (HTTP {answer.status}): {text}",
            status=answer.status,
            server_message=text,
        )
    return EcmProtocolError(
        f"{what}: unexpected HTTP {answer.status}", status=answer.status, server_message=text
    )


class Authenticator:
    """Hands out a valid-looking ticket per actor, logging in when none is cached."""

    def __init__(self, config: EcmConfig, transport: Transport) -> None:
        self._config = config
        self._transport = transport
        self._tickets: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()
        self.logins = 0  # how many tickets this instance obtained; for tests and metrics

    def actor(self, as_user: str | None) -> Actor:
        """Impersonate only when configured to; otherwise everything runs as the service account
        and the caller names the user in the comment."""
        if as_user and self._config.act_as_user:
            return Actor(as_user)
        return Actor(None)

    def name_of(self, actor: Actor) -> str:
        """The Content Server login the actor's requests are recorded under."""
        if actor.user is not None:
            return actor.user
        known = self._names.get(actor.cache_key)
        if known:
            return known
        return self._config.username or f"oauth:{self._config.client_id}"

    def ticket(self, actor: Actor, deadline: Deadline) -> str:
        with self._lock:
            cached = self._tickets.get(actor.cache_key)
        if cached:
            return cached
        if self._config.auth_mode is AuthMode.PASSWORD:
            ticket = self._password_login(deadline)
        else:
            ticket = self._otds_login(actor, deadline)
        with self._lock:
            self._tickets[actor.cache_key] = ticket
            self.logins += 1
        # A user's login is personal data: logs name its pseudonym (ecmpush/privacy.py).
        log.info(
            "ECM ticket obtained for %s",
            who(actor.user) if actor.user is not None else "the service account",
        )
        return ticket

    def user_id(self, actor: Actor) -> int | None:
        """The Content Server user id of the actor, learnt when its ticket was issued (the body
        of `GET /api/v1/auth`); None before that, or in password mode."""
        return self._ids.get(actor.cache_key)

    def refreshed(self, actor: Actor, used: str, fresh: str | None) -> None:
        """Keep the ticket Content Server answered in `OTCSTicket`, unless another call already
        replaced the one this call used."""
        if not fresh or fresh == used:
            return
        with self._lock:
            if self._tickets.get(actor.cache_key) == used:
                self._tickets[actor.cache_key] = fresh

    def invalidate(self, actor: Actor, ticket: str) -> None:
        """Forget `ticket` unless another call already replaced it."""
        with self._lock:
            if self._tickets.get(actor.cache_key) == ticket:
                del self._tickets[actor.cache_key]

    def clear(self) -> None:
        with self._lock:
            self._tickets.clear()

    def _password_login(self, deadline: Deadline) -> str:
        cfg = self._config
        answer = self._transport.request(
            "POST",
            f"{cfg.api_url}/v1/auth",
            deadline=deadline,
            data={"username": cfg.username or "", "password": cfg.password or ""},
        )
        if not answer.ok:
            raise _refused(answer, f"Content Server login of {cfg.username!r}")
        ticket = answer.body.get("ticket") if isinstance(answer.body, Mapping) else None
        if not isinstance(ticket, str) or not ticket:
            raise EcmProtocolError("POST /api/v1/auth answered without a ticket")
        return ticket

    def _otds_token(self, actor: Actor, deadline: Deadline) -> str:
        cfg = self._config
        form: dict[str, str] = {
            "grant_type": "client_credentials",
            "client_id": cfg.client_id or "",
            "client_secret": cfg.client_secret or "",
        }
        what = f"OTDS client credentials for {cfg.client_id!r}"
        if actor.user is not None:
            form |= {
                "grant_type": TOKEN_EXCHANGE,
                "subject_token_type": USER_ID_TOKEN_TYPE,
                "subject_token": f"{actor.user}@{cfg.partition}",
            }
            what = f"OTDS token exchange for {actor.user!r}"
        answer = self._transport.request("POST", cfg.otds_token_url, deadline=deadline, data=form)
        if not answer.ok:
            raise _refused(answer, what)
        token = answer.body.get("access_token") if isinstance(answer.body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise EcmProtocolError(f"{what}: token answer without access_token")
        return token

    def _otds_login(self, actor: Actor, deadline: Deadline) -> str:
        token = self._otds_token(actor, deadline)
        answer = self._transport.request(
            "GET",
            f"{self._config.api_url}/v1/auth",
            deadline=deadline,
            headers={"Authorization": f"Bearer {token}"},
        )
        if not answer.ok:
            raise _refused(answer, "Content Server ticket for an OTDS token")
        ticket = answer.headers.get("OTCSTicket")
        if not ticket:
            raise EcmProtocolError("GET /api/v1/auth with a bearer token returned no OTCSTicket")
        name, user_id = _member(answer.body)
        if name:
            self._names[actor.cache_key] = name
        if user_id is not None:
            self._ids[actor.cache_key] = user_id
        return ticket


def _member(body: Any) -> tuple[str | None, int | None]:
    """Login and id of the authenticated user from `{"data": {"id", "name", ...}}`."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        return None, None
    name, user_id = data.get("name"), data.get("id")
    return (
        name if isinstance(name, str) and name else None,
        user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None,
    )
