"""The app API answers AWS SDK errors 503 with Retry-After, although entrypoints/app_api.py no
longer imports botocore to register that handler (it is the first request's import, not init's):
the classes are looked up when an exception has no handler of its own. Here: the per-service
ClientError subclasses botocore generates at runtime, plain BotoCoreErrors, and that a refusal
the API registered, or an unrelated error, is not swallowed by the fallback."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from botocore.exceptions import ClientError, EndpointConnectionError

from devstack.api_router import proxy_event
from devstack.lambda_runtime import LambdaContext
from ecmpush import bootstrap
from ecmpush.domain.identity import Principal


class _Verifier:
    def verify(self, token: str, changes: bool) -> Principal:
        return Principal(uid="u1", ecm_user="asmith")


class _Refused(Exception):
    pass


class _ThrottledClientError(ClientError):
    """What botocore raises for a modelled error: a ClientError subclass made at runtime."""


def _raising(exc: Exception) -> Any:
    """A route without parameters (Powertools would read a default-valued one from the query)."""

    def route() -> Any:
        raise exc

    return route


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> APIGatewayRestResolver:
    # Imported here, with the environment template.yaml gives every function: observability.py
    # builds Logger and Metrics from it once per process, and the integration tests that share
    # this worker need them as a deployed function has them.
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ecmpush")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Ecmpush")
    from ecmpush.entrypoints.app_api import app_resolver

    resolver = app_resolver((_Refused, 409))
    failures: dict[str, Exception] = {
        "client": _ThrottledClientError({"Error": {"Code": "Throttling"}}, "Query"),
        "core": EndpointConnectionError(endpoint_url="https://dynamodb.invalid"),
        "refused": _Refused("already answered"),
        "refused-aws": type("_Both", (_Refused, ClientError), {})({}, "PutItem"),
        "other": KeyError("bug"),
    }
    for name, failure in failures.items():
        resolver.get(f"/{name}")(_raising(failure))
    monkeypatch.setattr(bootstrap, "build_id_token_verifier", _Verifier)
    return resolver


def _call(app: APIGatewayRestResolver, path: str) -> dict[str, Any]:
    event = proxy_event("GET", path, path, headers={"Authorization": ["Bearer t"]})
    result: dict[str, Any] = app.resolve(event, LambdaContext("DevicesFunction", 10))  # type: ignore[arg-type]
    return result


@pytest.mark.parametrize("path", ["/client", "/core"])
def test_an_aws_sdk_error_is_503_with_retry_after(app: APIGatewayRestResolver, path: str) -> None:
    answer = _call(app, path)
    assert answer["statusCode"] == 503
    assert answer["multiValueHeaders"]["Retry-After"] == ["5"]


@pytest.mark.parametrize("path", ["/refused", "/refused-aws"])
def test_a_registered_refusal_wins_over_the_aws_fallback(
    app: APIGatewayRestResolver, path: str
) -> None:
    assert _call(app, path)["statusCode"] == 409


def test_an_unrelated_error_is_not_answered_as_unavailable(app: APIGatewayRestResolver) -> None:
    with pytest.raises(KeyError):
        _call(app, "/other")


def test_the_private_powertools_hooks_the_guard_uses_are_as_pinned(
    app: APIGatewayRestResolver,
) -> None:
    """GuardedResolver overrides `_call_route(route, route_arguments)` and calls
    `_call_exception_handler(exc, route)`: private Powertools 3.x API with no public
    equivalent that runs before request validation. An upgrade that renames or reshapes
    them must fail here, not let requests reach validation unauthenticated."""
    import inspect

    from ecmpush.entrypoints.app_api import GuardedResolver

    def parameters(name: str) -> list[str]:
        return list(inspect.signature(getattr(APIGatewayRestResolver, name)).parameters)

    assert parameters("_call_route") == ["self", "route", "route_arguments"]
    assert parameters("_call_exception_handler") == ["self", "exp", "route"]
    assert "_call_route" in vars(GuardedResolver)
    assert isinstance(app, GuardedResolver)
