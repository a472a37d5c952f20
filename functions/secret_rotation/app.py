"""Secrets Manager rotation of `WebhookSecret`, the HMAC key ECM senders sign webhooks with.

Secrets Manager calls this function four times per rotation, with the same
`ClientRequestToken` (the id of the new version):

createSecret  put a fresh random value into that version, labelled AWSPENDING (skipped when
              it already has one, so a retried step never changes the value).
setSecret     nothing to push: ECM senders read the key from Secrets Manager themselves.
testSecret    the pending value is well formed (length, alphabet) and differs from AWSCURRENT.
finishSecret  move AWSCURRENT to the new version. Secrets Manager then labels the old version
              AWSPREVIOUS, which the webhook keeps accepting: senders have until the next
              rotation to pick up the new value.

Secret values are never logged.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

logger = Logger()

SECRET_LENGTH = 48
# What createSecret generates: letters and digits only (as WebhookSecret's own
# GenerateSecretString in template.yaml), so senders can paste it anywhere unquoted.
_WELL_FORMED = re.compile(rf"[A-Za-z0-9]{{{SECRET_LENGTH}}}")

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"

_client: SecretsManagerClient | None = None


class RotationError(RuntimeError):
    """The rotation cannot go on; Secrets Manager marks it failed and retries later."""


def secrets_client() -> SecretsManagerClient:
    """Created on first use (not at import), so importing the module needs no AWS setup."""
    global _client
    if _client is None:
        _client = boto3.client("secretsmanager")
    return _client


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    secret_id = str(event["SecretId"])
    token = str(event["ClientRequestToken"])
    step = str(event["Step"])
    logger.append_keys(secret_id=secret_id, version_id=token, step=step)

    client = secrets_client()
    metadata = client.describe_secret(SecretId=secret_id)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"rotation is not enabled for {secret_id}")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise RotationError(f"version {token} has no stage for rotation of {secret_id}")
    if CURRENT in stages[token]:
        if step == "finishSecret" and PENDING in stages[token]:
            # A retried finishSecret whose first run stopped between its two calls.
            _drop_pending(client, secret_id, token)
        logger.info("version is already AWSCURRENT; nothing to do")
        return
    if PENDING not in stages[token]:
        raise RotationError(f"version {token} is not AWSPENDING for rotation of {secret_id}")

    if step == "createSecret":
        create_secret(client, secret_id, token)
    elif step == "setSecret":
        set_secret(client, secret_id, token)
    elif step == "testSecret":
        test_secret(client, secret_id, token)
    elif step == "finishSecret":
        finish_secret(client, secret_id, token, stages)
    else:
        raise RotationError(f"unknown rotation step {step!r}")


def create_secret(client: SecretsManagerClient, secret_id: str, token: str) -> None:
    # AWSCURRENT must exist: a rotation is never the first value of this secret.
    client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT)
    try:
        client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
    except client.exceptions.ResourceNotFoundException:
        pass
    else:
        logger.info("pending value already exists; keeping it")
        return
    value = client.get_random_password(
        PasswordLength=SECRET_LENGTH,
        ExcludePunctuation=True,
        IncludeSpace=False,
        RequireEachIncludedType=True,
    )["RandomPassword"]
    client.put_secret_value(
        SecretId=secret_id,
        ClientRequestToken=token,
        SecretString=value,
        VersionStages=[PENDING],
    )
    logger.info("created pending value")


def set_secret(client: SecretsManagerClient, secret_id: str, token: str) -> None:
    # There is no downstream system to update: the webhook and every ECM sender read the key
    # from Secrets Manager (the webhook caches it for ECMPUSH_SECRETS_MAX_AGE seconds and
    # accepts AWSCURRENT and AWSPREVIOUS), so a new version needs no push anywhere.
    logger.info("setSecret: nothing to push; senders fetch the new value from Secrets Manager")


def test_secret(client: SecretsManagerClient, secret_id: str, token: str) -> None:
    pending = client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
    value = pending.get("SecretString", "")
    if not _WELL_FORMED.fullmatch(value):
        raise RotationError(
            f"pending value of {secret_id} is not {SECRET_LENGTH} letters and digits"
        )
    current = client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT)
    if current.get("SecretString") == value:
        raise RotationError(f"pending value of {secret_id} equals the current one")
    logger.info("pending value is well formed")


def finish_secret(
    client: SecretsManagerClient, secret_id: str, token: str, stages: dict[str, list[str]]
) -> None:
    current_version = next((v for v, labels in stages.items() if CURRENT in labels), None)
    if current_version is None:
        raise RotationError(f"{secret_id} has no AWSCURRENT version")
    # Secrets Manager moves AWSPREVIOUS to the version AWSCURRENT leaves.
    client.update_secret_version_stage(
        SecretId=secret_id,
        VersionStage=CURRENT,
        MoveToVersionId=token,
        RemoveFromVersionId=current_version,
    )
    _drop_pending(client, secret_id, token)
    logger.info("moved AWSCURRENT to the new version", extra={"previous_version": current_version})


def _drop_pending(client: SecretsManagerClient, secret_id: str, token: str) -> None:
    # Leave no AWSPENDING behind, so the next rotation does not look like one in progress.
    client.update_secret_version_stage(
        SecretId=secret_id, VersionStage=PENDING, RemoveFromVersionId=token
    )
