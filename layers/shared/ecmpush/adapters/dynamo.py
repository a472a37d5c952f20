"""Small helpers shared by the DynamoDB repositories."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3

from ecmpush.clock import rfc3339

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def table(name: str) -> Table:
    return boto3.resource("dynamodb").Table(name)


def ttl(now: datetime, days: int) -> int:
    """TTL attributes are epoch seconds."""
    return int((now + timedelta(days=days)).timestamp())


iso = rfc3339  # the stored time format is the contract's


def is_conditional_failure(exc: Exception) -> bool:
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    return bool(response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")
