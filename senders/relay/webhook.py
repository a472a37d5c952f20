"""Posting events to ecmpush's webhook the way the contract wants them: JSON, signed with
`X-Ecmpush-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "<t>.<body>")>`, at most 50 per request.
One implementation for the relay, the devstack CLI, the demo and the tests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import requests

from ecmpush.entrypoints.webhook_signature import sign

MAX_BATCH = 50  # contract §1
DONE = frozenset({"accepted", "duplicate"})  # the event is in; never send it again
REFUSED = frozenset({"invalid", "conflict"})  # will never be accepted as is: log, do not resend


def post_body(
    api_url: str,
    secret: str,
    body: bytes,
    *,
    api_key: str | None = None,
    session: Any = requests,
    timeout: float = 10,
) -> requests.Response:
    """POST one raw JSON body, signed now; with the sender's API key (`x-api-key`, which API
    Gateway requires on /ecm/events and counts against the sender's usage plan) when given."""
    headers = {
        "Content-Type": "application/json",
        "X-Ecmpush-Signature": sign(secret.encode(), int(time.time()), body),
    }
    if api_key:
        headers["x-api-key"] = api_key
    return session.post(  # type: ignore[no-any-return]
        f"{api_url.rstrip('/')}/ecm/events", data=body, headers=headers, timeout=timeout
    )


def post_event(
    api_url: str,
    secret: str,
    event: Mapping[str, Any],
    timeout: float = 10,
    *,
    api_key: str | None = None,
) -> requests.Response:
    body = json.dumps(event, separators=(",", ":")).encode()
    return post_body(api_url, secret, body, api_key=api_key, timeout=timeout)


def _batches(events: Sequence[Mapping[str, Any]]) -> Iterator[Sequence[Mapping[str, Any]]]:
    for start in range(0, len(events), MAX_BATCH):
        yield events[start : start + MAX_BATCH]


def _failed(response: requests.Response) -> str:
    """A whole request's failure: its status, or `no-route` for API Gateway's answer to a path
    it has no route for (403 "Missing Authentication Token", not 404)."""
    if response.status_code == 403 and "Missing Authentication Token" in response.text:
        return "failed:no-route"
    return f"failed:{response.status_code}"


def deliver(
    api_url: str,
    secret: str,
    events: Sequence[Mapping[str, Any]],
    timeout: float = 10,
    *,
    api_key: str | None = None,
) -> dict[str, str]:
    """Send `events` in batches; returns each event id's status (`accepted`, `duplicate`,
    `in_progress`, `unavailable`, `invalid`, `conflict`, or `failed:<reason>` when a whole request
    failed). `DONE` and `REFUSED` are final; the caller sends the others again later."""
    outcome: dict[str, str] = {}
    for batch in _batches(events):
        body = json.dumps({"events": list(batch)}, separators=(",", ":")).encode()
        try:
            response = post_body(api_url, secret, body, api_key=api_key, timeout=timeout)
        except requests.RequestException as exc:
            outcome.update({str(e["id"]): f"failed:{type(exc).__name__}" for e in batch})
            continue
        try:
            results = response.json()["results"] if response.status_code == 207 else None
        except (ValueError, KeyError, TypeError):
            results = None
        if not isinstance(results, list):
            outcome.update({str(e["id"]): _failed(response) for e in batch})
            continue
        for result in results:
            if isinstance(result, dict):
                outcome[str(result.get("id"))] = str(result.get("status"))
    return outcome


# What a whole request's failure (`failed:<reason>`) means, said plainly for the administrator.
FAILURE_CAUSES = {
    "failed:401": (
        "the webhook refused the signature: the relay's webhook secret is not the stack's "
        "current one (Secrets Manager WebhookSecret; fetch it again after each rotation)"
    ),
    "failed:403": (
        "API Gateway refused the request: the relay sends no API key or a wrong one "
        "(webhook_api_key_env must name a variable holding the stack's WebhookApiKey value)"
    ),
    "failed:404": "nothing answers at {url}/ecm/events: check webhook_url (the API base URL)",
    "failed:no-route": (
        "API Gateway has no route {url}/ecm/events (Missing Authentication Token): check "
        "webhook_url, the stack's API base URL with its stage"
    ),
    "failed:413": "the webhook found a request too large (more than 256 KiB)",
    "failed:ConnectionError": "the webhook at {url} cannot be reached (DNS, proxy, firewall)",
    "failed:Timeout": "the webhook at {url} did not answer in time",
    "failed:ReadTimeout": "the webhook at {url} did not answer in time",
    "failed:ConnectTimeout": "the webhook at {url} cannot be reached (connection timed out)",
    "failed:SSLError": "the webhook at {url} failed the TLS check (certificate, proxy)",
}
CONFIGURATION_FAILURES = frozenset({"failed:401", "failed:403", "failed:404", "failed:no-route"})


def failure_cause(status: str, api_url: str) -> str | None:
    """The plain cause of a `failed:<reason>` outcome; None for a per-event status."""
    if not status.startswith("failed:"):
        return None
    cause = FAILURE_CAUSES.get(status, "the webhook answered {status}: see docs/relay.md")
    return cause.format(url=api_url.rstrip("/"), status=status.removeprefix("failed:"))
