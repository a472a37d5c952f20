"""Small helpers shared by the DynamoDB repositories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ecmpush.clock import rfc3339

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


# Dispatch writes from up to 16 threads on one table's client: botocore's default pool of 10
# connections would drop and reopen connections (a TLS handshake each) under that load. And
# botocore's defaults (60 s connect and read, five legacy attempts) let one hung call outlive
# a 30 s invocation; with these bounds it fails within seconds, so the handler still answers
# (the SQS message retries) instead of being killed with claims in flight. DynamoDB answers in
# milliseconds: the bounds only cut off a hang.
CLIENT_CONFIG = Config(
    max_pool_connections=32,
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 3},
)


def table(name: str) -> Table:
    return boto3.resource("dynamodb", config=CLIENT_CONFIG).Table(name)


def ttl(now: datetime, days: int) -> int:
    """TTL attributes are epoch seconds."""
    return int((now + timedelta(days=days)).timestamp())


iso = rfc3339  # the stored time format is the contract's


def conditional(write: Callable[..., Any], /, **request: Any) -> dict[str, Any] | None:
    """One conditional write (`table.put_item`, `update_item`, `delete_item` and its keyword
    arguments): DynamoDB's answer when it was applied, None when its condition did not hold.
    Every other failure raises: a lost write must never read as "someone else got there"."""
    try:
        answer: dict[str, Any] = write(**request)
    except ClientError as exc:
        if is_conditional_failure(exc):
            return None
        raise
    return answer


def applied(write: Callable[..., Any], /, **request: Any) -> bool:
    """`conditional`, when only whether it was applied matters."""
    return conditional(write, **request) is not None


def is_conditional_failure(exc: Exception) -> bool:
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    return bool(response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")
