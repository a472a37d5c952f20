"""The OTDS sign-in bridge over HTTP against the local stack, as the web client drives it:
`POST /sign-in/otds/start` with a PKCE challenge, the OTDS stand-in's sign-in page, the code
back at the redirect URI, `POST /sign-in/otds/token`, the custom token (signed by real
firebase-admin) exchanged at the auth stand-in for an ID token the API accepts. Then what must
be refused: a foreign state, a replayed code, a wrong verifier, a bad password, a foreign
redirect URI, and an OTDS user Content Server does not know."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e
TIMEOUT = 15


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def start(stack: RunningStack, challenge: str) -> dict[str, Any]:
    response = requests.post(
        f"{stack.api}/sign-in/otds/start", json={"code_challenge": challenge}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sign_in_at_otds(authorize_url: str, user: str, password: str) -> dict[str, str]:
    """The OTDS page's form, posted as the browser would; the query OTDS redirects back with."""
    page = requests.get(authorize_url, timeout=TIMEOUT)
    assert page.status_code == 200
    assert "Sign in to OpenText Directory Services" in page.text
    form = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    answer = requests.post(
        authorize_url.split("?")[0],
        data={**form, "username": user, "password": password},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(form["redirect_uri"])
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def finish(stack: RunningStack, code: str, state: str, verifier: str) -> requests.Response:
    return requests.post(
        f"{stack.api}/sign-in/otds/token",
        json={"code": code, "state": state, "code_verifier": verifier},
        timeout=TIMEOUT,
    )


def id_token(stack: RunningStack, custom_token: str) -> str:
    response = requests.post(
        f"{stack.urls['fcm']}/identitytoolkit.googleapis.com/v1/"
        "accounts:signInWithCustomToken?key=local-api-key",
        json={"token": custom_token, "returnSecureToken": True},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["idToken"]
    return token


def test_signs_in_through_otds_and_the_api_accepts_the_token(running_stack: RunningStack) -> None:
    verifier, challenge = pkce()
    started = start(running_stack, challenge)
    assert "code_challenge_method=S256" in started["authorize_url"]
    back = sign_in_at_otds(started["authorize_url"], "bjones", "bjones-local")
    assert back["state"] == started["state"]
    answer = finish(running_stack, back["code"], back["state"], verifier)
    assert answer.status_code == 200, answer.text
    token = id_token(running_stack, answer.json()["custom_token"])
    payload = token.split(".")[1]
    claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b'"ecm_user": "bjones"' in claims or b'"ecm_user":"bjones"' in claims
    device = requests.put(
        f"{running_stack.api}/devices/{uuid.uuid4()}",
        json={"token": f"fcm-{secrets.token_hex(8)}", "platform": "web"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert device.status_code == 201, device.text

    replayed = finish(running_stack, back["code"], back["state"], verifier)
    assert replayed.status_code == 400
    assert "authorization code" in replayed.json()["message"]


def test_refuses_foreign_state_wrong_verifier_and_unknown_users(
    running_stack: RunningStack,
) -> None:
    verifier, challenge = pkce()
    started = start(running_stack, challenge)
    back = sign_in_at_otds(started["authorize_url"], "asmith", "asmith-local")

    other_verifier, other_challenge = pkce()
    other = start(running_stack, other_challenge)
    # The state of another sign-in (another browser's): its challenge is not this verifier's.
    assert finish(running_stack, back["code"], other["state"], verifier).status_code == 400
    forged = started["state"][:-4] + ("AAAA" if not started["state"].endswith("AAAA") else "BBBB")
    refused = finish(running_stack, back["code"], forged, verifier)
    assert refused.status_code == 400
    assert "state" in refused.json()["message"]
    assert finish(running_stack, back["code"], started["state"], other_verifier).status_code == 400
    # None of these reached OTDS: the code still works once.
    assert finish(running_stack, back["code"], started["state"], verifier).status_code == 200

    # An OTDS user without a Content Server account.
    verifier, challenge = pkce()
    started = start(running_stack, challenge)
    back = sign_in_at_otds(started["authorize_url"], "kpatel", "kpatel-local")
    refused = finish(running_stack, back["code"], back["state"], verifier)
    assert refused.status_code == 403
    assert refused.json()["message"] == "this OTDS user has no Content Server login"

    # A wrong password stays at OTDS; a foreign redirect URI is an error page, not a redirect.
    page = requests.post(
        started["authorize_url"].split("?")[0],
        data={
            **{k: v[0] for k, v in parse_qs(urlsplit(started["authorize_url"]).query).items()},
            "username": "nobody",
            "password": "x",
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert page.status_code == 401
    assert "Invalid username or password" in page.text
    foreign = started["authorize_url"].replace(
        "redirect_uri=", "redirect_uri=https%3A%2F%2Fevil.example%2F&x="
    )
    answer = requests.get(foreign, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 400
    assert "Location" not in answer.headers


def test_start_refuses_what_is_not_an_s256_challenge(running_stack: RunningStack) -> None:
    for body in (
        {"code_challenge": "short"},
        {},
        {"code_challenge": "A" * 43, "redirect_uri": "x"},
    ):
        answer = requests.post(
            f"{running_stack.api}/sign-in/otds/start", json=body, timeout=TIMEOUT
        )
        assert answer.status_code == 422, (body, answer.text)
