"""Finding 3 of issue 9, and the fuzz pass over every endpoint: nothing is parsed before the
caller is authenticated, app bodies are capped, and every unreadable body (non-UTF-8, deep
nesting, integers beyond Python's digit limit, crafted cursors) answers 400, never 5xx.

The fuzz run has a fixed seed, so a failure names an input that reproduces."""

from __future__ import annotations

import base64
import json
import random
import time
from typing import Any

import pytest

from devstack.api_router import proxy_event
from ecmpush.entrypoints.webhook_signature import sign
from tests.integration.harness import WEBHOOK_SECRET, Harness, Reply, _reply

DEEP = b"[" * 3000 + b"]" * 3000  # under the 8 KiB cap, beyond json's recursion limit
HUGE_INT = b'{"token": "fcm-0000000001", "platform": "android", "x": ' + b"9" * 5000 + b"}"
NOT_UTF8 = b'{"token": "\xff\xfe\xfa", "platform": "android"}'

APP_ROUTES: list[tuple[str, str, str, str, dict[str, str] | None]] = [
    ("devices", "PUT", "/devices/fuzz-installation-0001", "/devices/{installation_id}",
     {"installation_id": "fuzz-installation-0001"}),
    ("devices", "DELETE", "/devices/fuzz-installation-0001", "/devices/{installation_id}",
     {"installation_id": "fuzz-installation-0001"}),
    ("devices", "GET", "/me/preferences", "/me/preferences", None),
    ("devices", "PUT", "/me/preferences", "/me/preferences", None),
    ("devices", "GET", "/me/notifications", "/me/notifications", None),
    ("responses", "POST", "/responses", "/responses", None),
]  # fmt: skip


def _call(
    h: Harness,
    route: tuple[str, str, str, str, dict[str, str] | None],
    body: bytes,
    *,
    bearer: str | None,
    query: dict[str, str] | None = None,
) -> Reply:
    function, method, path, resource, path_params = route
    headers = {"Content-Type": ["application/json"]}
    if bearer is not None:
        headers["Authorization"] = [f"Bearer {bearer}"]
    event = proxy_event(
        method,
        path,
        resource,
        headers=headers,
        body=body,
        path_params=path_params,
        query={k: [v] for k, v in (query or {}).items()},
    )
    fn = h.devices_fn if function == "devices" else h.responses_fn
    return _reply(fn.invoke(event))


@pytest.mark.parametrize("route", APP_ROUTES, ids=lambda r: f"{r[1]} {r[2]}")
def test_anonymous_callers_never_see_the_schema(harness: Harness, route: Any) -> None:
    reply = _call(harness, route, b'{"platform": "palm-pilot"}', bearer=None)
    assert reply.status == 401
    assert reply.body == {"message": "invalid or missing Firebase ID token"}


@pytest.mark.parametrize("body", [DEEP, HUGE_INT, NOT_UTF8, b"{", b'"\\ud800"x'])
def test_unreadable_app_bodies_are_400_and_store_nothing(harness: Harness, body: bytes) -> None:
    bearer = harness.identity.mint_id_token("asmith")
    reply = _call(harness, APP_ROUTES[0], body, bearer=bearer)
    assert reply.status == 400, reply
    assert harness.devices_of("asmith") == []


def test_app_bodies_over_the_cap_are_413_before_authentication(harness: Harness) -> None:
    body = json.dumps({"token": "x" * 9000, "platform": "android"}).encode()
    assert _call(harness, APP_ROUTES[0], body, bearer=None).status == 413
    assert harness.devices_of("asmith") == []


@pytest.mark.parametrize("body", [DEEP, HUGE_INT, NOT_UTF8])
def test_unreadable_signed_webhook_bodies_are_400(harness: Harness, body: bytes) -> None:
    reply = harness.post_event(body)
    assert reply.status == 400, reply
    assert harness.queue_depth() == 0


def test_crafted_cursors_are_400(harness: Harness) -> None:
    bearer = harness.identity.mint_id_token("asmith")
    nested = base64.urlsafe_b64encode(b"[" * 1500).decode()
    for cursor in (nested, "!!!", base64.urlsafe_b64encode(b"\xff").decode()):
        reply = _call(harness, APP_ROUTES[4], b"", bearer=bearer, query={"cursor": cursor})
        assert reply.status == 400, (cursor, reply)


# --- fuzz ---------------------------------------------------------------------------------------

SEED = 20261202
ROUNDS = 2500


def _fuzz_body(rng: random.Random) -> bytes:
    kind = rng.randrange(9)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 300))  # mostly not UTF-8
    if kind == 1:
        depth = rng.randrange(100, 9000)
        return rng.choice([b"[", b'{"a":']) * depth
    if kind == 2:
        return b'{"token": ' + b"7" * rng.randrange(4000, 6000) + b"}"
    if kind == 3:
        return b""
    values: list[Any] = [
        None, True, -1, 2**70, 1e308, "", "x" * rng.randrange(0, 5000), "\u202e\x00\r\n",
        [], {}, {"$": 1}, ["android"], "android", "approve", "22:00", "Europe/Berlin",
    ]  # fmt: skip
    keys = [
        "token", "platform", "locale", "timezone", "app_version", "audience", "muted_categories",
        "quiet_hours", "action_token", "action", "comment", "installation_id", "start", "end",
    ]  # fmt: skip
    document = {rng.choice(keys): rng.choice(values) for _ in range(rng.randrange(0, 6))}
    if kind == 4:
        document["quiet_hours"] = {k: rng.choice(values) for k in ("start", "end", "timezone")}
    text = json.dumps(document)
    if kind == 5 and text:
        cut = rng.randrange(len(text))
        text = text[:cut] + rng.choice(["\\", '"', "}", "\\ud800", "\x00"]) + text[cut:]
    return text.encode("utf-8", "surrogatepass")


def test_fuzz_every_endpoint_no_5xx_and_anonymous_stops_at_401(harness: Harness) -> None:
    rng = random.Random(SEED)
    bearer = harness.identity.mint_id_token("fuzzer")
    statuses: dict[int, int] = {}
    for round_ in range(ROUNDS):
        body = _fuzz_body(rng)
        target = rng.randrange(len(APP_ROUTES) + 2)
        authenticated = rng.random() < 0.6
        if target >= len(APP_ROUTES):  # the webhook, signed or not
            timestamp = int(time.time())
            signature = sign(WEBHOOK_SECRET.encode(), timestamp, body) if authenticated else "t=1"
            reply = harness.post_raw(
                body, {"Content-Type": "application/json", "X-Ecmpush-Signature": signature}
            )
            if not authenticated:
                assert reply.status in (401, 413), (round_, body[:80], reply)
        else:
            route = APP_ROUTES[target]
            query = {"cursor": body.decode("latin-1")[:2048]} if target == 4 else None
            reply = _call(
                harness, route, body, bearer=bearer if authenticated else None, query=query
            )
            if not authenticated:
                assert reply.status in (401, 413), (round_, route[2], body[:80], reply)
        assert reply.status < 500, (round_, target, body[:80], reply)
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
    assert statuses.get(401, 0) > ROUNDS // 4
    assert statuses.get(400, 0) > 0
    assert statuses.get(422, 0) > 0
