"""Secrets Manager rotation of the two HMAC keys ecmpush generates: `WebhookSecret` (ECM senders
sign webhooks with it) and `ActionTokenKeySecret` (Dispatch signs the action tokens of pushes).
Both are random letters-and-digits strings, and both are verified against AWSCURRENT and
AWSPREVIOUS, so one function rotates either; a new value keeps the length of the current one
(48 for the webhook secret, 64 for the action-token key, at least `MIN_LENGTH`).

Secrets Manager calls this function four times per rotation, with the same
`ClientRequestToken` (the id of the new version):

createSecret  put a fresh random value into that version, labelled AWSPENDING (skipped when
              it already has one, so a retried step never changes the value).
setSecret     nothing to push: ECM senders read the key from Secrets Manager themselves.
testSecret    the pending value is well formed (length, alphabet) and differs from AWSCURRENT.
finishSecret  move AWSCURRENT to the new version. Secrets Manager then labels the old version
              AWSPREVIOUS, which the webhook and POST /responses keep accepting: senders have
              until the next rotation to pick up the new value, and action tokens signed with
              the old key stay good until then.

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

SECRET_LENGTH = 48  # when the current value says nothing usable about its length
MIN_LENGTH = 32  # 190 bits of letters and digits: never rotate down to a weaker key
MAX_LENGTH = 4096  # GetRandomPassword's limit
# What createSecret generates: letters and digits only (as the secrets' own
# GenerateSecretString in template.yaml), so senders can paste it anywhere unquoted.
_ALPHABET = re.compile(r"[A-Za-z0-9]+")

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


def secret_length(current: str) -> int:
    """The length a new value gets: the current one's, within [MIN_LENGTH, MAX_LENGTH]."""
    return min(max(len(current), MIN_LENGTH), MAX_LENGTH) if current else SECRET_LENGTH


def _current_value(client: SecretsManagerClient, secret_id: str) -> str:
    # AWSCURRENT must exist: a rotation is never the first value of a secret.
    return str(
        client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT).get("SecretString", "")
    )


def create_secret(client: SecretsManagerClient, secret_id: str, token: str) -> None:
    length = secret_length(_current_value(client, secret_id))
    try:
        client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
    except client.exceptions.ResourceNotFoundException:
        pass
    else:
        logger.info("pending value already exists; keeping it")
        return
    value = client.get_random_password(
        PasswordLength=length,
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
    # There is no downstream system to update: the webhook, every ECM sender, Dispatch and
    # POST /responses read the key from Secrets Manager (cached for ECMPUSH_SECRETS_MAX_AGE
    # seconds; verifiers accept AWSCURRENT and AWSPREVIOUS), so a new version needs no push.
    logger.info("setSecret: nothing to push; senders fetch the new value from Secrets Manager")


def test_secret(client: SecretsManagerClient, secret_id: str, token: str) -> None:
    pending = client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
    value = pending.get("SecretString", "")
    current = _current_value(client, secret_id)
    length = secret_length(current)
    if len(value) != length or not _ALPHABET.fullmatch(value):
        raise RotationError(f"pending value of {secret_id} is not {length} letters and digits")
    if current == value:
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
