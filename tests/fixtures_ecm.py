"""The Content Server stand-in for the session, on a free port: `ecm_server` (the running
stand-in and its URL), `ecm_standin` (reset before each test: seed tasks, tickets, faults) and
`ecm` (both, for tests that talk to it without the AWS side). tests/conftest.py registers them
(`pytest_plugins`), for the integration tests and the local stack's own tests alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.ecm_standin import EcmStandIn, create_ecm_standin
from devstack.http_server import BackgroundServer


@pytest.fixture(scope="session")
def ecm_server() -> Iterator[tuple[EcmStandIn, str]]:
    standin = create_ecm_standin()
    with BackgroundServer(standin) as server:
        yield standin, server.url


@pytest.fixture
def ecm_standin(ecm_server: tuple[EcmStandIn, str]) -> EcmStandIn:
    standin, _ = ecm_server
    standin.reset()
    return standin


@pytest.fixture
def ecm(ecm_standin: EcmStandIn, ecm_server: tuple[EcmStandIn, str]) -> tuple[EcmStandIn, str]:
    """The reset stand-in and its URL, for tests that talk to it without the AWS side."""
    return ecm_standin, ecm_server[1]
