"""`forward`: for ECM-side scripts that can make an HTTP POST but cannot compute HMAC-SHA256
(a WebReport with an HTTP destination, a workflow event script): they POST the event JSON here
with `Authorization: Bearer <token>`, the relay checks the token, signs the body unchanged and
forwards it to the webhook, and answers what the webhook answered.

Run it inside the ECM network only (it turns a shared token into a valid signature); it listens
on loopback unless told otherwise."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import requests

from senders.relay.config import RelayConfig
from senders.relay.webhook import post_body

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024  # the webhook's own limit (contract §1)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _answer(
    start_response: StartResponse, status: int, body: dict[str, Any] | bytes
) -> Iterable[bytes]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    reason = {200: "OK", 202: "Accepted", 207: "Multi-Status"}.get(status, "Error")
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


def forward_app(config: RelayConfig) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    token = config.forward_token
    if not token:
        raise ValueError("forward needs forward_token_env in the relay configuration")
    expected = f"Bearer {token}".encode()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/events" or environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, 404, {"error": "POST /events only"})
        given = str(environ.get("HTTP_AUTHORIZATION", "")).encode()
        if not hmac.compare_digest(given, expected):
            return _answer(start_response, 401, {"error": "missing or wrong bearer token"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _answer(start_response, 400, {"error": "bad Content-Length"})
        if length > MAX_BODY:
            return _answer(start_response, 413, {"error": "body larger than 256 KiB"})
        body = environ["wsgi.input"].read(length)
        try:
            json.loads(body)
        except ValueError:
            return _answer(start_response, 400, {"error": "body is not JSON"})
        try:
            response = post_body(
                config.webhook_url, config.webhook_secret, body, api_key=config.webhook_api_key
            )
        except requests.RequestException as exc:
            log.warning("webhook unreachable: %s", exc)
            return _answer(start_response, 503, {"error": "ecmpush webhook unreachable; retry"})
        return _answer(start_response, response.status_code, response.content)

    return app
