"""WebhookSecretRotationFunction against moto's Secrets Manager.

moto's `rotate_secret` follows the service: it labels a new, empty version AWSPENDING and then
invokes the rotation Lambda for createSecret, setSecret, testSecret and finishSecret. moto would
run that Lambda in Docker; here its Lambda-backend lookup is replaced by one that calls our
handler in-process, so the test drives the real protocol end to end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from functions.secret_rotation import app

REGION = "eu-central-1"
ROTATION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:webhook-secret-rotation"
SECRET_NAME = "WebhookSecret"
INITIAL = "A" * 24 + "b" * 23 + "1"


@dataclass
class FakeContext:
    function_name: str = "webhook-secret-rotation"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ROTATION_ARN
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def context() -> LambdaContext:
    return cast(LambdaContext, FakeContext())


@dataclass
class InProcessRotationLambda:
    """Stands in for moto's Lambda backend: `invoke` runs our handler."""

    steps: list[str] = field(default_factory=list)
    before_step: Callable[[dict[str, Any]], None] | None = None
    after_step: Callable[[dict[str, Any]], None] | None = None

    def get_function(self, arn: str) -> object:
        assert arn == ROTATION_ARN
        return object()

    def invoke(
        self, arn: str, qualifier: Any, body: str, headers: Any, response_headers: Any
    ) -> None:
        event = json.loads(body)
        self.steps.append(event["Step"])
        if self.before_step:
            self.before_step(event)
        app.lambda_handler(event, context())
        if self.after_step:
            self.after_step(event)


@pytest.fixture
def sm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "ecmpush",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(app, "_client", None)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        client.create_secret(Name=SECRET_NAME, SecretString=INITIAL)
        yield client


@pytest.fixture
def rotation_lambda(monkeypatch: pytest.MonkeyPatch) -> InProcessRotationLambda:
    fake = InProcessRotationLambda()
    monkeypatch.setattr("moto.awslambda.utils.get_backend", lambda account, region: fake)
    return fake


def rotate(sm: Any) -> None:
    sm.rotate_secret(
        SecretId=SECRET_NAME,
        RotationLambdaARN=ROTATION_ARN,
        RotationRules={"AutomaticallyAfterDays": 30},
    )


def value(sm: Any, stage: str) -> str:
    return str(sm.get_secret_value(SecretId=SECRET_NAME, VersionStage=stage)["SecretString"])


def labels(sm: Any) -> dict[str, list[str]]:
    return dict(sm.describe_secret(SecretId=SECRET_NAME)["VersionIdsToStages"])


def test_rotation_runs_four_steps_and_keeps_previous(sm, rotation_lambda):
    rotate(sm)

    assert rotation_lambda.steps == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    new = value(sm, "AWSCURRENT")
    assert new != INITIAL
    assert re.fullmatch(r"[A-Za-z0-9]{48}", new)
    # The webhook accepts AWSPREVIOUS: senders still signing with INITIAL keep working.
    assert value(sm, "AWSPREVIOUS") == INITIAL
    assert not any("AWSPENDING" in stages for stages in labels(sm).values())


def test_create_secret_rerun_keeps_the_pending_value(sm, rotation_lambda):
    pending: list[str] = []

    def create_again(event: dict[str, Any]) -> None:
        if event["Step"] != "createSecret":
            return
        first = sm.get_secret_value(
            SecretId=SECRET_NAME, VersionId=event["ClientRequestToken"], VersionStage="AWSPENDING"
        )["SecretString"]
        app.lambda_handler(event, context())
        second = sm.get_secret_value(
            SecretId=SECRET_NAME, VersionId=event["ClientRequestToken"], VersionStage="AWSPENDING"
        )["SecretString"]
        pending.extend([first, second])

    rotation_lambda.after_step = create_again
    rotate(sm)

    assert len(pending) == 2
    assert pending[0] == pending[1]
    assert value(sm, "AWSCURRENT") == pending[0]


def test_second_rotation_retires_the_oldest_value(sm, rotation_lambda):
    rotate(sm)
    first = value(sm, "AWSCURRENT")
    rotate(sm)

    assert value(sm, "AWSPREVIOUS") == first
    assert value(sm, "AWSCURRENT") not in (first, INITIAL)
    assert rotation_lambda.steps.count("finishSecret") == 2


def test_finished_steps_rerun_as_no_ops(sm, rotation_lambda):
    rotate(sm)
    current_id = next(v for v, s in labels(sm).items() if "AWSCURRENT" in s)
    before = labels(sm)

    for step in ("createSecret", "finishSecret"):
        event = {"Step": step, "SecretId": SECRET_NAME, "ClientRequestToken": current_id}
        app.lambda_handler(event, context())

    assert labels(sm) == before


def test_malformed_pending_value_fails_test_step_and_keeps_current(
    sm, rotation_lambda, monkeypatch
):
    # The generator hands back a value the test step must refuse.
    monkeypatch.setattr(
        app.secrets_client(),
        "get_random_password",
        lambda **_: {"RandomPassword": "not well-formed!"},
    )

    with pytest.raises(app.RotationError, match="not 48 letters and digits"):
        rotate(sm)

    assert rotation_lambda.steps == ["createSecret", "setSecret", "testSecret"]
    assert value(sm, "AWSCURRENT") == INITIAL


def test_refuses_secret_without_rotation(sm):
    version = next(iter(labels(sm)))
    event = {"Step": "createSecret", "SecretId": SECRET_NAME, "ClientRequestToken": version}
    with pytest.raises(app.RotationError, match="rotation is not enabled"):
        app.lambda_handler(event, context())


def test_refuses_unknown_version(sm, rotation_lambda):
    rotate(sm)
    event = {
        "Step": "createSecret",
        "SecretId": SECRET_NAME,
        "ClientRequestToken": "f" * 36,
    }
    with pytest.raises(app.RotationError, match="has no stage"):
        app.lambda_handler(event, context())


def test_action_token_key_keeps_its_64_characters(sm, rotation_lambda):
    """The same function rotates ActionTokenKeySecret (GenerateSecretString 64): a new value
    keeps the current one's length, never the webhook's 48."""
    key = "K" * 32 + "k" * 31 + "7"
    sm.put_secret_value(SecretId=SECRET_NAME, SecretString=key)
    rotate(sm)

    assert re.fullmatch(r"[A-Za-z0-9]{64}", value(sm, "AWSCURRENT"))
    assert value(sm, "AWSPREVIOUS") == key


def test_a_short_current_value_is_never_rotated_into_a_shorter_key(sm, rotation_lambda):
    sm.put_secret_value(SecretId=SECRET_NAME, SecretString="short")
    rotate(sm)
    assert len(value(sm, "AWSCURRENT")) == app.MIN_LENGTH
