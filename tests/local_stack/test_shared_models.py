"""tests/conftest.py gives every botocore session of a worker one loader, so that each service
model is parsed once per worker: what it shares must be what botocore only reads."""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.regions import EndpointResolver


def _endpoint(*, dualstack: bool = False) -> dict[str, Any]:
    """SQS in us-east-1 as a new session resolves it (botocore builds its session's resolver
    from the loader's endpoint data just so)."""
    loader = botocore.session.Session().get_component("data_loader")
    resolver = EndpointResolver(loader.load_data_with_path("endpoints")[0])
    endpoint = resolver.construct_endpoint("sqs", "us-east-1", use_dualstack_endpoint=dualstack)
    assert endpoint is not None
    return endpoint


def test_a_session_resolves_endpoints_from_its_own_copy_of_the_endpoint_data() -> None:
    """botocore's endpoint resolver writes each plain resolution back into the endpoints.json
    data it was given (the expanded hostname, sslCommonName, ...): shared between sessions, one
    test's plain SQS client gave a later test's dual-stack one the IPv4 certificate name."""
    _endpoint()
    assert _endpoint(dualstack=True)["sslCommonName"] == "queue.api.aws"


def test_the_service_models_are_still_parsed_once() -> None:
    first, second = (botocore.session.Session().get_component("data_loader") for _ in "ab")
    assert first.load_service_model("sqs", "service-2") is second.load_service_model(
        "sqs", "service-2"
    )
