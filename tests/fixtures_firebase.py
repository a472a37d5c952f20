"""Firebase fixtures: a local identity, the FCM stand-in on a free port, and a real firebase-admin
App wired to both. tests/conftest.py registers them (`pytest_plugins`).

The identity, the server and the App live for the session (RSA key generation and App set-up
are the slow parts, and firebase-admin Apps are process-global anyway); `fcm_standin` resets the
stand-in's recorded messages and faults before every test. Issued access tokens survive the
reset, so the session App never meets a spurious 401.

Fixture names are stable: `local_identity`, `fcm_standin`, `firebase_app`."""

from __future__ import annotations

from collections.abc import Iterator

import firebase_admin
import pytest

from devstack.fcm_standin import RunningFcmStandIn, start_fcm_standin
from devstack.identity import LocalIdentity
from ecmpush.adapters.firebase_app import get_firebase_app

# At least any chunk size the tests send with, so no connection is opened and thrown away.
TEST_POOL_SIZE = 100


@pytest.fixture(scope="session")
def local_identity(tmp_path_factory: pytest.TempPathFactory) -> LocalIdentity:
    return LocalIdentity.load_or_create(tmp_path_factory.mktemp("devstack-state"))


@pytest.fixture(scope="session")
def fcm_standin_session(local_identity: LocalIdentity) -> Iterator[RunningFcmStandIn]:
    running = start_fcm_standin(local_identity)
    yield running
    running.stop()


@pytest.fixture
def fcm_standin(fcm_standin_session: RunningFcmStandIn) -> RunningFcmStandIn:
    fcm_standin_session.reset()
    return fcm_standin_session


@pytest.fixture(scope="session")
def firebase_app(
    local_identity: LocalIdentity, fcm_standin_session: RunningFcmStandIn
) -> Iterator[firebase_admin.App]:
    app = get_firebase_app(
        local_identity.service_account_info(fcm_standin_session.token_uri),
        fcm_base_url=fcm_standin_session.url,
        certs_url=fcm_standin_session.certs_url,
        pool_size=TEST_POOL_SIZE,
    )
    yield app
    firebase_admin.delete_app(app)
