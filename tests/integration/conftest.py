"""AWS side of the integration tests: moto in-process (`mock_aws`) with the tables, queues and
secrets of template.yaml, and the handlers' environment resolved from it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from moto import mock_aws

from devstack import template as cfn
from devstack.fcm_standin import RunningFcmStandIn
from devstack.identity import LocalIdentity
from devstack.resources import REGION, provision
from devstack.stack import function_environment
from ecmpush import bootstrap
from tests.integration.harness import ACTION_TOKEN_KEY, WEBHOOK_SECRET, Harness


@pytest.fixture
def harness(
    monkeypatch: pytest.MonkeyPatch,
    local_identity: LocalIdentity,
    fcm_standin: RunningFcmStandIn,
) -> Iterator[Harness]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        template = cfn.load()
        provisioned = provision(
            template,
            secret_values={
                "WebhookSecret": WEBHOOK_SECRET,
                "FirebaseServiceAccountSecret": json.dumps(
                    local_identity.service_account_info(fcm_standin.token_uri)
                ),
                "ActionTokenKeySecret": ACTION_TOKEN_KEY,
            },
            parameters={"AppBaseUrl": "https://app.test"},
        )
        for key, value in function_environment(template, provisioned, fcm_standin.url).items():
            monkeypatch.setenv(key, value)
        bootstrap.reset()
        yield Harness(provisioned, local_identity, fcm_standin)
    bootstrap.reset()
