"""The OTDS stand-in's authorization code flow (devstack/otds_sign_in.py), strict as RFC 6749
and RFC 7636 are, and the bridge's OTDS adapter (adapters/otds_client.py) and Content Server
check (adapters/ecm/bearer_login.py) speaking to it over HTTP."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import Client

from devstack.ecm_standin import EcmStandIn, create_ecm_standin, load_default_seed
from devstack.http_server import BackgroundServer
from devstack.otds_sign_in import CODE_SECONDS
from ecmpush.adapters.ecm.bearer_login import BearerLoginCheck
from ecmpush.adapters.otds_client import OtdsClient
from ecmpush.domain.sign_in import SignInRefused

REDIRECT = "https://app.example.com/"
CLIENT = {"client_id": "ecmpush-sign-in", "client_secret": "s3cret"}
VERIFIER = "v" * 43
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def otds() -> tuple[EcmStandIn, Client, Clock]:
    seed = load_default_seed()
    seed["oauth_clients"].append({**CLIENT, "user": "svc-ecmpush", "redirect_urls": [REDIRECT]})
    clock = Clock()
    app = create_ecm_standin(seed, clock=clock)
    return app, Client(app), clock


def authorize(client: Client, **overrides: str) -> Any:
    query = {
        "response_type": "code",
        "client_id": CLIENT["client_id"],
        "redirect_uri": REDIRECT,
        "state": "st",
        "code_challenge": CHALLENGE.decode(),
        "code_challenge_method": "S256",
        **overrides,
    }
    return client.post(
        "/otdsws/oauth2/auth", data={**query, "username": "asmith", "password": "asmith-local"}
    )


def code_of(answer: Any) -> str:
    assert answer.status_code == 302, answer.get_data(as_text=True)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["st"]
    return str(query["code"][0])


def redeem(client: Client, issued: str, **overrides: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": issued,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        **CLIENT,
        **overrides,
    }
    return client.post("/otdsws/oauth2/token", data=form)


def test_code_for_token_then_current_user(otds):
    _, client, _ = otds
    page = client.get("/otdsws/oauth2/auth", query_string={"client_id": "ecmpush-sign-in"})
    assert page.status_code == 400  # no registered redirect_uri: an error page, no redirect
    answer = redeem(client, code_of(authorize(client)))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    token = answer.json["access_token"]
    me = client.get("/otdsws/rest/currentuser", headers={"Authorization": f"Bearer {token}"})
    assert me.json["user"]["name"] == "asmith"
    assert me.json["user"]["userPartitionID"] == "Content Server Members"
    assert "_password" not in me.json["user"]
    assert (
        client.get("/api/v1/auth", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_verifier": "w" * 43}, "invalid_grant"),
        ({"redirect_uri": "https://app.example.com/other"}, "invalid_grant"),
        ({"code": "forged"}, "invalid_grant"),
        ({"client_secret": "wrong"}, "invalid_client"),
    ],
)
def test_token_refusals(otds, overrides, error):
    _, client, _ = otds
    code = code_of(authorize(client))
    answer = redeem(client, code, **overrides)
    assert answer.json["error"] == error
    assert answer.status_code == (401 if error == "invalid_client" else 400)


def test_codes_are_single_use_expire_and_a_replay_revokes(otds):
    _, client, clock = otds
    code = code_of(authorize(client))
    token = redeem(client, code).json["access_token"]
    replay = redeem(client, code)
    assert replay.status_code == 400
    assert replay.json["error"] == "invalid_grant"
    me = client.get("/otdsws/rest/currentuser", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401  # RFC 6749 §4.1.2: what the code gave is revoked

    late = code_of(authorize(client))
    clock.now += CODE_SECONDS
    assert redeem(client, late).json["error_description"] == "The authorization code has expired."


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorize_refusals_go_back_to_the_registered_uri(otds, overrides, error):
    _, client, _ = otds
    answer = authorize(client, **overrides)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(REDIRECT)
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == [error]


def test_foreign_redirect_and_bad_password_never_redirect(otds):
    _, client, _ = otds
    assert authorize(client, redirect_uri="https://evil.example/").status_code == 400
    wrong = client.post(
        "/otdsws/oauth2/auth",
        data={
            "response_type": "code",
            "client_id": CLIENT["client_id"],
            "redirect_uri": REDIRECT,
            "code_challenge": CHALLENGE.decode(),
            "code_challenge_method": "S256",
            "username": "asmith",
            "password": "nope",
        },
    )
    assert wrong.status_code == 401
    assert "Location" not in wrong.headers


@pytest.fixture
def served(otds) -> Iterator[tuple[EcmStandIn, str]]:
    app, _, _ = otds
    with BackgroundServer(app) as server:
        yield app, server.url


def test_the_bridges_adapters_against_the_stand_in(served):
    app, url = served
    otds = OtdsClient(url, CLIENT["client_id"], CLIENT["client_secret"], REDIRECT)
    authorize_url = otds.authorize_url("st", CHALLENGE.decode())
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    answer = Client(app).post(
        "/otdsws/oauth2/auth", data={**query, "username": "kpatel", "password": "kpatel-local"}
    )
    code = code_of(answer)
    token = otds.exchange_code(code, VERIFIER)
    assert otds.current_user(token)["userPartitionID"] == "Contractors"
    assert BearerLoginCheck(url).login_of(token) is None  # an OTDS user only
    with pytest.raises(SignInRefused) as replayed:
        otds.exchange_code(code, VERIFIER)
    assert replayed.value.status == 400
    wrong_client = OtdsClient(url, CLIENT["client_id"], "wrong", REDIRECT)
    with pytest.raises(SignInRefused) as refused:
        wrong_client.exchange_code("x", VERIFIER)
    assert refused.value.status == 502
    with pytest.raises(SignInRefused) as unknown:
        otds.current_user("forged")
    assert unknown.value.status == 502
