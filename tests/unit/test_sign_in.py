"""The OTDS sign-in bridge's rules and service with OTDS, Content Server and Firebase faked:
PKCE (RFC 7636's own example), the signed state, the login mapping, and every refusal."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from ecmpush.domain.sign_in import (
    STATE_SECONDS,
    LoginMapping,
    SignInRefused,
    check_state,
    code_challenge,
    issue_state,
    state_key,
)
from ecmpush.services.sign_in import SignInService
from ecmpush.settings import ConfigurationError
from tests.fakes import unit_settings

KEY = state_key("client-secret")
# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
NOW = 1_800_000_000


def user(
    name: str = "asmith", partition: str = "Content Server Members", **values: Any
) -> dict[str, Any]:
    listed = [{"name": k, "values": v} for k, v in values.items()]
    return {"userPartitionID": partition, "name": name, "id": name, "values": listed}


def test_s256_is_rfc_7636s():
    assert code_challenge(RFC_VERIFIER) == RFC_CHALLENGE


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "a" * 42 + "!", "ä" * 43])
def test_a_verifier_outside_rfc_7636_is_refused(verifier):
    with pytest.raises(SignInRefused) as refused:
        code_challenge(verifier)
    assert refused.value.status == 400


def test_state_round_trip_and_refusals():
    state = issue_state(KEY, RFC_CHALLENGE, NOW, "n1")
    check_state([KEY], state, RFC_VERIFIER, NOW + STATE_SECONDS - 1)
    other = "A" * 43
    cases = {
        "another key": ([state_key("rotated")], state, RFC_VERIFIER, NOW),
        "expired": ([KEY], state, RFC_VERIFIER, NOW + STATE_SECONDS),
        "wrong verifier": ([KEY], state, "b" * 43, NOW),
        "tampered": ([KEY], state.replace(".", "x."), RFC_VERIFIER, NOW),
        "no signature": ([KEY], state.split(".")[0], RFC_VERIFIER, NOW),
        "another challenge": ([KEY], issue_state(KEY, other, NOW, "n"), RFC_VERIFIER, NOW),
        "too long": ([KEY], state + "a" * 600, RFC_VERIFIER, NOW),
        "not base64url": ([KEY], "é" + state, RFC_VERIFIER, NOW),
        "two dots": ([KEY], state + ".x", RFC_VERIFIER, NOW),
    }
    for name, (keys, candidate, verifier, now) in cases.items():
        with pytest.raises(SignInRefused) as refused:
            check_state(keys, candidate, verifier, now)
        assert refused.value.status == 400, name


def test_a_state_names_an_s256_challenge_only():
    with pytest.raises(SignInRefused):
        issue_state(KEY, "plain-challenge", NOW, "n")


def test_mapping_by_name_attribute_and_partition_suffix():
    by_name = LoginMapping()
    assert by_name.login(user()) == "asmith"
    external = LoginMapping.parse("oTExternalID2", "strip", "")
    record = user(oTExternalID2=["asmith@Content Server Members"])
    assert external.login(record) == "asmith"
    assert LoginMapping.parse("oTExternalID2", "keep", "").login(record) == (
        "asmith@Content Server Members"
    )
    keyed = {"userPartitionID": "P", "name": "x", "attributes": {"mail": ["a@b.example"]}}
    assert LoginMapping.parse("mail", "strip", "").login(keyed) == "a@b.example"


@pytest.mark.parametrize(
    ("mapping", "record", "why"),
    [
        (LoginMapping.parse("name", "strip", "Staff"), user(), "partition"),
        (LoginMapping.parse("oTExternalID1", "strip", ""), user(), "no oTExternalID1"),
        (LoginMapping(), user(accountDisabled=["true"]), "disabled"),
        (LoginMapping(), user(name="a/b"), "unusable"),
        (LoginMapping(), user(name="@Content Server Members"), "empty after the suffix"),
        (LoginMapping.parse("mail", "strip", ""), user(mail=["a", "b"]), "two values"),
    ],
)
def test_mapping_refuses_users_without_one_usable_login(mapping, record, why):
    with pytest.raises(SignInRefused) as refused:
        mapping.login(record)
    assert refused.value.status == 403, why


def test_mapping_refuses_a_record_without_partition_as_otds_fault():
    with pytest.raises(SignInRefused) as refused:
        LoginMapping().login({"name": "asmith"})
    assert refused.value.status == 502


@pytest.mark.parametrize("bad", [("name", "drop", ""), ("", "strip", "")])
def test_mapping_configuration_errors(bad):
    with pytest.raises(ValueError, match="must"):
        LoginMapping.parse(*bad)


class FakeOtds:
    def __init__(self, record: Mapping[str, Any]) -> None:
        self.record = record
        self.exchanged: list[tuple[str, str]] = []

    def authorize_url(self, state: str, code_challenge: str) -> str:
        return f"https://otds.example/otdsws/oauth2/auth?state={state}&c={code_challenge}"

    def exchange_code(self, code: str, code_verifier: str) -> str:
        self.exchanged.append((code, code_verifier))
        return "access-1"

    def current_user(self, access_token: str) -> Mapping[str, Any]:
        assert access_token == "access-1"
        return self.record


class FakeContentServer:
    def __init__(self, login: str | None) -> None:
        self.login = login

    def login_of(self, access_token: str) -> str | None:
        assert access_token == "access-1"  # the user's own token, never ecmpush's
        return self.login


class FakeMinter:
    def __init__(self) -> None:
        self.minted: list[tuple[str, dict[str, str]]] = []

    def mint(self, uid: str, claims: Mapping[str, str]) -> str:
        self.minted.append((uid, dict(claims)))
        return "custom-token"


def service(record: Mapping[str, Any], cs_login: str | None):
    otds, minter = FakeOtds(record), FakeMinter()
    built = SignInService(
        otds=lambda: otds,
        content_server=FakeContentServer(cs_login),
        minter=lambda: minter,
        state_keys=lambda: [KEY],
        mapping=LoginMapping(),
        ecm_user_claim="ecm_user",
        clock=lambda: NOW,
    )
    return built, otds, minter


def test_service_mints_the_content_server_login_it_confirmed():
    built, otds, minter = service(user(name="ASmith"), "asmith")
    started = built.start(RFC_CHALLENGE)
    assert started.state in started.authorize_url
    signed_in = built.finish("code-1", started.state, RFC_VERIFIER)
    assert signed_in.custom_token == "custom-token"
    assert minter.minted == [("ecm:asmith", {"ecm_user": "asmith"})]
    assert otds.exchanged == [("code-1", RFC_VERIFIER)]


def test_a_bad_state_never_reaches_otds():
    built, otds, minter = service(user(), "asmith")
    with pytest.raises(SignInRefused):
        built.finish(
            "code-1", issue_state(state_key("other"), RFC_CHALLENGE, NOW, "n"), RFC_VERIFIER
        )
    assert otds.exchanged == []
    assert minter.minted == []


@pytest.mark.parametrize(
    ("cs_login", "message"),
    [
        (None, "this OTDS user has no Content Server login"),
        ("bjones", "OTDS and Content Server name different logins for this user"),
    ],
)
def test_content_server_has_the_last_word(cs_login, message):
    built, _, minter = service(user(), cs_login)
    state = built.start(RFC_CHALLENGE).state
    with pytest.raises(SignInRefused, match=message) as refused:
        built.finish("code-1", state, RFC_VERIFIER)
    assert refused.value.status == 403
    assert minter.minted == []


BRIDGE = {
    "otds_base_url": "https://otds.example.com",
    "otds_client_id": "ecmpush-sign-in",
    "otds_secret_id": "otds-secret",
    "sign_in_redirect_uri": "https://app.example.com/",
    "sign_in_firebase_secret_id": "sign-in-firebase",
}


def test_the_bridge_is_built_from_its_settings_without_reading_secrets():
    from ecmpush.bootstrap.sign_in import build_sign_in

    assert isinstance(build_sign_in(unit_settings(**BRIDGE)), SignInService)


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"otds_client_id": ""}, "ECMPUSH_OTDS_CLIENT_ID is required"),
        ({"otds_base_url": "http://otds.example.com"}, "ECMPUSH_OTDS_BASE_URL must be an https"),
        (
            {"sign_in_redirect_uri": "https://app.example.com/?next=https://evil.example"},
            "ECMPUSH_SIGN_IN_REDIRECT_URI must have no query",
        ),
        ({"otds_partition_suffix": "drop"}, "OTDS login mapping"),
    ],
)
def test_the_bridge_refuses_a_misconfiguration_at_cold_start(changes, refused):
    from ecmpush.bootstrap.sign_in import build_sign_in

    with pytest.raises(ConfigurationError, match=refused):
        build_sign_in(unit_settings(**{**BRIDGE, **changes}))


def test_the_handler_answers_an_oversized_unreadable_or_schema_breaking_body_without_the_bridge():
    import importlib

    app = importlib.import_module("functions.sign_in.app")
    event = {
        "httpMethod": "POST",
        "path": "/sign-in/otds/start",
        "resource": "/sign-in/otds/start",
        "headers": {"Content-Type": "application/json"},
        "requestContext": {"requestId": "r1", "stage": "prod", "resourcePath": "/"},
        "body": '{"code_challenge": "' + "a" * 5000 + '"}',
        "isBase64Encoded": False,
    }

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "f", 128, "r1"
        invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:f"

    assert app.lambda_handler(event, Context())["statusCode"] == 413
    event["body"] = "code_challenge=x"
    assert app.lambda_handler(event, Context())["statusCode"] == 400
    event["body"] = '{"code_challenge": "short", "redirect_uri": "https://evil.example"}'
    answer = app.lambda_handler(event, Context())
    assert answer["statusCode"] == 422
    assert {e["path"] for e in json.loads(answer["body"])["errors"]} == {
        "code_challenge",
        "redirect_uri",
    }
