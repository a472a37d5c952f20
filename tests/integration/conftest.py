"""AWS side of the integration tests: moto in-process (`mock_aws`) with the tables, queues and
secrets of template.yaml, and the handlers' environment resolved from it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from devstack import template as cfn
from devstack.auth_standin import AuthStandIn
from devstack.ecm_standin import EcmStandIn
from devstack.fcm_standin import RunningFcmStandIn
from devstack.http_server import BackgroundServer
from devstack.identity import LocalIdentity
from devstack.moto_atomic import make_dynamodb_atomic
from devstack.resources import REGION, provision
from devstack.stack import SAMPLE_LINK_HOSTS, function_environment, local_ecm_credentials
from ecmpush import bootstrap
from tests.iam import enforce_iam
from tests.integration.harness import ACTION_TOKEN_KEY, WEBHOOK_SECRET, Harness


@pytest.fixture(scope="session")
def identity_toolkit(
    local_identity: LocalIdentity, fcm_standin_session: RunningFcmStandIn
) -> Iterator[tuple[AuthStandIn, str]]:
    """The Identity Toolkit stand-in (user records, revocation), taking the FCM stand-in's
    OAuth tokens like Google takes one service account's token for both APIs."""
    standin = AuthStandIn(
        local_identity, access_token_valid=fcm_standin_session.standin.access_token_valid
    )
    with BackgroundServer(standin) as server:
        yield standin, f"{server.url}/identitytoolkit.googleapis.com/v1"


@pytest.fixture
def harness(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    local_identity: LocalIdentity,
    fcm_standin: RunningFcmStandIn,
    ecm_server: tuple[EcmStandIn, str],
    ecm_standin: EcmStandIn,
) -> Iterator[Harness]:
    _, ecm_url = ecm_server
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    make_dynamodb_atomic()
    with mock_aws():
        template = cfn.load()
        extra: dict[str, str] = {}
        if request.node.get_closest_marker("revocation_check"):
            # The operator's own secret: a service account that may only read users.
            viewer = json.dumps(local_identity.service_account_info(fcm_standin.token_uri))
            arn = boto3.client("secretsmanager").create_secret(
                Name="firebase-auth-viewer", SecretString=viewer
            )["ARN"]
            extra["FirebaseAuthSecretArn"] = arn
            _, toolkit_url = request.getfixturevalue("identity_toolkit")
            monkeypatch.setenv("ECMPUSH_IDENTITY_TOOLKIT_URL", toolkit_url)
        if request.node.get_closest_marker("relay_function"):
            extra["EnableRelay"] = "true"  # RelayPollFunction exists, with its role
        provisioned = provision(
            template,
            secret_values={
                "WebhookSecret": WEBHOOK_SECRET,
                "FirebaseServiceAccountSecret": json.dumps(
                    local_identity.service_account_info(fcm_standin.token_uri)
                ),
                "ActionTokenKeySecret": ACTION_TOKEN_KEY,
                "EcmCredentialsSecret": json.dumps(local_ecm_credentials(ecm_url)),
            },
            parameters={
                "AppBaseUrl": "https://app.test",
                "EcmBaseUrl": ecm_url,
                "LinkHosts": SAMPLE_LINK_HOSTS,
                "FirebaseProjectId": local_identity.project_id,
                **extra,
            },
        )
        for key, value in function_environment(template, provisioned, fcm_standin.url).items():
            monkeypatch.setenv(key, value)
        bootstrap.reset()
        # Every handler call is held to its function's Policies in template.yaml (tests/iam.py).
        with enforce_iam(template, provisioned) as iam:
            harness = Harness(provisioned, local_identity, fcm_standin, ecm_standin)
            harness.iam = iam
            yield harness
    bootstrap.reset()
