"""Finding 5 of issue 9: after the first rotation a container must keep accepting the previous
webhook secret. Before, a "no AWSPREVIOUS" note taken before any rotation outlived the forced
re-read that noticed the rotation, so senders still on the old secret got 401 for 300 s."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ecmpush.adapters.secrets import SecretStore


@pytest.fixture
def secret_id(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        sm = boto3.client("secretsmanager")
        sm.create_secret(Name="webhook", SecretString="old-secret")
        yield "webhook"


def test_previous_secret_survives_the_first_rotation(secret_id: str) -> None:
    store = SecretStore(max_age=300)
    assert store.active_values(secret_id) == [b"old-secret"]  # no rotation yet: noted
    boto3.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString="new-secret")
    assert store.active_values(secret_id, force=True) == [b"new-secret", b"old-secret"]
    # The next, ordinary request (a sender still on the old secret) must see both.
    assert store.active_values(secret_id) == [b"new-secret", b"old-secret"]
