"""Issue 20, finding 10: the endpoints and files that only the local stack may replace (Google's
ID-token certificates, the Identity Toolkit, FCM, the routing parameter) are refused by every
deployed function. Whoever can set one environment variable must not be able to make ecmpush
trust their own ID tokens; the cold start fails naming the variable, and nothing is stored.

"Deployed" is what Lambda itself says: its reserved runtime variables are present. devstack's
marker (`ECMPUSH_LOCAL_STACK`) cannot outvote them, since a function's configuration can set the
marker but can neither set nor remove Lambda's own variables."""

from __future__ import annotations

import pytest

from ecmpush import bootstrap
from ecmpush.settings import (
    LAMBDA_RUNTIME_VARIABLES,
    LOCAL_ONLY,
    LOCAL_STACK_MARKER,
    ConfigurationError,
    variable,
)
from tests.integration.harness import Harness

INSTALLATION = "c3d1f0e2-8a4b-4c6d-9e7f-0a1b2c3d4e5f"
# What the Lambda python3.13 runtime sets in every execution environment.
LAMBDA = {
    "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_NAME": "ecmpush-DevicesFunction-AbC123",
}
VALUES = {
    "identity_toolkit_url": "http://attacker.example/v1",
    "routing_file": "/tmp/routing.json",
    "fcm_base_url": "http://attacker.example",
    "firebase_certs_url": "http://attacker.example/certs",
}


def only(monkeypatch: pytest.MonkeyPatch, field: str) -> str:
    """Leave exactly one local-only variable set (the harness sets several); its name."""
    for other in LOCAL_ONLY:
        monkeypatch.delenv(variable(other), raising=False)
    monkeypatch.setenv(variable(field), VALUES[field])
    bootstrap.reset()
    return variable(field)


def register(harness: Harness) -> int:
    token = harness.identity.mint_id_token("asmith")
    body = {"token": "fcm-local-only-0001", "platform": "android"}
    return harness.device_call("PUT", INSTALLATION, body, bearer=token).status


def test_the_lambda_runtime_variables_are_the_ones_the_check_reads() -> None:
    assert set(LAMBDA) == set(LAMBDA_RUNTIME_VARIABLES)
    assert set(VALUES) == set(LOCAL_ONLY)


@pytest.mark.parametrize("field", LOCAL_ONLY)
@pytest.mark.parametrize("marked", [True, False], ids=["with-local-marker", "without-marker"])
def test_a_deployed_function_refuses_to_start_with_a_local_only_variable(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, field: str, marked: bool
) -> None:
    name = only(monkeypatch, field)
    for key, value in LAMBDA.items():
        monkeypatch.setenv(key, value)
    if not marked:
        monkeypatch.delenv(LOCAL_STACK_MARKER)
    with pytest.raises(ConfigurationError, match=name):
        register(harness)
    assert harness.devices_of("asmith") == []


@pytest.mark.parametrize("field", LOCAL_ONLY)
def test_outside_lambda_the_variables_still_need_the_local_stack_marker(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    name = only(monkeypatch, field)
    monkeypatch.delenv(LOCAL_STACK_MARKER)
    with pytest.raises(ConfigurationError, match=name):
        register(harness)
    assert harness.devices_of("asmith") == []


def test_the_local_stack_keeps_its_endpoints(harness: Harness) -> None:
    """The harness's environment is devstack's (function_environment): marker, no Lambda."""
    assert register(harness) == 201
    assert [d["installation_id"] for d in harness.devices_of("asmith")] == [INSTALLATION]
